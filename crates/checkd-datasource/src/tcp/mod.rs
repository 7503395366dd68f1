//! The `tcp` datasource: connect to `host:port`, optionally send a line and check that the
//! first line of the answer contains an expected text, and report the connect time (the TCP
//! connect, after the DNS lookup) as the `connect_time` metric in seconds with upper levels.
//!
//! Not reaching the port at all (DNS failure, refused, timed out) is [`Outcome::Unavailable`];
//! a port that answers wrongly or not at all is a CRIT service. One deadline,
//! `spec.timeout` after the start, bounds every step of a run.

pub(crate) mod connect;
mod line;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use checkd_model::{combine, Levels, Outcome, Partial, ServiceResult, State};
use tokio::io::AsyncWriteExt;
use tokio::time::timeout_at;

pub use checkd_model::probe::TcpSpec;
use connect::{duration, target};
use line::{quote, read_first_line, FirstLine};

/// Probes the port once. Never panics; every failure is an [`Outcome`].
pub async fn run(spec: &TcpSpec, service: &str, labels: &BTreeMap<String, String>) -> Outcome {
    let deadline = checkd_clock::now() + spec.timeout;
    let mut connected = match connect::connect(&spec.host, spec.port, deadline, spec.timeout).await
    {
        Ok(connected) => connected,
        Err(reason) => return Outcome::Unavailable(reason),
    };
    let shown = target(&spec.host, spec.port);
    let via = if connected.peer.ip().to_string() == spec.host {
        String::new()
    } else {
        format!(" ({})", connected.peer.ip())
    };
    let mut partials = vec![connect_time(
        &format!("connected to {shown}{via}"),
        connected.elapsed,
        spec.connect_time,
    )];
    let mut can_read = true;
    if let Some(send) = &spec.send {
        let sent = timeout_at(deadline, async {
            connected.stream.write_all(send.as_bytes()).await?;
            connected.stream.flush().await
        })
        .await;
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                can_read = false;
                partials.push(Partial::new(
                    State::Crit,
                    format!("sending failed: {error}"),
                ));
            }
            Err(_) => {
                can_read = false;
                partials.push(Partial::new(
                    State::Crit,
                    format!("sending timed out after {}", duration(spec.timeout)),
                ));
            }
        }
    }
    if let (Some(expect), true) = (&spec.expect, can_read) {
        let first = read_first_line(&mut connected.stream, deadline).await;
        partials.push(expectation(expect, first, spec.timeout));
    }
    Outcome::Evaluated(vec![service_result(service, labels, &partials)])
}

/// The `connect_time` metric in seconds; its text speaks milliseconds, levels included.
fn connect_time(what: &str, elapsed: Duration, levels: Levels) -> Partial {
    let text = format!("{what} in {} ms", elapsed.as_millis());
    crate::timing::partial("connect_time", text, elapsed, levels)
}

fn expectation(expect: &str, first: FirstLine, timeout: Duration) -> Partial {
    let wanted = quote(expect);
    match first {
        FirstLine::Line(line) if line.contains(expect) => {
            Partial::new(State::Ok, format!("first line contains {wanted}"))
        }
        FirstLine::Line(line) => Partial::new(
            State::Crit,
            format!("expected {wanted} in the first line, got {}", quote(&line)),
        ),
        FirstLine::Closed => Partial::new(
            State::Crit,
            format!("connection closed without an answer (expected {wanted})"),
        ),
        FirstLine::Silent => Partial::new(
            State::Crit,
            format!("no answer within {} (expected {wanted})", duration(timeout)),
        ),
        FirstLine::Failed(error) => Partial::new(
            State::Crit,
            format!("reading the answer failed: {error} (expected {wanted})"),
        ),
    }
}

pub(crate) fn service_result(
    service: &str,
    labels: &BTreeMap<String, String>,
    partials: &[Partial],
) -> ServiceResult {
    let combined = combine(partials, None);
    ServiceResult {
        service: service.to_string(),
        state: combined.state,
        summary: combined.summary,
        details: combined.details,
        metrics: combined.metrics,
        labels: labels.clone(),
    }
}
