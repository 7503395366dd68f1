//! Reading the first line of an answer without trusting the peer: at most [`MAX_LINE`]
//! bytes and never past the run's deadline, so a silent or endless peer cannot hold a run.

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::{timeout_at, Instant};

/// Bytes read at most while looking for the end of the first line.
pub(crate) const MAX_LINE: usize = 4096;

/// Characters of an unexpected answer shown in a result.
const SHOWN_CHARS: usize = 60;

/// How reading the first line ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FirstLine {
    /// The line without its line break: complete, cut at [`MAX_LINE`], or what had arrived
    /// when the peer closed the connection or the deadline passed.
    Line(String),
    /// The peer closed the connection without sending anything.
    Closed,
    /// Nothing arrived before the deadline.
    Silent,
    /// Reading failed, e.g. the connection was reset.
    Failed(String),
}

pub(crate) async fn read_first_line<R: AsyncRead + Unpin>(
    reader: &mut R,
    deadline: Instant,
) -> FirstLine {
    let mut line = Vec::new();
    let mut chunk = [0u8; 1024];
    let ended = loop {
        if line.contains(&b'\n') || line.len() >= MAX_LINE {
            break None;
        }
        match timeout_at(deadline, reader.read(&mut chunk)).await {
            Err(_) => break Some(FirstLine::Silent),
            Ok(Ok(0)) => break Some(FirstLine::Closed),
            Ok(Ok(n)) => line.extend_from_slice(&chunk[..n]),
            Ok(Err(error)) => break Some(FirstLine::Failed(error.to_string())),
        }
    };
    match ended {
        Some(ended) if line.is_empty() => ended,
        _ => {
            let end = line
                .iter()
                .position(|b| *b == b'\n')
                .unwrap_or(line.len())
                .min(MAX_LINE);
            let text = String::from_utf8_lossy(&line[..end]);
            FirstLine::Line(text.trim_end_matches('\r').to_string())
        }
    }
}

/// A peer's text quoted for a one-line result: control characters escaped, cut after
/// [`SHOWN_CHARS`] characters.
pub(crate) fn quote(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(SHOWN_CHARS).collect();
    let more = if chars.next().is_some() { "…" } else { "" };
    format!("{head:?}{more}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn first_line(input: &[u8]) -> FirstLine {
        let deadline = checkd_clock::now() + Duration::from_secs(5);
        read_first_line(&mut &input[..], deadline).await
    }

    #[tokio::test]
    async fn the_first_line_ends_at_a_line_break_the_end_or_the_limit() {
        let line = |s: &str| FirstLine::Line(s.to_string());
        assert_eq!(first_line(b"+PONG\r\nmore\n").await, line("+PONG"));
        assert_eq!(first_line(b"SSH-2.0-x\n").await, line("SSH-2.0-x"));
        assert_eq!(first_line(b"no break").await, line("no break"));
        assert_eq!(first_line(b"").await, FirstLine::Closed);
        let long = vec![b'a'; 3 * MAX_LINE];
        assert_eq!(first_line(&long).await, line(&"a".repeat(MAX_LINE)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_ends_at_the_deadline() {
        let (mut client, _server) = tokio::io::duplex(64);
        let deadline = checkd_clock::now() + Duration::from_secs(3);
        assert_eq!(
            read_first_line(&mut client, deadline).await,
            FirstLine::Silent
        );
        assert!(checkd_clock::now() >= deadline);
    }

    #[test]
    fn quoting_escapes_and_cuts() {
        assert_eq!(quote("-ERR\tx"), r#""-ERR\tx""#);
        assert_eq!(quote(&"b".repeat(61)), format!("{:?}…", "b".repeat(60)));
    }
}
