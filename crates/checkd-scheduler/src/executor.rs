use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use checkd_clock::Clock;
use checkd_datasource::{Datasources, Outcome};
use checkd_model::plan::{Job, Plan};
use checkd_model::{RunRecord, ServiceResult, SoftFailure, State, Unavailable};
use checkd_store::{records, Store};
use tokio::sync::Semaphore;
use tokio::time::{timeout, Duration, Instant};

use crate::{Board, Stats};

/// How long the executor lets a run go on before it cancels it: the job's timeout plus a
/// grace. Runners honour `job.timeout` themselves and report what ran out (`GET <url>` timed
/// out, a command killed); the executor only stops a runner that overran it, so the reason a
/// check shows does not depend on which of two equal deadlines the runtime polled first.
fn backstop(job_timeout: Duration) -> Duration {
    job_timeout + (job_timeout / 10).min(Duration::from_secs(1))
}

/// What actually runs a job's probe. The datasources in production; tests may count calls.
#[async_trait]
pub trait Runner: Send + Sync + 'static {
    async fn run(&self, job: &Job) -> Outcome;
}

#[async_trait]
impl Runner for Datasources {
    async fn run(&self, job: &Job) -> Outcome {
        Datasources::run(self, job).await
    }
}

/// Runs single jobs: waits for a global and a per-datasource permit, runs the probe under the
/// job's timeout, folds the outcome into the job's record and keeps it on the board and in
/// the store. Shared by the scheduler loop and `checkd once`.
#[derive(Debug)]
pub struct Executor<R> {
    runner: R,
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

impl<R: Runner> Executor<R> {
    pub fn new(
        plan: &Plan,
        runner: R,
        board: Arc<Board>,
        store: Arc<dyn Store>,
        clock: Clock,
    ) -> Executor<R> {
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
    pub fn with_stats(mut self, stats: Arc<Stats>) -> Executor<R> {
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
        let started = Instant::now();
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

/// Folds one outcome into a job's record (result semantics 1–5): an evaluated run replaces
/// the services; an unavailable datasource keeps the earlier services and records since when
/// and why, so an error is never cached as a success.
pub fn apply(
    job: &Job,
    previous: Option<&RunRecord>,
    outcome: Outcome,
    started_ms: i64,
    duration: Duration,
) -> RunRecord {
    let valid_for_s = job.schedule.validity(started_ms).as_secs();
    let duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Outcome::Evaluated(services) => {
            if let Some(held) = hold_back(job, previous, &services, started_ms, valid_for_s) {
                return held;
            }
            RunRecord {
                key: job.key.clone(),
                host: job.host.clone(),
                services,
                produced_ms: started_ms,
                duration_ms,
                valid_for_s,
                attempted_ms: started_ms,
                unavailable: None,
                soft: None,
            }
        }
        Outcome::Unavailable(reason) => {
            let since_ms = previous
                .and_then(|p| p.unavailable.as_ref())
                .map_or(started_ms, |u| u.since_ms);
            let unavailable = Some(Unavailable { since_ms, reason });
            match previous {
                Some(previous) => RunRecord {
                    host: job.host.clone(),
                    attempted_ms: started_ms,
                    valid_for_s,
                    unavailable,
                    ..previous.clone()
                },
                None => RunRecord {
                    key: job.key.clone(),
                    host: job.host.clone(),
                    services: Vec::new(),
                    produced_ms: started_ms,
                    duration_ms,
                    valid_for_s,
                    attempted_ms: started_ms,
                    unavailable,
                    soft: None,
                },
            }
        }
    }
}

/// With `retries`, a non-OK run after an OK result is held back: the OK services stay and
/// the record counts the attempt, until `retries + 1` non-OK runs in a row make it reported.
fn hold_back(
    job: &Job,
    previous: Option<&RunRecord>,
    services: &[ServiceResult],
    started_ms: i64,
    valid_for_s: u64,
) -> Option<RunRecord> {
    let previous = previous.filter(|p| !p.services.is_empty() && p.worst_state() == State::Ok)?;
    let worst = services.iter().max_by_key(|s| s.state)?;
    if worst.state == State::Ok || job.retry.retries == 0 {
        return None;
    }
    let attempt = previous.soft.as_ref().map_or(1, |s| s.attempt + 1);
    if attempt > job.retry.retries {
        return None;
    }
    Some(RunRecord {
        host: job.host.clone(),
        attempted_ms: started_ms,
        valid_for_s,
        unavailable: None,
        soft: Some(SoftFailure {
            attempt,
            of: job.retry.retries + 1,
            state: worst.state,
            summary: worst.summary.clone(),
        }),
        ..previous.clone()
    })
}

fn humanize(d: Duration) -> String {
    // Whole milliseconds read better than humantime's nanosecond precision.
    let ms = Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    checkd_model::serve::format_duration(ms)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use checkd_model::{ServiceResult, State};

    use super::*;

    fn job() -> Job {
        Job {
            service: "API".into(),
            ..checkd_model::testing::job("api", "prod")
        }
    }

    fn evaluated(state: State) -> Outcome {
        Outcome::Evaluated(vec![ServiceResult {
            service: "API".into(),
            state,
            summary: state.to_string(),
            details: String::new(),
            metrics: vec![],
            labels: BTreeMap::new(),
        }])
    }

    #[test]
    fn an_outage_keeps_the_last_services_and_remembers_when_it_began() {
        let job = job();
        let ok = apply(
            &job,
            None,
            evaluated(State::Crit),
            1_000,
            Duration::from_millis(3),
        );
        assert_eq!(
            (
                ok.produced_ms,
                ok.attempted_ms,
                ok.valid_for_s,
                ok.duration_ms
            ),
            (1_000, 1_000, 60, 3)
        );

        let down = apply(
            &job,
            Some(&ok),
            Outcome::Unavailable("refused".into()),
            61_000,
            Duration::ZERO,
        );
        assert_eq!(
            down.services, ok.services,
            "a failure never replaces a result"
        );
        assert_eq!((down.produced_ms, down.attempted_ms), (1_000, 61_000));
        assert_eq!(
            down.unavailable,
            Some(Unavailable {
                since_ms: 61_000,
                reason: "refused".into()
            })
        );

        let still_down = apply(
            &job,
            Some(&down),
            Outcome::Unavailable("timed out".into()),
            121_000,
            Duration::ZERO,
        );
        assert_eq!(
            still_down.unavailable,
            Some(Unavailable {
                since_ms: 61_000,
                reason: "timed out".into()
            })
        );

        let back = apply(
            &job,
            Some(&still_down),
            evaluated(State::Ok),
            181_000,
            Duration::ZERO,
        );
        assert_eq!(
            (back.produced_ms, back.unavailable.clone()),
            (181_000, None)
        );
        assert_eq!(back.services[0].state, State::Ok);
    }

    #[test]
    fn retries_hold_a_non_ok_result_back_until_it_repeats_and_ok_recovers_at_once() {
        let job = Job {
            retry: checkd_model::plan::Retry {
                retries: 2,
                interval: Duration::from_secs(10),
            },
            ..job()
        };
        let ok = apply(&job, None, evaluated(State::Ok), 0, Duration::ZERO);
        let first = apply(
            &job,
            Some(&ok),
            evaluated(State::Crit),
            60_000,
            Duration::ZERO,
        );
        assert_eq!(first.services, ok.services, "still the OK result");
        assert_eq!(
            first.soft.as_ref().map(|s| (s.attempt, s.of, s.state)),
            Some((1, 3, State::Crit))
        );
        let second = apply(
            &job,
            Some(&first),
            evaluated(State::Warn),
            70_000,
            Duration::ZERO,
        );
        assert_eq!(
            second.soft.as_ref().map(|s| (s.attempt, s.state)),
            Some((2, State::Warn))
        );
        let third = apply(
            &job,
            Some(&second),
            evaluated(State::Crit),
            80_000,
            Duration::ZERO,
        );
        assert_eq!(
            (third.worst_state(), third.soft.clone()),
            (State::Crit, None),
            "reported on the third"
        );
        let fourth = apply(
            &job,
            Some(&third),
            evaluated(State::Crit),
            90_000,
            Duration::ZERO,
        );
        assert_eq!(
            (fourth.worst_state(), fourth.soft.clone()),
            (State::Crit, None),
            "stays reported"
        );

        let recovered = apply(
            &job,
            Some(&second),
            evaluated(State::Ok),
            80_000,
            Duration::ZERO,
        );
        assert_eq!(
            (recovered.worst_state(), recovered.soft.clone()),
            (State::Ok, None)
        );
        // Without an OK result to fall back on, a non-OK result is reported at once.
        let fresh = apply(&job, None, evaluated(State::Crit), 0, Duration::ZERO);
        assert_eq!((fresh.worst_state(), fresh.soft), (State::Crit, None));
    }

    #[test]
    fn an_outage_without_an_earlier_result_has_no_services() {
        let down = apply(
            &job(),
            None,
            Outcome::Unavailable("refused".into()),
            5_000,
            Duration::ZERO,
        );
        assert!(down.services.is_empty());
        assert_eq!(down.unavailable.map(|u| u.since_ms), Some(5_000));
    }
}
