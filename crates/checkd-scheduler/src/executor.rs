//! One run of one job: [`Executor::execute`] waits for a global and a per-datasource permit,
//! runs the job through the [`Runner`] under a backstop a little past its timeout, folds the
//! outcome into the job's record with `checkd_model::apply` and keeps the record on the board
//! and, bounded, in the store. Shared by the scheduler loop and `checkd once`.
//!
//! It deliberately does not decide when a job runs (the loop's timetable does), how a probe is
//! done (the binary's runner, with checkd-datasource) or what an outcome means for the record
//! (the model).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use checkd_clock::Clock;
use checkd_model::plan::{Job, Plan};
use checkd_model::{apply, Outcome, RunRecord};
use checkd_store::{records, Store};
use tokio::sync::Semaphore;
use tokio::time::{timeout, Duration};

use crate::{Board, Stats};

/// How long the executor lets a run go on before it cancels it: the job's timeout plus a
/// grace. Runners honour `job.timeout` themselves and report what ran out (`GET <url>` timed
/// out, a command killed); the executor only stops a runner that overran it, so the reason a
/// check shows does not depend on which of two equal deadlines the runtime polled first.
fn backstop(job_timeout: Duration) -> Duration {
    job_timeout + (job_timeout / 10).min(Duration::from_secs(1))
}

/// What actually runs a job's probe and says what came of it. The binary implements it with
/// checkd-datasource, which the scheduler does not depend on; tests implement it to count and
/// time runs. A runner honours `job.timeout` itself and never fails: a failing check is an
/// [`Outcome`].
#[async_trait]
pub trait Runner: std::fmt::Debug + Send + Sync + 'static {
    async fn run(&self, job: &Job) -> Outcome;
}

/// Runs single jobs: waits for a global and a per-datasource permit, runs the probe under the
/// job's timeout, folds the outcome into the job's record and keeps it on the board and in
/// the store. Shared by the scheduler loop and `checkd once`.
#[derive(Debug)]
pub struct Executor {
    runner: Arc<dyn Runner>,
    global: Arc<Semaphore>,
    per_datasource: HashMap<String, Arc<Semaphore>>,
    board: Arc<Board>,
    store: Arc<dyn Store>,
    clock: Clock,
    producer: String,
    stats: Arc<Stats>,
    /// Bound on one store write, so a slow layer never holds up a check.
    store_timeout: Duration,
}

impl Executor {
    pub fn new(
        plan: &Plan,
        runner: Arc<dyn Runner>,
        board: Arc<Board>,
        store: Arc<dyn Store>,
        clock: Clock,
    ) -> Executor {
        let per_datasource = plan
            .datasources
            .iter()
            .map(|(name, ds)| {
                (
                    name.clone(),
                    Arc::new(Semaphore::new(ds.max_concurrency().max(1))),
                )
            })
            .collect();
        Executor {
            runner,
            global: Arc::new(Semaphore::new(plan.scheduler.max_concurrency.max(1))),
            per_datasource,
            board,
            store,
            clock,
            producer: plan.execution_environment.clone(),
            stats: Arc::new(Stats::default()),
            store_timeout: Duration::from_millis(500),
        }
    }

    /// Counts into `stats` instead of a fresh set, so counters and the heartbeat carry over
    /// a reload.
    pub fn with_stats(mut self, stats: Arc<Stats>) -> Executor {
        self.stats = stats;
        self
    }

    pub fn board(&self) -> &Arc<Board> {
        &self.board
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs `job` once and returns its new record.
    pub async fn execute(&self, job: &Job) -> Arc<RunRecord> {
        // The semaphores are never closed, so acquiring cannot fail; if it ever did, running
        // without the permit beats never running the check.
        let _global = self.global.acquire().await.ok();
        let _datasource = match self.per_datasource.get(&job.datasource) {
            Some(semaphore) => semaphore.acquire().await.ok(),
            None => None,
        };
        let started_ms = self.clock.now_ms();
        let started = checkd_clock::now();
        let outcome = match timeout(backstop(job.timeout), self.runner.run(job)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Unavailable(format!("timed out after {}", humanize(job.timeout))),
        };
        let duration = started.elapsed();
        let unavailable = matches!(outcome, Outcome::Unavailable(_));
        // Whoever stopped it, a run that got no answer within its timeout timed out.
        let timed_out = unavailable && duration >= job.timeout;
        self.stats.run_finished(duration, timed_out, unavailable);
        let previous = self.board.get(&job.key);
        let record = Arc::new(apply(
            job,
            previous.as_deref(),
            outcome,
            started_ms,
            duration,
        ));
        self.board.insert(Arc::clone(&record));
        self.persist(&record).await;
        record
    }

    async fn persist(&self, record: &RunRecord) {
        let key = records::key(&record.key);
        let write = async {
            let entry = records::encode(record, &self.producer)?;
            // The board is the in-memory copy: only layers beyond this process get one.
            self.store.persist(&key, entry).await
        };
        match timeout(self.store_timeout, write).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%key, error = %error, "could not store result"),
            Err(_) => tracing::warn!(%key, layer = self.store.name(), "storing result timed out"),
        }
    }
}

fn humanize(d: Duration) -> String {
    // Whole milliseconds read better than humantime's nanosecond precision.
    let ms = Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    checkd_model::serve::format_duration(ms)
}
