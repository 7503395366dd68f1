//! What the machine says: the load generator's raw rate (`wrk`), CPU time and memory of a
//! process from `/proc`, and the machine description for the report.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use tokio::process::Command;

use crate::daemon::Daemon;
use crate::measure;

/// Makes sure `wrk` is installed: as root it installs Debian's package, else it says how.
pub async fn ensure_wrk() -> anyhow::Result<()> {
    if quiet("wrk", &["--version"]).await.is_ok() {
        return Ok(());
    }
    if !is_root() {
        bail!("wrk is missing: install it with `apt-get install -y wrk` (Debian) and run again");
    }
    eprintln!("wrk is missing; installing Debian's package");
    if quiet("apt-get", &["install", "-y", "wrk"]).await.is_err() {
        // A fresh machine may have no package lists yet.
        quiet("apt-get", &["update"]).await?;
        quiet("apt-get", &["install", "-y", "wrk"]).await?;
    }
    quiet("wrk", &["--version"]).await
}

/// Runs a command to its end (bounded), output discarded; `wrk --version` exits 1, so only
/// a failure to start counts for it.
async fn quiet(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = tokio::time::timeout(
        Duration::from_secs(300),
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .status(),
    )
    .await
    .with_context(|| format!("{program} took longer than 300 s"))?
    .with_context(|| format!("cannot run {program}"))?;
    if program != "wrk" && !status.success() {
        bail!("{program} {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    })
}

/// `wrk -t2 -cCONNECTIONS -dSECONDS URL`: requests per second.
pub async fn wrk(url: &str, connections: usize, seconds: u64) -> anyhow::Result<f64> {
    let output = tokio::time::timeout(
        Duration::from_secs(seconds + 30),
        Command::new("wrk")
            .arg("-t2")
            .arg(format!("-c{connections}"))
            .arg(format!("-d{seconds}s"))
            .arg(url)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .context("wrk did not finish in time")?
    .context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk's output:\n{text}"))
}

/// CPU and memory of the daemon over a window of steady running.
#[derive(Debug, Clone, Copy)]
pub struct Steady {
    pub window: Duration,
    /// CPU seconds per wall second (1.0 = one core busy).
    pub cpu_share: f64,
    /// The highest share over one sampling second.
    pub busiest_second: f64,
    pub rss_max_kib: u64,
    /// The process's peak RSS over its whole life (VmHWM).
    pub peak_kib: u64,
    pub runs: u64,
}

/// Samples the daemon once a second for `window`.
pub async fn steady(
    client: &reqwest::Client,
    daemon: &mut Daemon,
    window: Duration,
) -> anyhow::Result<Steady> {
    let tick = clock_ticks().await;
    let runs_before = measure::runs(client, daemon).await?;
    let started = Instant::now();
    let first = cpu_ticks(daemon.pid)?;
    let (mut last, mut last_at) = (first, started);
    let mut busiest = 0.0f64;
    let mut rss_max = memory_kib(daemon.pid, "VmRSS:")?;
    while started.elapsed() < window {
        let left = window.saturating_sub(started.elapsed());
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        daemon.ensure_alive()?;
        let (now, at) = (cpu_ticks(daemon.pid)?, Instant::now());
        let wall = at.duration_since(last_at).as_secs_f64();
        if wall > 0.5 {
            busiest = busiest.max(ticks_to_s(now - last, tick) / wall);
        }
        (last, last_at) = (now, at);
        rss_max = rss_max.max(memory_kib(daemon.pid, "VmRSS:")?);
    }
    let wall = started.elapsed();
    let runs_after = measure::runs(client, daemon).await?;
    Ok(Steady {
        window: wall,
        cpu_share: ticks_to_s(last - first, tick) / last_at.duration_since(started).as_secs_f64(),
        busiest_second: busiest,
        rss_max_kib: rss_max,
        peak_kib: memory_kib(daemon.pid, "VmHWM:")?,
        runs: runs_after.saturating_sub(runs_before),
    })
}

#[allow(clippy::cast_precision_loss)] // tick counts stay far below 2^52
fn ticks_to_s(ticks: u64, per_second: u64) -> f64 {
    ticks as f64 / per_second as f64
}

/// `getconf CLK_TCK`, the unit of /proc/PID/stat times; 100 on every Linux we run on.
async fn clock_ticks() -> u64 {
    let output = Command::new("getconf").arg("CLK_TCK").output().await;
    output
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .filter(|t| *t > 0)
        .unwrap_or(100)
}

/// utime + stime of a process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name is in parentheses and may hold spaces; fields count from after it.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("unexpected /proc/PID/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `rest` starts at field 3.
    let field = |n: usize| -> anyhow::Result<u64> {
        Ok(fields.get(n - 3).context("short /proc/PID/stat")?.parse()?)
    };
    Ok(field(14)? + field(15)?)
}

/// A `kB` line of /proc/PID/status, e.g. `VmRSS:`.
pub fn memory_kib(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no {key} in /proc/{pid}/status"))
}

/// Cores, memory and CPU model, for the report's header.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |kib| kib.div_ceil(1024 * 1024));
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    format!("{cores} cores ({model}), {mem_gib} GiB RAM")
}

/// The report's header: what ran where, so a figure can be traced back.
pub async fn header(exe: &std::path::Path, built: bool) -> Vec<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = if args.is_empty() {
        "cargo run --release -p checkd-bench".to_owned()
    } else {
        format!("cargo run --release -p checkd-bench -- {}", args.join(" "))
    };
    let commit = text("git", &["rev-parse", "--short", "HEAD"]).await;
    let dirty = text("git", &["status", "--porcelain", "--untracked-files=no"]).await;
    let commit = match (commit, dirty) {
        (Some(c), Some(d)) if !d.is_empty() => format!("{c} with uncommitted changes"),
        (Some(c), _) => c,
        (None, _) => "unknown".into(),
    };
    let commit = if built {
        commit
    } else {
        format!("{commit} (this tree's; the checkd measured is the one `--checkd` names)")
    };
    let version = text(&exe.display().to_string(), &["--version"]).await;
    let date = text("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).await;
    vec![
        "## checkd end-to-end benchmark (issue 7)".into(),
        String::new(),
        format!("command: `{command}`"),
        format!("commit: {commit}"),
        format!(
            "checkd: `{}` ({})",
            exe.display(),
            version.unwrap_or_else(|| "version unknown".into())
        ),
        format!("machine: {}", machine()),
        format!("date: {}", date.unwrap_or_default()),
    ]
}

/// The trimmed stdout of a short command, if it succeeded.
async fn text(program: &str, args: &[&str]) -> Option<String> {
    let output = tokio::time::timeout(
        Duration::from_secs(10),
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .ok()?
    .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
