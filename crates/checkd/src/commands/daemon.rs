//! `checkd run`: the daemon's lifecycle — load, serve, schedule, reload generations on SIGHUP,
//! shut down in order on SIGTERM, tell systemd, write spool files.
//!
//! It wires the crates together and owns the tasks, not what they do: routes are `server`,
//! scheduling is `checkd_scheduler`, rendering is `view`.

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use checkd_clock::Clock;
use checkd_datasource::Datasources;
use checkd_model::plan::{Plan, SpoolSettings};
use checkd_model::JobKey;
use checkd_scheduler::{Board, Executor, Fleet, Scheduler, Stats};
use checkd_store::Store;
use sd_notify::NotifyState;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::runner::DatasourceRunner;
use crate::selfmon::Reloaded;
use crate::server::{app, AppState, Swap};
use crate::view::View;

/// How long running checks may take to finish after SIGTERM.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);
/// How long a reload waits for the old generation's running checks before it drops it.
const RELOAD_DEADLINE: Duration = Duration::from_secs(10);
/// How long the endpoint, the spool writer and the heartbeat may take to stop, once the
/// checks are done: a scrape being answered, a spool file being written, leaving the fleet.
const TASKS_DEADLINE: Duration = Duration::from_secs(5);

/// `checkd run`: load, serve, schedule until SIGTERM/SIGINT, reload on SIGHUP. Shutdown goes
/// in order: stop scheduling, let running checks finish up to a deadline, flush the store,
/// exit 0; a second SIGTERM/SIGINT exits at once.
pub async fn run(config: &Path) -> ExitCode {
    let plan = match super::load(config) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            super::report(&diagnostics);
            return ExitCode::from(1);
        }
    };
    match serve(config, plan).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::from(1)
        }
    }
}

/// One loaded config at work: its scheduler loop and the token that stops it.
struct Generation {
    plan: Arc<Plan>,
    scheduler: Arc<Scheduler>,
    cancel: CancellationToken,
}

impl Generation {
    /// Stops scheduling and waits up to `deadline` for the runs in flight; `why` names the
    /// occasion in the log. Runs still going at the deadline are no longer waited for: each
    /// ends by its own timeout.
    async fn drain(&self, deadline: Duration, why: &str) {
        self.cancel.cancel();
        if !self.scheduler.drain(deadline).await {
            let runs = self.scheduler.runs_in_flight();
            tracing::warn!(
                runs,
                ?deadline,
                "{why}: checks still running at the deadline were cut off"
            );
        }
    }
}

/// A reloaded config, checked and compared with the running one, not yet started.
struct Next {
    plan: Arc<Plan>,
    datasources: Datasources,
    /// Jobs whose definition changed: they run at once.
    changed: HashSet<JobKey>,
    /// What changed, for the log and checkd's own service.
    what: String,
}

/// What every generation shares: results, store, clock and counters outlive a reload.
struct Shared {
    board: Arc<Board>,
    /// The first generation's datasources: each reload rebuilds from them, keeping shared
    /// responses, OAuth2 tokens and counters.
    datasources: Datasources,
    store: Arc<dyn Store>,
    stats: Arc<Stats>,
    clock: Clock,
    /// Set by the first config; joining or leaving a fleet takes a restart.
    fleet: Option<Arc<Fleet>>,
}

impl Shared {
    /// Starts a reloaded config once the old generation is drained: the board keeps only its
    /// jobs, then its scheduler starts.
    fn start_next(&self, next: Next) -> Generation {
        let kept: HashSet<&JobKey> = next.plan.jobs.iter().map(|j| &j.key).collect();
        self.board.retain(|key| kept.contains(key));
        self.start(Arc::clone(&next.plan), next.datasources, next.changed)
    }

    fn start(
        &self,
        plan: Arc<Plan>,
        datasources: Datasources,
        due_now: HashSet<JobKey>,
    ) -> Generation {
        let executor = Executor::new(
            &plan,
            Arc::new(DatasourceRunner(datasources)),
            Arc::clone(&self.board),
            Arc::clone(&self.store),
            self.clock,
        )
        .with_stats(Arc::clone(&self.stats));
        let mut scheduler =
            Scheduler::new(Arc::clone(&plan), Arc::new(executor)).with_due_now(due_now);
        if let Some(fleet) = &self.fleet {
            scheduler = scheduler.with_fleet(Arc::clone(fleet));
        }
        let scheduler = Arc::new(scheduler);
        let cancel = CancellationToken::new();
        let (looping, token) = (Arc::clone(&scheduler), cancel.clone());
        tokio::spawn(async move { looping.run(token).await });
        Generation {
            plan,
            scheduler,
            cancel,
        }
    }
}

