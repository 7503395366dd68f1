//! The end-to-end benchmark of issue 7: checkd measured against what this machine can do.
//! A program that prints figures, not a timed test.
//!
//! ```sh
//! cargo run --release -p checkd-bench -- [--checks 1000,10000] [--out target/bench.md] [--quick]
//! ```
//!
//! It builds the release `checkd` (`cargo build --release -p checkd`, unless `--checkd PATH`
//! names another), then, everything on 127.0.0.1 and started and stopped by itself:
//! 1. starts a small axum HTTP target in its own process that counts requests;
//! 2. measures the **limit**: `wrk` (Debian's package; installed when missing and run as root)
//!    against the target at the concurrency checkd gets (`--concurrency`, default 64);
//! 3. for each N, generates N HTTP checks (a JSON assertion and one metric) in 2 environments
//!    (2N jobs, each its own URL, `cache_for: 60s`) with memory + sled in a temp dir, starts
//!    `checkd run` and measures the time until `GET /` shows no "first run pending";
//! 4. measures `GET /` latency (p50/p99) with 1 client and with 16 concurrent clients;
//! 5. at the largest N: `checkd validate` (best of 3), a steady-state window (CPU share of one
//!    core from /proc/PID/stat, max RSS, runs/s from /api/v1/status), then `kill -9` and the
//!    time from a new `checkd run` until `GET /` lists every persisted result.
//!
//! It prints one table (figure, value, target of issue 7, met) and writes it as Markdown to
//! `--out`. `--quick` is a smoke run: N = 1,000 only, a 20 s steady window. `--perf DIR`
//! attaches `perf record` to the largest first round and, separately, to its scrapes, and
//! writes each profile's top symbols beside it (`DIR/*.perf.txt`).

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures real time against real processes, not a runtime's clock"
)]

mod daemon;
mod generate;
mod measure;
mod perf;
mod report;
mod rows;
mod run;
mod system;
mod target;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

/// checkd's end-to-end benchmark (issue 7): prints one table and writes it to `--out`.
#[derive(Debug, Parser)]
struct Args {
    /// Check counts to generate; each becomes 2 × N jobs (two environments).
    #[arg(long, value_delimiter = ',', default_values_t = [1_000usize, 10_000])]
    checks: Vec<usize>,
    /// Where the Markdown table goes.
    #[arg(long, default_value = "target/bench.md")]
    out: PathBuf,
    /// Smoke run: N = 1,000 only and a 20 s steady-state window.
    #[arg(long)]
    quick: bool,
    /// Seconds of the steady-state window (at least one full `cache_for` of 60 s).
    #[arg(long, default_value_t = 60)]
    steady: u64,
    /// Global and per-datasource concurrency of checkd, and wrk's connections.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds wrk runs for the limit.
    #[arg(long, default_value_t = 10)]
    wrk_seconds: u64,
    /// The checkd executable; without it `cargo build --release -p checkd` runs first and
    /// `checkd` beside this program is used.
    #[arg(long)]
    checkd: Option<PathBuf>,
    /// Keep the temporary directories (configs, sled store, daemon logs) and say where.
    #[arg(long)]
    keep: bool,
    /// Record a `perf` profile of the largest first round and its scrapes into this directory.
    #[arg(long)]
    perf: Option<PathBuf>,
    /// Internal: serve the HTTP target (the bench starts itself with this).
    #[arg(long, hide = true)]
    serve_target: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let result = runtime
        .context("cannot start the runtime")
        .and_then(|rt| rt.block_on(interruptible(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("checkd-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Ctrl-C drops the run, and with it every child process (they are killed on drop).
async fn interruptible(args: Args) -> anyhow::Result<()> {
    if args.serve_target {
        return target::serve().await;
    }
    tokio::select! {
        result = bench(args) => result,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted"),
    }
}

async fn bench(args: Args) -> anyhow::Result<()> {
    let exe = match &args.checkd {
        Some(exe) => exe.clone(),
        None => {
            eprintln!("building: cargo build --release -p checkd");
            daemon::build().await?;
            daemon::default_exe()?
        }
    };
    let settings = run::Settings {
        checks: if args.quick {
            vec![1_000]
        } else {
            args.checks.clone()
        },
        steady: Duration::from_secs(if args.quick { 20 } else { args.steady }),
        concurrency: args.concurrency.max(1),
        wrk_seconds: args.wrk_seconds.max(1),
        exe,
        keep: args.keep,
        perf: args.perf.clone(),
    };
    let outcome = run::run(&settings).await?;
    let header = system::header(&settings.exe, args.checkd.is_none()).await;
    let mut notes = outcome.notes;
    notes.push(
        "2-core machine shared with other builds: treat single figures as noisy (±30 %); the \
         target, wrk, checkd and this program share the same cores"
            .into(),
    );
    notes.push(format!(
        "checkd runs with MALLOC_ARENA_MAX={} as deploy/checkd.service sets it",
        daemon::MALLOC_ARENA_MAX
    ));
    notes.push(
        "first round: from spawning `checkd run` (config load, sled open, board load \
         included) until `GET /` shows no \"first run pending\"; the limit is wrk's raw rate \
         against the same target at the same concurrency"
            .into(),
    );
    let table = report::markdown(&header, &outcome.rows, &notes);
    #[allow(clippy::print_stdout)] // the table is this program's output
    {
        println!("{table}");
    }
    report::write(&args.out, &table)?;
    eprintln!("written to {}", args.out.display());
    Ok(())
}
