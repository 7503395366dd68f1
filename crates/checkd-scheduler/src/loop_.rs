use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Arc;

use checkd_clock::Clock;
use checkd_model::placement::Decision;
use checkd_model::plan::{Plan, Schedule};
use checkd_model::JobKey;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::fleet::{Claim, Fleet};
use crate::Executor;

/// How often the loop turns even with nothing due, so the heartbeat shows it is alive.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// The scheduler loop over one plan.
#[derive(Debug)]
pub struct Scheduler {
    plan: Arc<Plan>,
    executor: Arc<Executor>,
    tracker: TaskTracker,
    /// Jobs that run at once even with a fresh record (their definition changed on reload).
    due_now: HashSet<JobKey>,
    /// Set when several instances share the work (see [`crate::fleet`]).
    fleet: Option<Arc<Fleet>>,
}

impl Scheduler {
    pub fn new(plan: Arc<Plan>, executor: Arc<Executor>) -> Scheduler {
        Scheduler {
            plan,
            executor,
            tracker: TaskTracker::new(),
            due_now: HashSet::new(),
            fleet: None,
        }
    }

    /// Shares the work with the other instances of `fleet`: jobs are due in slots every
    /// instance agrees on, and each slot runs on the instance that gets its lease.
    pub fn with_fleet(mut self, fleet: Arc<Fleet>) -> Scheduler {
        self.fleet = Some(fleet);
        self
    }

    /// Runs these jobs at once, fresh record or not: a reload changed their definition.
    pub fn with_due_now(mut self, keys: HashSet<JobKey>) -> Scheduler {
        self.due_now = keys;
        self
    }

    /// Puts every persisted record of the plan's jobs on the board (see [`Board::load`]).
    pub async fn load_persisted(&self) -> usize {
        self.executor
            .board()
            .load(self.executor.store().as_ref(), &self.plan)
            .await
    }

    /// Runs until `cancel` fires, then waits for the runs in flight (the caller bounds that
    /// wait with [`Scheduler::drain`]).
    pub async fn run(&self, cancel: CancellationToken) {
        let clock = self.executor.clock();
        let mut queue: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
        // Every interval job keeps a fixed random phase on a grid anchored at its first due
        // time, so a fleet spreads out and no job drifts.
        let mut grid: Vec<(Instant, Duration)> = Vec::with_capacity(self.plan.jobs.len());
        // In a fleet: the slot (wall-clock due time) each job is queued for.
        let mut slots: Vec<i64> = vec![0; self.plan.jobs.len()];
        for (index, job) in self.plan.jobs.iter().enumerate() {
            let board_record = self.executor.board().get(&job.key);
            let fresh = board_record
                .as_ref()
                .filter(|r| r.is_fresh(clock.now_ms()) && !self.due_now.contains(&job.key));
            if let Some(fleet) = &self.fleet {
                slots[index] = self.first_slot(fleet, job, fresh.is_none());
                grid.push((Instant::now(), Duration::ZERO));
                if job.placement.decide(&self.plan.execution_environment) == Decision::Run {
                    queue.push(Reverse((clock.instant_at(slots[index]), index)));
                }
                continue;
            }
            let due = match (fresh, &job.schedule) {
                (None, _) => Instant::now(),
                (Some(record), Schedule::Every(interval)) => {
                    let expires = record.attempted_ms.saturating_add(millis(*interval));
                    clock.instant_at(expires) + splay(*interval, self.plan.scheduler.splay)
                }
                (Some(_), Schedule::Cron { .. }) => next_cron_instant(&job.schedule, &clock),
            };
            let phase = match job.schedule {
                Schedule::Every(interval) => splay(interval, self.plan.scheduler.splay),
                Schedule::Cron { .. } => Duration::ZERO,
            };
            grid.push((due, phase));
            // Only jobs this instance may run are scheduled; skipped ones are shown, not run.
            if job.placement.decide(&self.plan.execution_environment) == Decision::Run {
                queue.push(Reverse((due, index)));
            }
        }
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<usize>();
        // Runs in flight. Due jobs wait in the queue, not as spawned tasks, while the limit is
        // reached: 20,000 tasks parked on a semaphore were a tenth of the daemon's memory. Not
        // in a fleet: there most tasks follow, waiting for another instance's result, and must
        // not hold back the jobs due meanwhile (the executor's permits bound the real runs).
        let limit = match self.fleet {
            Some(_) => usize::MAX,
            None => self.plan.scheduler.max_concurrency.max(1),
        };
        let mut running = 0usize;
        loop {
            self.executor.stats().beat(clock.now_ms());
            let next_due = queue
                .peek()
                .filter(|_| running < limit)
                .map(|Reverse((due, _))| *due);
            let wake = next_due.map_or(Instant::now() + HEARTBEAT, |due| {
                due.min(Instant::now() + HEARTBEAT)
            });
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                Some(index) = done_rx.recv() => {
                    running = running.saturating_sub(1);
                    let due = match &self.fleet {
                        Some(fleet) => {
                            slots[index] = self.next_slot(fleet, index, slots[index]);
                            clock.instant_at(slots[index])
                        }
                        None => self.next_due(index, grid[index]),
                    };
                    queue.push(Reverse((due, index)));
                }
                () = sleep_until(wake) => {
                    let now = Instant::now();
                    while let Some(Reverse((due, index))) = queue.peek().copied() {
                        if due > now || running >= limit {
                            break;
                        }
                        running += 1;
                        queue.pop();
                        let lag = now.saturating_duration_since(due);
                        self.executor.stats().lag(u64::try_from(lag.as_millis()).unwrap_or(u64::MAX));
                        self.spawn_run(index, slots[index], done_tx.clone());
                    }
                }
            }
        }
        self.tracker.close();
    }

    /// Runs spawned and not yet finished. Outside a fleet the loop keeps at most
    /// `scheduler.max_concurrency` of them; further due jobs wait in its queue.
    pub fn runs_in_flight(&self) -> usize {
        self.tracker.len()
    }

    /// Waits up to `deadline` for the runs in flight; returns whether all finished.
    pub async fn drain(&self, deadline: Duration) -> bool {
        self.tracker.close();
        tokio::time::timeout(deadline, self.tracker.wait())
            .await
            .is_ok()
    }

    fn spawn_run(&self, index: usize, slot_ms: i64, done: mpsc::UnboundedSender<usize>) {
        let executor = Arc::clone(&self.executor);
        let plan = Arc::clone(&self.plan);
        let fleet = self.fleet.clone();
        self.tracker.spawn(async move {
            if let Some(job) = plan.jobs.get(index) {
                let claim = match &fleet {
                    Some(fleet) => fleet.claim(job, slot_ms).await,
                    None => Claim::Run,
                };
                match (claim, &fleet) {
                    (Claim::Follow, Some(fleet)) => {
                        fleet
                            .follow(job, slot_ms, executor.board(), &executor.clock())
                            .await;
                    }
                    _ => {
                        executor.execute(job).await;
                    }
                }
            }
            // The loop may have stopped; then nobody needs the next due time.
            let _ = done.send(index);
        });
    }

    /// When a job runs next, after a run: the next point of its grid (first due time + phase
    /// + k × interval) that is still ahead, skipping those a slow run missed.
    fn next_due(&self, index: usize, (anchor, phase): (Instant, Duration)) -> Instant {
        let Some(job) = self.plan.jobs.get(index) else {
            return Instant::now() + HEARTBEAT;
        };
        let held_back = self
            .executor
            .board()
            .get(&job.key)
            .is_some_and(|r| r.soft.is_some());
        if held_back && !job.retry.interval.is_zero() {
            return Instant::now() + job.retry.interval;
        }
        match &job.schedule {
            Schedule::Every(interval) => {
                let base = anchor + phase;
                let now = Instant::now();
                if *interval == Duration::ZERO {
                    return now + HEARTBEAT;
                }
                if now < base + *interval {
                    return base + *interval;
                }
                let periods = now.duration_since(base).as_nanos() / interval.as_nanos() + 1;
                base + interval.saturating_mul(u32::try_from(periods).unwrap_or(u32::MAX))
            }
            Schedule::Cron { .. } => next_cron_instant(&job.schedule, &self.executor.clock()),
        }
    }
}

