//! What the non-HTTP datasources probe: a TCP port, a TLS server's certificate, a local
//! command. Plain data the config fills in per job; `checkd-datasource` runs them.

use std::path::PathBuf;
use std::time::Duration;

use crate::Levels;

/// A `tcp` probe: connect, optionally send a line and expect an answer.
#[derive(Clone, Debug, PartialEq)]
pub struct TcpSpec {
    pub host: String,
    pub port: u16,
    /// Written once connected, as is (include the line break the protocol wants).
    pub send: Option<String>,
    /// Must be a substring of the first line read; nothing is read when absent.
    pub expect: Option<String>,
    /// Upper levels on the connect time, in seconds.
    pub connect_time: Levels,
    /// Bounds the whole run: lookup, connect, send and read.
    pub timeout: Duration,
}

/// A `tls` probe: handshake and judge the server certificate.
#[derive(Clone, Debug, PartialEq)]
pub struct TlsSpec {
    pub host: String,
    pub port: u16,
    /// Sent as SNI (for DNS names) and matched against the certificate; default `host`.
    pub server_name: Option<String>,
    /// Lower levels on the days until the certificate expires, e.g. warn 14, crit 7.
    pub days_left: Levels,
    /// Check that the chain leads to a trusted root; off judges only expiry and name.
    pub verify_chain: bool,
    /// PEM certificates trusted in addition to the webpki roots.
    pub ca_file: Option<PathBuf>,
    /// Bounds the whole run: lookup, connect and handshake.
    pub timeout: Duration,
}

/// A `command` probe: what to run and within which limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    /// The executable: a path, or a name looked up in `PATH`. With `shell`, the shell command.
    pub program: PathBuf,
    /// Arguments, passed as they are (no word splitting, no globbing). With `shell` they are
    /// the shell command's `$1`, `$2`, ….
    pub args: Vec<String>,
    /// Environment variables on top of `PATH` (checkd's own) and `LANG=C`; nothing else of
    /// checkd's environment is passed on.
    pub env: Vec<(String, String)>,
    /// Run `/bin/sh -c program sh args…` instead of the program itself.
    pub shell: bool,
    /// The whole process group is killed when the command runs longer.
    pub timeout: Duration,
    /// stdout kept; the rest is read and discarded (and the command killed when it keeps
    /// writing far beyond it).
    pub max_output_bytes: usize,
}
