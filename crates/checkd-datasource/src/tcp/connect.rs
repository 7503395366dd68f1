//! Reaching `host:port` within a deadline, with a reason that says which step failed: the
//! DNS lookup, or the TCP connect to each address it gave. Shared with the `tls` datasource.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// A connected stream and where it went.
#[derive(Debug)]
pub(crate) struct Connected {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    /// From the first connect attempt (after the DNS lookup) to the established connection.
    pub(crate) elapsed: Duration,
}

/// Resolves `host` and connects to its addresses in turn until one answers, all before
/// `deadline`. `Err` is the reason the datasource is unavailable, naming `host:port`.
pub(crate) async fn connect(
    host: &str,
    port: u16,
    deadline: Instant,
    timeout: Duration,
) -> Result<Connected, String> {
    let host = bare_host(host);
    let shown = target(host, port);
    let addresses: Vec<SocketAddr> =
        match timeout_at(deadline, tokio::net::lookup_host((host, port))).await {
            Err(_) => {
                return Err(format!(
                    "dns lookup timed out after {} ({shown})",
                    duration(timeout)
                ))
            }
            Ok(Err(error)) => return Err(format!("dns lookup failed: {error} ({shown})")),
            Ok(Ok(addresses)) => addresses.collect(),
        };
    let started = checkd_clock::now();
    let mut last = format!("dns lookup found no address ({shown})");
    for address in addresses {
        match timeout_at(deadline, TcpStream::connect(address)).await {
            Err(_) => {
                return Err(format!(
                    "connect timed out after {} ({shown})",
                    duration(timeout)
                ))
            }
            Ok(Ok(stream)) => {
                return Ok(Connected {
                    stream,
                    peer: address,
                    elapsed: started.elapsed(),
                })
            }
            Ok(Err(error)) => last = format!("{} ({shown})", problem(&error)),
        }
    }
    Err(last)
}

fn problem(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        _ => format!("connect failed: {}", lower_first(&error.to_string())),
    }
}

/// `[::1]` as written in a URL is `::1` to the resolver.
pub(crate) fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// `db.example:5432`, `[::1]:5432`: how the target appears in reasons and summaries.
pub(crate) fn target(host: &str, port: u16) -> String {
    let host = bare_host(host);
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `2s`, `1500ms`: how people write a timeout.
pub(crate) fn duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

pub(crate) fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_durations_read_like_people_write_them() {
        assert_eq!(target("db.example", 5432), "db.example:5432");
        assert_eq!(target("::1", 443), "[::1]:443");
        assert_eq!(target("[::1]", 443), "[::1]:443");
        assert_eq!(duration(Duration::from_secs(2)), "2s");
        assert_eq!(duration(Duration::from_millis(1500)), "1500ms");
    }
}
