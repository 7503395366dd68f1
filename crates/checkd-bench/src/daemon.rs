//! The `checkd` executable under test: building it, `checkd validate`, and `checkd run` as a
//! child process that is killed (SIGKILL) when its handle is dropped, on every path out.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use tokio::process::{Child, Command};

/// The workspace root, where `cargo build --release -p checkd` runs.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/release/checkd` beside this executable (both are built into the same directory).
pub fn default_exe() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find the bench executable")?;
    let dir = me
        .parent()
        .context("the bench executable has no directory")?;
    Ok(dir.join("checkd"))
}

/// Runs `cargo build --release -p checkd` so the figures are of the current tree.
pub async fn build() -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "checkd"])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build --release -p checkd failed ({status})");
    }
    Ok(())
}

/// Wall time of one `checkd validate --config CONFIG`, which must succeed.
pub async fn validate(exe: &Path, config: &Path) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        command(exe, "validate", config).output(),
    )
    .await
    .context("checkd validate took longer than 60 s")?
    .context("cannot run checkd validate")?;
    let took = started.elapsed();
    if !output.status.success() {
        bail!(
            "checkd validate failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(took)
}

/// The allocator setting of deploy/checkd.service (`Environment=MALLOC_ARENA_MAX=2`).
pub const MALLOC_ARENA_MAX: &str = "2";

fn command(exe: &Path, subcommand: &str, config: &Path) -> Command {
    let mut command = Command::new(exe);
    command
        .arg(subcommand)
        .arg("--config")
        .arg(config)
        // The config says where this instance runs; the caller's environment must not.
        .env_remove("CHECKD_ENVIRONMENT")
        .env_remove("CHECKD_CONFIG")
        // As deploy/checkd.service runs it.
        .env("MALLOC_ARENA_MAX", MALLOC_ARENA_MAX)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// A running `checkd run`.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    pub pid: u32,
    /// When the process was spawned: every "time until" is measured from here.
    pub started: Instant,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub addr: std::net::SocketAddr,
    log: PathBuf,
}

impl Daemon {
    /// Spawns `checkd run`; its stdout and stderr go to `log` (a file, so it never blocks).
    pub fn start(exe: &Path, config: &Path, port: u16, log: &Path) -> anyhow::Result<Daemon> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        let err = file.try_clone()?;
        let started = Instant::now();
        let child = command(exe, "run", config)
            .stdout(file)
            .stderr(err)
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let pid = child.id().context("checkd exited at once")?;
        Ok(Daemon {
            child,
            pid,
            started,
            base: format!("http://127.0.0.1:{port}"),
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            log: log.to_path_buf(),
        })
    }

    /// Fails with the end of the daemon's log when it has exited.
    pub fn ensure_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "checkd run exited ({status}); its log ends:\n{}",
                tail.join("\n")
            );
        }
        Ok(())
    }

    /// `kill -9` and reap.
    pub async fn kill9(mut self) -> anyhow::Result<()> {
        self.child.start_kill()?;
        tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .context("checkd did not die within 10 s of SIGKILL")??;
        Ok(())
    }
}