async fn serve(config: &Path, plan: Arc<Plan>) -> anyhow::Result<()> {
    let responses = super::response_store(&plan).await?;
    let redis = super::redis_layers(&plan).await?;
    let datasources = super::datasources(&plan, &responses, redis.as_ref())?;
    let opened = super::open_store(&plan, false).await?;
    let fleet = match (&plan.scheduler.fleet, &redis) {
        (Some(settings), Some(redis)) => Some(Arc::new(super::fleet(settings, Arc::clone(redis)))),
        (Some(_), None) => anyhow::bail!("scheduler.fleet needs a redis layer in cache.layers"),
        (None, _) => None,
    };
    let shared = Shared {
        board: Arc::new(Board::new()),
        datasources: datasources.clone(),
        store: Arc::clone(&opened.store),
        stats: Arc::new(Stats::default()),
        clock: Clock::system(),
        fleet,
    };
    // Every stored result is on the board before the endpoint answers or anything runs.
    let loaded = shared.board.load(shared.store.as_ref(), &plan).await;
    let state = AppState {
        view: Swap::new(View::new(Arc::clone(&plan))),
        board: Arc::clone(&shared.board),
        stats: Arc::clone(&shared.stats),
        clock: shared.clock,
        store: opened,
        datasources: shared.datasources.clone(),
        fleet: shared.fleet.clone(),
        reload: Swap::new(None),
        scrape: Default::default(),
    };
    // The endpoint, the spool writer, the heartbeat and the watchdog: told to stop by
    // `stop_serving`, awaited through `tasks` on shutdown.
    let stop_serving = CancellationToken::new();
    let tasks = TaskTracker::new();
    if let Some(listen) = plan.server.listen {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let (routes, shutdown) = (app(state.clone()), stop_serving.clone());
        tasks.spawn(async move {
            let served = axum::serve(listener, routes)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await;
            if let Err(error) = served {
                tracing::error!("http endpoint failed: {error}");
            }
        });
        tracing::info!(%listen, "serving Checkmk agent output");
    }
    if let Some(spool) = plan.output.spool.clone() {
        tasks.spawn(spool_writer(spool, state.clone(), stop_serving.clone()));
    }
    if let Some(fleet) = &shared.fleet {
        let (fleet, clock, stop) = (Arc::clone(fleet), shared.clock, stop_serving.clone());
        tracing::info!(instance = fleet.instance(), "sharing the work with a fleet");
        tasks.spawn(async move { fleet.beat(clock, stop).await });
    }
    let mut generation = shared.start(Arc::clone(&plan), datasources, HashSet::new());
    tracing::info!(jobs = plan.jobs.len(), loaded, environment = %plan.execution_environment, "checkd started");
    notify(&[NotifyState::Ready]);
    if let Some(timeout) = sd_notify::watchdog_enabled() {
        let (stats, clock, stop) = (
            Arc::clone(&shared.stats),
            shared.clock,
            stop_serving.clone(),
        );
        tasks.spawn(watchdog(timeout, stats, clock, stop));
    }

    let mut signals = signals()?;
    while let Some(signal) = signals.recv().await {
        match signal {
            Signal::Stop => break,
            Signal::Reload => {
                notify(&[NotifyState::Reloading]);
                let (accepted, what) = match reload(config, &generation, &shared) {
                    Ok(next) => {
                        // The old generation's runs land (or are cut off) before the new one
                        // starts: a changed check never runs twice at once, and a removed
                        // check's last run cannot put it back on the board.
                        generation.drain(RELOAD_DEADLINE, "reload").await;
                        let what = next.what.clone();
                        generation = shared.start_next(next);
                        state.view.store(View::new(Arc::clone(&generation.plan)));
                        (true, what)
                    }
                    Err(what) => (false, what),
                };
                state.reload.store(Some(Reloaded {
                    accepted,
                    at_ms: shared.clock.now_ms(),
                    what,
                }));
                notify(&[NotifyState::Ready]);
            }
        }
    }

    tracing::info!("shutting down");
    notify(&[NotifyState::Stopping]);
    tokio::spawn(async move {
        // Shutdown is under way; another stop signal means "now".
        if let Some(Signal::Stop) = signals.recv().await {
            tracing::warn!("second stop signal: exiting without waiting for running checks");
            std::process::exit(1);
        }
    });
    generation.drain(SHUTDOWN_DEADLINE, "shutdown").await;
    stop_serving.cancel();
    tasks.close();
    if tokio::time::timeout(TASKS_DEADLINE, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            tasks = tasks.len(),
            deadline = ?TASKS_DEADLINE,
            "shutdown: the endpoint, spool writer or heartbeat did not stop by the deadline"
        );
    }
    if let Err(error) = shared.store.flush().await {
        tracing::error!("could not flush the store: {error}");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Loads the config again. Invalid: every problem is logged and `Err` (what was wrong, for
/// checkd's own service) keeps the running generation. Valid: what to start next — unchanged
/// checks keep their results and schedule, changed ones run at once, removed ones leave the
/// output, new ones start. Nothing changes until [`Shared::start_next`].
fn reload(config: &Path, current: &Generation, shared: &Shared) -> Result<Next, String> {
    let plan = match super::load(config) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            tracing::error!("reload rejected, the running config stays:\n{diagnostics}");
            return Err(format!("{} problems in the config", diagnostics.0.len()));
        }
    };
    let datasources = match shared.datasources.rebuild(&plan.datasources) {
        Ok(datasources) => datasources,
        Err(error) => {
            tracing::error!("reload rejected, the running config stays: {error:#}");
            return Err(format!("{error:#}"));
        }
    };
    // Jobs are plain data; their debug form is a faithful fingerprint of the definition.
    let before: std::collections::HashMap<&JobKey, String> = current
        .plan
        .jobs
        .iter()
        .map(|j| (&j.key, format!("{j:?}")))
        .collect();
    let changed: HashSet<JobKey> = plan
        .jobs
        .iter()
        .filter(|j| {
            before
                .get(&j.key)
                .is_some_and(|old| *old != format!("{j:?}"))
        })
        .map(|j| j.key.clone())
        .collect();
    let added = plan
        .jobs
        .iter()
        .filter(|j| !before.contains_key(&j.key))
        .count();
    let kept: HashSet<&JobKey> = plan.jobs.iter().map(|j| &j.key).collect();
    let removed = current
        .plan
        .jobs
        .iter()
        .filter(|j| !kept.contains(&j.key))
        .count();
    tracing::info!(
        jobs = plan.jobs.len(),
        added,
        removed,
        changed = changed.len(),
        "config reloaded"
    );
    let what = format!(
        "{} jobs, {added} added, {removed} removed, {} changed",
        plan.jobs.len(),
        changed.len()
    );
    Ok(Next {
        plan,
        datasources,
        changed,
        what,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Stop,
    Reload,
}

/// SIGTERM and SIGINT stop, SIGHUP reloads.
fn signals() -> anyhow::Result<mpsc::UnboundedReceiver<Signal>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let signal = tokio::select! {
                _ = term.recv() => Signal::Stop,
                _ = int.recv() => Signal::Stop,
                _ = hup.recv() => Signal::Reload,
            };
            if tx.send(signal).is_err() {
                break;
            }
        }
    });
    Ok(rx)
}

