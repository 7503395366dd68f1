//! The `tls` datasource: connect, run a TLS handshake and judge the server's certificate —
//! days until it expires as the `days_left` metric with lower levels (CRIT once expired),
//! whether it matches the server name, and (with `verify_chain`) whether its chain leads to
//! a trusted root (the webpki roots plus `ca_file`).
//!
//! A bad certificate is a result, not an outage: the handshake accepts any chain
//! (`handshake`) and the certificate is judged afterwards, so an expired or untrusted one is
//! CRIT with its expiry. Only not reaching the server (DNS, refused, timeout, a failed
//! handshake) is [`Outcome::Unavailable`]; a broken `ca_file` or server name is UNKNOWN.
//! One deadline, `spec.timeout` after the start, bounds every step of a run.

mod cert;
mod handshake;
#[cfg(test)]
mod tests;
mod trust;

use std::collections::BTreeMap;
use std::sync::Arc;

use checkd_model::{Outcome, Partial, State};
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::tcp::connect::{self, bare_host, target};
use crate::tcp::service_result;
pub use checkd_model::probe::TlsSpec;

/// Probes the server once. Never panics; every failure is an [`Outcome`].
pub async fn run(spec: &TlsSpec, service: &str, labels: &BTreeMap<String, String>) -> Outcome {
    let deadline = checkd_clock::now() + spec.timeout;
    let unknown = |problem: String| {
        let partials = [Partial::new(State::Unknown, problem)];
        Outcome::Evaluated(vec![service_result(service, labels, &partials)])
    };
    let shown_name = bare_host(spec.server_name.as_deref().unwrap_or(&spec.host));
    let Ok(server_name) = ServerName::try_from(shown_name.to_string()) else {
        return unknown(format!("invalid server name {shown_name:?}"));
    };
    let provider = Arc::new(ring::default_provider());
    let verifier = if spec.verify_chain {
        match trust::verifier(spec.ca_file.as_deref(), &provider, deadline).await {
            Ok(verifier) => Some(verifier),
            Err(problem) => return unknown(problem),
        }
    } else {
        None
    };
    let shown = target(&spec.host, spec.port);
    let chain = async {
        let connected = connect::connect(&spec.host, spec.port, deadline, spec.timeout).await?;
        handshake::peer_certificates(
            connected.stream,
            server_name.clone(),
            &provider,
            deadline,
            spec.timeout,
        )
        .await
        .map_err(|problem| format!("{problem} ({shown})"))
    };
    let chain = match chain.await {
        Ok(chain) => chain,
        Err(reason) => return Outcome::Unavailable(reason),
    };
    let crit = |problem: String| {
        let partials = [Partial::new(State::Crit, problem)];
        Outcome::Evaluated(vec![service_result(service, labels, &partials)])
    };
    let Some(end_entity) = chain.first() else {
        return crit("server sent no certificate".to_string());
    };
    let leaf = match cert::Leaf::parse(end_entity) {
        Ok(leaf) => leaf,
        Err(problem) => return crit(problem),
    };
    // Certificates are judged against real wall time, in Unix seconds.
    let now = checkd_clock::Clock::system().now_ms().div_euclid(1000);
    let mut partials = leaf.expiry(now, spec.days_left);
    partials.push(cert::name(end_entity, &server_name, shown_name));
    if let Some(verifier) = &verifier {
        partials.push(trust::chain(verifier, &chain, &leaf, &server_name, now));
    }
    let mut result = service_result(service, labels, &partials);
    result.details.push('\n');
    result.details.push_str(&leaf.details());
    Outcome::Evaluated(vec![result])
}
