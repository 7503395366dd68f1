//! Test scaffolding: a temp dir with config files, the real `checkd` binary, free ports.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A temporary directory holding a daemon config and check files.
#[derive(Debug)]
pub struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `name` below the directory, creating parents.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// A `checkd` command with `--config` pointing at `checkd.yaml` in this directory.
    pub fn checkd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_checkd"));
        // Relative, as a user would type it: diagnostics then name files relative too.
        cmd.args(args).args(["--config", "checkd.yaml"]);
        cmd.current_dir(self.path())
            .env_remove("CHECKD_CONFIG")
            .env_remove("CHECKD_ENVIRONMENT");
        cmd.env("CHECKD_LOG", "warn").stdin(Stdio::null());
        cmd
    }
}

/// Runs a command to completion within `limit`, killing it on overrun.
pub fn run(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn checkd");
    // Drain both pipes while waiting: a child writing more than a pipe holds would block.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!(
                "command overran {limit:?}; stderr: {}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// An address where nothing listens: bound, then released.
pub fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    addr
}

/// Whether any file below `dir` contains `needle`: what a process wrote to its files is
/// there for the next one even after a `kill -9`.
pub fn files_contain(dir: &Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            files_contain(&path, needle)
        } else {
            std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        }
    })
}

/// Replaces what changes from run to run — produced-at times in `cached(T,I)`, ports on
/// 127.0.0.1, RFC 3339 times and cache layer counters — so outputs compare exactly.
pub fn normalize(text: &str) -> String {
    let rules = [
        (r"cached\(\d+,", "cached(T,"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TIME"),
        (
            r": \d+ hits, \d+ misses, \d+ errors(, \d+ entries)?",
            ": STATS",
        ),
    ];
    rules
        .iter()
        .fold(text.to_string(), |text, (pattern, with)| {
            regex::Regex::new(pattern)
                .expect("regex")
                .replace_all(&text, *with)
                .into_owned()
        })
}

/// A `checkd run` process, killed when dropped.
pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    /// Everything the daemon logged so far, drained continuously so it never blocks on a
    /// full pipe.
    log: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Daemon {
    pub fn start(dir: &Dir, addr: SocketAddr) -> Daemon {
        Daemon::spawn(dir.checkd(&["run"]), addr)
    }

    /// Starts `checkd run` from a prepared command and waits until it is healthy.
    pub fn spawn(mut cmd: Command, addr: SocketAddr) -> Daemon {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn checkd run");
        let mut child = child;
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        if let Some(mut stderr) = child.stderr.take() {
            let sink = std::sync::Arc::clone(&log);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = std::io::Read::read(&mut stderr, &mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
        let daemon = Daemon { child, addr, log };
        daemon.wait_until("healthy", |d| {
            d.get("/healthcheck")
                .is_some_and(|(status, _)| status == 204)
        });
        daemon
    }

    /// `GET path` on the daemon: status and body, or None when it does not answer.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.addr, path)
    }

    /// Polls `ready` every 50 ms for up to 20 s.
    pub fn wait_until(&self, what: &str, ready: impl Fn(&Daemon) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if ready(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "daemon not {what} within 20 s; last GET /: {:?}",
            self.get("/")
        );
    }

    /// Everything the daemon logged so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }

    /// Sends SIGTERM and waits up to `limit` for the exit status.
    pub fn terminate(self, limit: Duration) -> std::process::ExitStatus {
        self.terminate_with_log(limit).0
    }

    /// Sends a signal by name (`HUP`, `TERM`, …).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Sends SIGTERM, waits up to `limit`, and returns the exit status and everything the
    /// daemon logged.
    pub fn terminate_with_log(mut self, limit: Duration) -> (std::process::ExitStatus, String) {
        self.signal("TERM");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // The drain thread sees end-of-file once the process is gone.
                std::thread::sleep(Duration::from_millis(100));
                let log = String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned();
                return (status, log);
            }
            assert!(
                Instant::now() < deadline,
                "checkd did not exit within {limit:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal blocking HTTP/1.1 GET, so tests need no client of their own.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Some((
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_string()
        },
    ))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}
