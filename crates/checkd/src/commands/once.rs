//! `checkd once`: run the selected checks now, print them (table, Checkmk text or JSON) and
//! exit with the worst state's Nagios code.
//!
//! It runs jobs through the daemon's executor and shows them through the daemon's view, so
//! once and the daemon cannot disagree; it schedules nothing and serves nothing.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use checkd_clock::Clock;
use checkd_datasource::Datasources;
use checkd_scheduler::{Board, Executor};
use checkd_store::MemoryStore;

use super::EXIT_INTERNAL;
use crate::cli::OnceFormat;
use crate::runner::DatasourceRunner;
use crate::view::{Filter, View};

/// `checkd once`: runs the selected jobs now, prints them, exits with the worst state's
/// Nagios code (CRIT counting as worst), or 4 when checkd itself fails.
pub async fn run(
    config: &Path,
    environments: &[String],
    checks: &[String],
    format: OnceFormat,
    no_cache: bool,
) -> ExitCode {
    let plan = match super::load(config) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            super::report(&diagnostics);
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    for (wanted, kind, known) in [
        (
            environments,
            "environment",
            plan.jobs
                .iter()
                .map(|j| &j.key.environment)
                .collect::<Vec<_>>(),
        ),
        (
            checks,
            "check",
            plan.jobs.iter().map(|j| &j.key.check).collect::<Vec<_>>(),
        ),
    ] {
        if let Some(unknown) = wanted.iter().find(|w| !known.contains(w)) {
            eprintln!(
                "checkd once: no {kind} named {unknown:?} in {}",
                config.display()
            );
            return ExitCode::from(EXIT_INTERNAL);
        }
    }
    let selected: Vec<usize> = (0..plan.jobs.len())
        .filter(|&i| {
            let key = &plan.jobs[i].key;
            (environments.is_empty() || environments.contains(&key.environment))
                && (checks.is_empty() || checks.contains(&key.check))
        })
        .collect();
    let datasources = match Datasources::build(&plan.datasources) {
        Ok(datasources) => datasources,
        Err(error) => {
            eprintln!("checkd once: {error:#}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    // With the cache, fresh results are served instead of run again (the daemon's rule);
    // --no-cache runs everything and keeps the results in memory only.
    let opened = if no_cache {
        super::OpenedStore {
            store: Arc::new(MemoryStore::new()),
            left_out: Vec::new(),
        }
    } else {
        match super::open_store(&plan, false).await {
            Ok(opened) => opened,
            Err(error) => {
                eprintln!("checkd once: {error:#}");
                return ExitCode::from(EXIT_INTERNAL);
            }
        }
    };
    let store = Arc::clone(&opened.store);
    let board = Arc::new(Board::new());
    let clock = Clock::system();
    let executor = Executor::new(
        &plan,
        Arc::new(DatasourceRunner(datasources)),
        Arc::clone(&board),
        Arc::clone(&store),
        clock,
    );
    if !no_cache {
        board.load(store.as_ref(), &plan).await;
    }
    let runs_here = |job: &&checkd_model::plan::Job| {
        job.placement.decide(&plan.execution_environment) == checkd_model::placement::Decision::Run
    };
    let due = selected
        .iter()
        .map(|&i| &plan.jobs[i])
        .filter(runs_here)
        .filter(|job| {
            no_cache
                || !board
                    .get(&job.key)
                    .is_some_and(|r| r.is_fresh(clock.now_ms()))
        });
    futures::future::join_all(due.map(|job| executor.execute(job))).await;
    if let Err(error) = store.flush().await {
        tracing::warn!("could not flush the cache: {error}");
    }

    let view = View::of(Arc::clone(&plan), &selected);
    let records = board.snapshot();
    let now = clock.now_ms();
    let text = match format {
        OnceFormat::Checkmk => view.agent_output(&board, &opened.status(0), now),
        OnceFormat::Json => {
            match serde_json::to_string_pretty(&view.results(&records, now, &Filter::default())) {
                Ok(json) => json + "\n",
                Err(error) => {
                    eprintln!("checkd once: {error}");
                    return ExitCode::from(EXIT_INTERNAL);
                }
            }
        }
        OnceFormat::Table => table(&view.results(&records, now, &Filter::default())),
    };
    if std::io::stdout().lock().write_all(text.as_bytes()).is_err() {
        return ExitCode::from(EXIT_INTERNAL);
    }
    // The Nagios code of the worst state; CRIT is the worst, so it wins over UNKNOWN.
    ExitCode::from(view.worst_state(&records, now).code())
}

/// A table for people: state, environment, service, summary.
fn table(rows: &[crate::view::ResultRow]) -> String {
    let width = |f: &dyn Fn(&crate::view::ResultRow) -> usize, header: &str| {
        rows.iter().map(f).chain([header.len()]).max().unwrap_or(0)
    };
    let env_w = width(&|r| r.environment.chars().count(), "ENVIRONMENT");
    let svc_w = width(&|r| r.service.chars().count(), "SERVICE");
    let mut out = format!(
        "{:<7}  {:<env_w$}  {:<svc_w$}  SUMMARY\n",
        "STATE", "ENVIRONMENT", "SERVICE"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<7}  {:<env_w$}  {:<svc_w$}  {}\n",
            r.state.as_str(),
            r.environment,
            r.service,
            r.summary
        ));
    }
    out
}
