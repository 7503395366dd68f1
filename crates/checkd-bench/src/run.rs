//! The sequence of one benchmark run: the limit, then per N the first round and scrapes, and at
//! the largest N validate, steady state and restart. Returns the table rows and notes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::daemon::{self, Daemon};
use crate::generate::{self, Workload};
use crate::measure::{self, Until};
use crate::perf::Perf;
use crate::report::{thousands, Row};
use crate::rows::Scope;
use crate::system;
use crate::target::Target;

/// What one run does.
#[derive(Debug, Clone)]
pub struct Settings {
    pub checks: Vec<usize>,
    pub steady: Duration,
    pub concurrency: usize,
    pub wrk_seconds: u64,
    pub exe: PathBuf,
    pub keep: bool,
    /// Where to write `perf record` data of the largest N, if profiling.
    pub perf: Option<PathBuf>,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

pub async fn run(settings: &Settings) -> anyhow::Result<Outcome> {
    system::ensure_wrk().await?;
    let target = Target::start().await?;
    let client = measure::client()?;
    let mut out = Outcome::default();
    let conc = settings.concurrency;
    eprintln!("limit: wrk -t2 -c{conc} -d{}s", settings.wrk_seconds);
    let limit = system::wrk(&target.item_url(), conc, settings.wrk_seconds).await?;
    out.rows.push(Row::info(
        format!(
            "limit: `wrk -t2 -c{conc} -d{}s` against the target",
            settings.wrk_seconds
        ),
        format!("{} req/s", thousands(limit as u64)),
    ));
    let mut sizes = settings.checks.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let largest = sizes.last().copied().unwrap_or_default();
    let bench = Bench {
        settings,
        target: &target,
        client: &client,
        limit,
    };
    for n in sizes {
        one_size(&bench, n, n == largest, &mut out)
            .await
            .with_context(|| format!("at {n} checks"))?;
    }
    Ok(out)
}

/// What every check count shares.
struct Bench<'a> {
    settings: &'a Settings,
    target: &'a Target,
    client: &'a reqwest::Client,
    /// wrk's requests per second.
    limit: f64,
}

async fn one_size(b: &Bench<'_>, n: usize, largest: bool, out: &mut Outcome) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("checkd-bench-").tempdir()?;
    let workload = Workload {
        checks: n,
        target_port: b.target.port,
        listen_port: free_port()?,
        concurrency: b.settings.concurrency,
    };
    let scope = Scope::new(n, workload.jobs());
    let (label, jobs) = (&scope.label, scope.jobs);
    let config = generate::write(dir.path(), &workload)?;
    let exe = &b.settings.exe;
    if largest {
        eprintln!("{label}: checkd validate ×3");
        let mut best = Duration::MAX;
        for _ in 0..3 {
            best = best.min(daemon::validate(exe, &config).await?);
        }
        out.rows.push(scope.validate(best));
    }

    eprintln!("{label}: first full round of {jobs} jobs");
    let log = dir.path().join("daemon.log");
    let before = b.target.count(b.client).await?;
    let mut daemon = Daemon::start(exe, &config, workload.listen_port, &log)?;
    let perf = profile(b.settings, largest, daemon.pid, "first-round")?;
    // Bounded: 30 s plus 5 ms a job, far beyond any healthy round.
    let deadline = Duration::from_secs(30) + Duration::from_millis(5 * jobs as u64);
    let round = measure::first_round(b.client, &mut daemon, jobs, deadline).await?;
    let requests = b.target.count(b.client).await? - before;
    out.rows.push(scope.first_round(&round, requests, b.limit));
    if let Some(perf) = perf {
        out.notes.push(perf.stop("the first round").await?);
    }
    let rss_after_round = system::memory_kib(daemon.pid, "VmRSS:")?;

    // The scheduler's grid starts about when the endpoint answers: every job runs again
    // 60 s plus its splay (< 6 s) later. Scrapes end well before that second round so they
    // do not compete with it, and the steady window then holds exactly that round.
    let grid = daemon.started + round.listening.unwrap_or_default();
    let perf = profile(b.settings, largest, daemon.pid, "scrapes")?;
    scrapes(&daemon, &scope, &round, grid + Duration::from_secs(50), out).await?;
    if let Some(perf) = perf {
        out.notes.push(perf.stop("the scrapes").await?);
    }

    if largest {
        // A window of 60 s starting after every job's splay (< 6 s) holds each job once.
        tokio::time::sleep_until((grid + Duration::from_secs(7)).into()).await;
        eprintln!(
            "{label}: steady state for {} s",
            b.settings.steady.as_secs()
        );
        let steady = system::steady(b.client, &mut daemon, b.settings.steady).await?;
        out.rows.extend(scope.steady(&steady, rss_after_round));

        eprintln!("{label}: kill -9 and restart");
        daemon.kill9().await?;
        let mut again = Daemon::start(exe, &config, workload.listen_port, &log)?;
        let until =
            measure::full_output(b.client, &mut again, jobs, Duration::from_secs(60)).await?;
        again.kill9().await?;
        out.rows.push(scope.restart(&until));
    } else {
        daemon.kill9().await?;
    }
    if b.settings.keep {
        let kept = dir.keep();
        out.notes.push(format!(
            "{label}: config, store and daemon log kept in {}",
            kept.display()
        ));
    }
    Ok(())
}

/// `GET /` latency with 1 client, then 16, each phase bounded so both end by `end`.
async fn scrapes(
    daemon: &Daemon,
    scope: &Scope,
    round: &Until,
    end: Instant,
    out: &mut Outcome,
) -> anyhow::Result<()> {
    eprintln!("{}: scrape latency", scope.label);
    let addr = daemon.addr;
    for (clients, each, target_ms) in [(1, 200, 20), (16, 100, 50)] {
        let left = end.saturating_duration_since(Instant::now());
        // The single client gets at most 15 s, the 16 clients the rest (at least 5 s each).
        let budget = if clients == 1 {
            left.min(Duration::from_secs(15))
        } else {
            left
        };
        let l = measure::scrape(addr, clients, each, budget.max(Duration::from_secs(5))).await?;
        out.rows.push(scope.scrape(clients, &l, target_ms));
        if clients == 1 {
            out.rows
                .push(scope.output_size(l.bytes, round.last.services));
        }
    }
    Ok(())
}

/// `perf record` on the daemon of the largest check count, when `--perf` asks for it.
fn profile(
    settings: &Settings,
    largest: bool,
    pid: u32,
    name: &str,
) -> anyhow::Result<Option<Perf>> {
    match (&settings.perf, largest) {
        (Some(dir), true) => Ok(Some(Perf::attach(
            pid,
            &dir.join(format!("{name}.perf.data")),
        )?)),
        _ => Ok(None),
    }
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