/// Rewrites the spool files every `settings.every` until `stop`, from whatever view is current
/// (a reload that changes the hosts changes the files at the next turn).
async fn spool_writer(settings: SpoolSettings, state: AppState, stop: CancellationToken) {
    let mut tick = tokio::time::interval(settings.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let status = state.self_status();
        let files = state
            .view
            .load()
            .spool_files(&state.board, &status, state.clock.now_ms());
        let (dir, every) = (settings.dir.clone(), settings.every);
        let written =
            tokio::task::spawn_blocking(move || crate::spool::write(&dir, every, &files)).await;
        match written {
            Ok(Ok(())) if failing => {
                tracing::info!(dir = %settings.dir.display(), "spool files written again");
                failing = false;
            }
            Ok(Ok(())) => {}
            Ok(Err(error)) if !failing => {
                tracing::error!(dir = %settings.dir.display(), "cannot write spool files: {error}");
                failing = true;
            }
            Ok(Err(_)) => {}
            Err(error) => tracing::error!("spool writer failed: {error}"),
        }
    }
}

/// Tells systemd (`Type=notify`) about the daemon's state; a no-op outside systemd.
fn notify(state: &[NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(state) {
        tracing::debug!("sd_notify: {error}");
    }
}

/// Pings systemd's watchdog while the scheduler loop turns, so a stuck scheduler is
/// restarted; until `stop`.
async fn watchdog(timeout: Duration, stats: Arc<Stats>, clock: Clock, stop: CancellationToken) {
    let mut tick = tokio::time::interval(timeout / 3);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let heartbeat = stats.snapshot().heartbeat_ms;
        let alive = clock.now_ms().saturating_sub(heartbeat)
            < i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX) / 2;
        if alive {
            notify(&[NotifyState::Watchdog]);
        }
    }
}
