//! The local grid: when a job is due on an instance that times its jobs alone. An interval job
//! keeps a fixed random phase (`scheduler.splay`) on a grid anchored at its first due time, so
//! jobs that expire together spread out and no job drifts; a cron job runs at its fire times; a
//! held-back failure is re-checked every `retry.interval`. At most `scheduler.max_concurrency`
//! runs are in flight.
//!
//! It deliberately knows nothing of other instances: in a fleet, [`crate::fleet::Slots`] times
//! the jobs instead, on a grid every instance agrees on.

use checkd_clock::Clock;
use checkd_model::plan::{Job, Plan, Schedule};
use checkd_model::RunRecord;
use tokio::time::{Duration, Instant};

use crate::timetable::{millis, Timetable, HEARTBEAT};
use crate::Executor;

/// The timetable of an instance that works alone.
#[derive(Debug)]
pub(crate) struct Grid {
    clock: Clock,
    splay: f64,
    max_concurrency: usize,
}

/// A job's place on the grid: its first due time and its phase.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Point {
    anchor: Instant,
    phase: Duration,
}

impl Grid {
    pub(crate) fn new(plan: &Plan, clock: Clock) -> Grid {
        Grid {
            clock,
            splay: plan.scheduler.splay,
            max_concurrency: plan.scheduler.max_concurrency.max(1),
        }
    }
}

impl Timetable for Grid {
    type Point = Point;

    fn first(&self, job: &Job, fresh: Option<&RunRecord>) -> (Instant, Point) {
        let due = match (fresh, &job.schedule) {
            (None, _) => checkd_clock::now(),
            (Some(record), Schedule::Every(interval)) => {
                let expires = record.attempted_ms.saturating_add(millis(*interval));
                self.clock.instant_at(expires) + splay(*interval, self.splay)
            }
            (Some(_), Schedule::Cron { .. }) => next_cron_instant(&job.schedule, &self.clock),
        };
        let phase = match job.schedule {
            Schedule::Every(interval) => splay(interval, self.splay),
            Schedule::Cron { .. } => Duration::ZERO,
        };
        let point = Point { anchor: due, phase };
        (due, point)
    }

    /// The next point of the job's grid (first due time + phase + k × interval) that is still
    /// ahead, skipping those a slow run missed; or the retry.
    fn next(&self, job: &Job, point: Point, held_back: bool) -> (Instant, Point) {
        let now = checkd_clock::now();
        if held_back && !job.retry.interval.is_zero() {
            return (now + job.retry.interval, point);
        }
        let due = match &job.schedule {
            Schedule::Every(interval) => {
                let base = point.anchor + point.phase;
                if *interval == Duration::ZERO {
                    now + HEARTBEAT
                } else if now < base + *interval {
                    base + *interval
                } else {
                    let periods = now.duration_since(base).as_nanos() / interval.as_nanos() + 1;
                    base + interval.saturating_mul(u32::try_from(periods).unwrap_or(u32::MAX))
                }
            }
            Schedule::Cron { .. } => next_cron_instant(&job.schedule, &self.clock),
        };
        (due, point)
    }

    /// Due jobs wait in the loop's queue, not as spawned tasks, while the limit is reached:
    /// 20,000 tasks parked on a semaphore were a tenth of the daemon's memory.
    fn bound(&self) -> usize {
        self.max_concurrency
    }

    async fn run(&self, job: &Job, _: Point, executor: &Executor) {
        executor.execute(job).await;
    }
}

fn next_cron_instant(schedule: &Schedule, clock: &Clock) -> Instant {
    match schedule.next_cron_ms(clock.now_ms()) {
        Some(ms) => clock.instant_at(ms),
        // A pattern with no future time never runs again; look again in a day.
        None => checkd_clock::now() + Duration::from_secs(86_400),
    }
}

/// A random delay in `[0, fraction × interval)`, so jobs that expire together spread out.
fn splay(interval: Duration, fraction: f64) -> Duration {
    if fraction <= 0.0 {
        return Duration::ZERO;
    }
    interval.mul_f64(fraction.min(1.0) * rand::random::<f64>())
}