impl Scheduler {
    /// A job's first slot in a fleet: the current one when it has no fresh record (every
    /// instance that starts within it agrees on it), else the next.
    fn first_slot(&self, fleet: &Fleet, job: &checkd_model::plan::Job, catch_up: bool) -> i64 {
        let now_ms = self.executor.clock().now_ms();
        match &job.schedule {
            Schedule::Every(interval) => {
                fleet.slot_ms(job, *interval, self.plan.scheduler.splay, now_ms, catch_up)
            }
            // Cron times are whole minutes: instances starting within one agree on it.
            Schedule::Cron { .. } if catch_up => now_ms - now_ms.rem_euclid(60_000),
            Schedule::Cron { .. } => job
                .schedule
                .next_cron_ms(now_ms)
                .unwrap_or(now_ms + 86_400_000),
        }
    }

    /// The slot after `last` (skipping those already past), or the next retry: held-back
    /// results retry on a grid of the retry interval, so instances agree on those slots too.
    fn next_slot(&self, fleet: &Fleet, index: usize, last: i64) -> i64 {
        let now_ms = self.executor.clock().now_ms();
        let Some(job) = self.plan.jobs.get(index) else {
            return now_ms + millis(HEARTBEAT);
        };
        let held_back = self
            .executor
            .board()
            .get(&job.key)
            .is_some_and(|r| r.soft.is_some());
        let retry_ms = millis(job.retry.interval);
        if held_back && retry_ms > 0 {
            return (now_ms / retry_ms + 1) * retry_ms;
        }
        match &job.schedule {
            Schedule::Every(interval) => {
                let next = fleet.slot_ms(job, *interval, self.plan.scheduler.splay, now_ms, false);
                if next > last {
                    next
                } else {
                    last + millis(*interval).max(1)
                }
            }
            Schedule::Cron { .. } => job
                .schedule
                .next_cron_ms(now_ms.max(last))
                .unwrap_or(now_ms + 86_400_000),
        }
    }
}

fn next_cron_instant(schedule: &Schedule, clock: &Clock) -> Instant {
    match schedule.next_cron_ms(clock.now_ms()) {
        Some(ms) => clock.instant_at(ms),
        // A pattern with no future time never runs again; look again in a day.
        None => Instant::now() + Duration::from_secs(86_400),
    }
}

/// A random delay in `[0, fraction × interval)`, so jobs that expire together spread out.
fn splay(interval: Duration, fraction: f64) -> Duration {
    if fraction <= 0.0 {
        return Duration::ZERO;
    }
    interval.mul_f64(fraction.min(1.0) * rand::random::<f64>())
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
