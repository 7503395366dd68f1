//! Running the command: no shell unless asked, its own process group, a cleared environment,
//! bounded output, and a timeout that kills the whole group.

use std::io;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::process::{Child, Command};

use super::CommandSpec;

/// stderr kept for the message, when stdout says nothing.
pub(super) const MAX_STDERR_BYTES: usize = 4096;

/// Output read and thrown away past the limit before the command counts as flooding and is
/// killed: enough for a plugin that prints a few megabytes and exits normally, small enough
/// that `yes` is stopped within milliseconds instead of at the timeout.
pub(super) const MAX_DISCARDED_BYTES: u64 = 16 * 1024 * 1024;

/// After SIGKILL a process ends at once; this only bounds the wait for its exit status.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, PartialEq)]
pub(super) enum Exit {
    Code(i32),
    Signal(i32),
    /// Still running at the timeout; the group was killed.
    TimedOut,
    /// Wrote more than the limit plus [`MAX_DISCARDED_BYTES`]; the group was killed.
    Flooded,
}

/// What a run of the command left.
#[derive(Debug)]
pub(super) struct Ran {
    pub exit: Exit,
    /// At most `max_output_bytes`.
    pub stdout: Vec<u8>,
    /// Bytes the command wrote to stdout, kept or not.
    pub stdout_total: u64,
    /// At most [`MAX_STDERR_BYTES`].
    pub stderr: Vec<u8>,
}

/// Runs the command to its end, or kills its process group. `Err` only when it cannot be
/// started.
pub(super) async fn run(spec: &CommandSpec) -> io::Result<Ran> {
    let mut child = command(spec).spawn()?;
    let group = Group::of(&child);
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        // Both are piped above, so this does not happen; say so rather than panic.
        group.kill();
        return Err(io::Error::other("stdout or stderr not captured"));
    };
    let mut out = Bounded::new(spec.max_output_bytes);
    let mut err = Bounded::new(MAX_STDERR_BYTES);
    let finished = tokio::time::timeout(spec.timeout, async {
        let (_, _, status) =
            tokio::join!(out.read(stdout, &group), err.read(stderr, &group), async {
                let status = child.wait().await;
                // Whatever the command left behind in its group goes with it; this also
                // closes pipes a leftover child would keep open.
                group.kill();
                status
            });
        status
    })
    .await;
    let exit = match finished {
        Ok(status) => {
            let flooded = out.flooded || err.flooded;
            exit_of(status?, flooded)
        }
        Err(_elapsed) => {
            group.kill();
            // Reap it so no zombie is left; SIGKILL cannot be caught, so this is quick.
            let _ = tokio::time::timeout(REAP_TIMEOUT, child.wait()).await;
            Exit::TimedOut
        }
    };
    group.disarm();
    Ok(Ran {
        exit,
        stdout: out.kept,
        stdout_total: out.total,
        stderr: err.kept,
    })
}

fn command(spec: &CommandSpec) -> Command {
    let mut command = if spec.shell {
        // `sh -c PROGRAM sh ARGS…`: the arguments are `$1`, `$2`, … of the shell command.
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(&spec.program).arg("sh");
        command
    } else {
        Command::new(&spec.program)
    };
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    command
        .args(&spec.args)
        .env_clear()
        .env("PATH", path)
        // Plugins print numbers with a decimal point only in the C locale.
        .env("LANG", "C")
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A group of its own, so a timeout can kill the command and everything it started.
        .process_group(0)
        .kill_on_drop(true);
    command
}

fn exit_of(status: ExitStatus, flooded: bool) -> Exit {
    if flooded {
        Exit::Flooded
    } else if let Some(code) = status.code() {
        Exit::Code(code)
    } else {
        Exit::Signal(status.signal().unwrap_or_default())
    }
}

/// The command's process group. Killed when dropped while armed, so a run that is itself
/// cancelled (the caller's future dropped) leaves nothing behind.
#[derive(Debug)]
struct Group {
    pgid: Option<Pid>,
    armed: bool,
}

impl Group {
    fn of(child: &Child) -> Group {
        // With `process_group(0)` the group id is the child's pid.
        let pgid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .map(Pid::from_raw);
        Group { pgid, armed: true }
    }

    fn kill(&self) {
        if let Some(pgid) = self.pgid {
            // ESRCH (the group is gone already) is the usual, fine answer.
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }

    /// The run ended and the group was dealt with: nothing to do on drop.
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.armed {
            self.kill();
        }
    }
}

/// A pipe read into a bounded buffer.
#[derive(Debug)]
struct Bounded {
    keep: usize,
    kept: Vec<u8>,
    total: u64,
    flooded: bool,
}

impl Bounded {
    fn new(keep: usize) -> Bounded {
        Bounded {
            keep,
            kept: Vec::new(),
            total: 0,
            flooded: false,
        }
    }

    /// Reads to the end, keeping the first `keep` bytes and discarding the rest; kills the
    /// group when the command writes more than [`MAX_DISCARDED_BYTES`] past the limit.
    async fn read(&mut self, mut pipe: impl AsyncRead + Unpin, group: &Group) {
        let mut chunk = [0u8; 8192];
        loop {
            let n = match pipe.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            self.total = self.total.saturating_add(n as u64);
            let room = self.keep.saturating_sub(self.kept.len());
            self.kept.extend_from_slice(&chunk[..n.min(room)]);
            if self.total > (self.keep as u64).saturating_add(MAX_DISCARDED_BYTES) {
                self.flooded = true;
                group.kill();
                return;
            }
        }
    }
}
