//! The fleet's timetable: jobs are due in wall-clock *slots* every instance agrees on — an
//! interval job on `k × interval + phase` (the phase a hash of the job key), a cron job at its
//! fire times, a held-back failure on a grid of its retry interval — and a due slot runs where
//! its lease was taken; the other instances follow the owner's result (see [`super`]).
//!
//! It deliberately keeps no state per job but the slot the loop hands back, and does not bound
//! the runs in flight: most of them follow another instance's result and must not hold back
//! the jobs due meanwhile (the executor's permits bound the real runs).

use std::sync::Arc;

use checkd_clock::Clock;
use checkd_model::plan::{Job, Plan, Schedule};
use checkd_model::RunRecord;
use tokio::time::Instant;

use super::{Claim, Fleet, Followed};
use crate::timetable::{millis, Timetable};
use crate::Executor;

/// A day: how far ahead a cron job with no future fire time looks again.
const DAY_MS: i64 = 86_400_000;

/// The timetable of an instance in a fleet.
#[derive(Debug)]
pub(crate) struct Slots {
    fleet: Arc<Fleet>,
    clock: Clock,
    splay: f64,
}

impl Slots {
    pub(crate) fn new(fleet: Arc<Fleet>, plan: &Plan, clock: Clock) -> Slots {
        Slots {
            fleet,
            clock,
            splay: plan.scheduler.splay,
        }
    }
}

impl Timetable for Slots {
    /// The slot's wall-clock due time, in Unix milliseconds: it names the slot's lease.
    type Point = i64;

    /// The current slot when the job has no fresh record (every instance that starts within
    /// it agrees on it), else the next.
    fn first(&self, job: &Job, fresh: Option<&RunRecord>) -> (Instant, i64) {
        let now_ms = self.clock.now_ms();
        let catch_up = fresh.is_none();
        let slot = match &job.schedule {
            Schedule::Every(interval) => self
                .fleet
                .slot_ms(job, *interval, self.splay, now_ms, catch_up),
            // Cron times are whole minutes: instances starting within one agree on it.
            Schedule::Cron { .. } if catch_up => now_ms - now_ms.rem_euclid(60_000),
            Schedule::Cron { .. } => job.schedule.next_cron_ms(now_ms).unwrap_or(now_ms + DAY_MS),
        };
        (self.clock.instant_at(slot), slot)
    }

    /// The slot after `last` (skipping those already past), or the next retry: held-back
    /// results retry on a grid of the retry interval, so instances agree on those slots too.
    fn next(&self, job: &Job, last: i64, held_back: bool) -> (Instant, i64) {
        let now_ms = self.clock.now_ms();
        let retry_ms = millis(job.retry.interval);
        let slot = if held_back && retry_ms > 0 {
            (now_ms / retry_ms + 1) * retry_ms
        } else {
            match &job.schedule {
                Schedule::Every(interval) => {
                    let next = self
                        .fleet
                        .slot_ms(job, *interval, self.splay, now_ms, false);
                    if next > last {
                        next
                    } else {
                        last + millis(*interval).max(1)
                    }
                }
                Schedule::Cron { .. } => job
                    .schedule
                    .next_cron_ms(now_ms.max(last))
                    .unwrap_or(now_ms + DAY_MS),
            }
        };
        (self.clock.instant_at(slot), slot)
    }

    fn bound(&self) -> usize {
        usize::MAX
    }

    async fn run(&self, job: &Job, slot_ms: i64, executor: &Executor) {
        match self.fleet.claim(job, slot_ms).await {
            Claim::Run => {
                executor.execute(job).await;
            }
            Claim::Follow => {
                let followed = self
                    .fleet
                    .follow(job, slot_ms, executor.board(), &executor.clock())
                    .await;
                if followed == Followed::Unreachable {
                    // As when no lease can be asked for: availability over deduplication.
                    self.fleet.ran_without_lease();
                    executor.execute(job).await;
                }
            }
        }
    }
}
