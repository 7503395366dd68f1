//! When a job is due: the one seam between the scheduler loop and the two ways of timing jobs.
//! A [`Timetable`] says when each job is first due, when it is due again after a run, how many
//! runs may be in flight, and what a due run does. [`crate::grid::Grid`] times the jobs of an
//! instance that works alone; [`crate::fleet::Slots`] times them in wall-clock slots every
//! instance of a fleet agrees on and lets the slot's lease decide who runs it.
//!
//! It deliberately holds no queue, task or permit (the loop and the executor do) and keeps no
//! state of its own between calls: what it needs to remember of a job is the job's
//! [`Timetable::Point`], which the loop keeps beside its queue entry.

use std::future::Future;

use checkd_model::plan::Job;
use checkd_model::RunRecord;
use tokio::time::{Duration, Instant};

use crate::Executor;

/// How often the loop turns even with nothing due, so the heartbeat shows it is alive; also
/// how far ahead a job is put that has nothing better to wait for.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(1);

/// When the jobs of one plan are due, and what their runs do.
pub(crate) trait Timetable: Send + Sync + 'static {
    /// What a timetable remembers of one job between its runs (a grid point, a slot).
    type Point: Copy + Send + 'static;

    /// When `job` is first due. `fresh` is its record if that is still fresh (and a reload
    /// did not change the job).
    fn first(&self, job: &Job, fresh: Option<&RunRecord>) -> (Instant, Self::Point);

    /// When `job` is due again after the run at `last` finished. `held_back`: its record holds
    /// back a non-OK result (`retries`), which is re-checked every `retry.interval`.
    fn next(&self, job: &Job, last: Self::Point, held_back: bool) -> (Instant, Self::Point);

    /// How many runs the loop may have in flight at once; further due jobs wait in its queue.
    fn bound(&self) -> usize;

    /// The run of `job` that is due at `point`.
    fn run<'a>(
        &'a self,
        job: &'a Job,
        point: Self::Point,
        executor: &'a Executor,
    ) -> impl Future<Output = ()> + Send + 'a;
}

/// `d` in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
