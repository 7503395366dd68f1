//! Whether the presented chain leads to a trusted root: the webpki roots (the same set
//! reqwest's `rustls-tls` trusts) plus the certificates of `ca_file`, judged by rustls'
//! [`WebPkiServerVerifier`].

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use checkd_model::{Partial, State};
use tokio::time::{timeout_at, Instant};
use tokio_rustls::rustls::client::danger::ServerCertVerifier;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{CertificateError, Error, RootCertStore};

use super::cert::Leaf;
use crate::tcp::connect::lower_first;

/// The verifier of a run. `Err` says what is wrong with `ca_file`.
pub(crate) async fn verifier(
    ca_file: Option<&Path>,
    provider: &Arc<CryptoProvider>,
    deadline: Instant,
) -> Result<Arc<WebPkiServerVerifier>, String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        let shown = path.display();
        let pem = match timeout_at(deadline, tokio::fs::read(path)).await {
            Err(_) => return Err(format!("reading ca_file {shown} timed out")),
            Ok(Err(error)) => return Err(format!("cannot read ca_file {shown}: {error}")),
            Ok(Ok(pem)) => pem,
        };
        let mut added = 0;
        for certificate in CertificateDer::pem_slice_iter(&pem) {
            let certificate =
                certificate.map_err(|error| format!("invalid ca_file {shown}: {error}"))?;
            roots
                .add(certificate)
                .map_err(|error| format!("invalid certificate in ca_file {shown}: {error}"))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("ca_file {shown} holds no PEM certificate"));
        }
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|error| format!("cannot build the certificate verifier: {error}"))
}

/// One partial: the chain is trusted, or why not.
pub(crate) fn chain(
    verifier: &WebPkiServerVerifier,
    chain: &[CertificateDer<'static>],
    leaf: &Leaf,
    server_name: &ServerName<'_>,
    now: i64,
) -> Partial {
    let Some((end_entity, intermediates)) = chain.split_first() else {
        return Partial::new(State::Crit, "server sent no certificate");
    };
    let at =
        |secs: i64| UnixTime::since_unix_epoch(Duration::from_secs(secs.max(0).unsigned_abs()));
    let verify =
        |secs| verifier.verify_server_cert(end_entity, intermediates, server_name, &[], at(secs));
    let mut result = verify(now);
    // The leaf's own dates are judged by `days_left`; whether it is trusted is asked at a
    // moment it was valid, so an expired certificate still tells whether it was trusted.
    if result.as_ref().is_err_and(is_time_error)
        && !(leaf.not_before..=leaf.not_after).contains(&now)
    {
        result = verify(if now > leaf.not_after {
            leaf.not_after
        } else {
            leaf.not_before
        });
    }
    let problem = match result {
        Ok(_) => return Partial::new(State::Ok, "certificate chain trusted"),
        Err(Error::InvalidCertificate(error)) => match error {
            // The name is checked after the chain, so the chain is fine; `cert::name` reports it.
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                return Partial::new(State::Ok, "certificate chain trusted")
            }
            CertificateError::UnknownIssuer => "unknown issuer".to_string(),
            CertificateError::BadSignature => "bad signature".to_string(),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                "not valid for server authentication".to_string()
            }
            error if is_time_error(&Error::InvalidCertificate(error.clone())) => {
                "a certificate of the chain is expired or not yet valid".to_string()
            }
            error => lower_first(&error.to_string()),
        },
        Err(error) => lower_first(&error.to_string()),
    };
    Partial::new(State::Crit, format!("certificate not trusted: {problem}"))
}

fn is_time_error(error: &Error) -> bool {
    matches!(
        error,
        Error::InvalidCertificate(
            CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. }
        )
    )
}
