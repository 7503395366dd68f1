//! The scheduler loop over one plan: a queue of due times, at most a bound of runs in flight,
//! a heartbeat every second. When a job is due, and what its run does, is the
//! [`Timetable`]'s: the local [`Grid`], or the fleet's [`Slots`] when the instance shares the
//! work. The loop deliberately knows neither grids nor slots, nor how a run is done (the
//! [`Executor`]).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Arc;

use checkd_model::placement::Decision;
use checkd_model::plan::Plan;
use checkd_model::JobKey;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Duration};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::fleet::{Fleet, Slots};
use crate::grid::Grid;
use crate::timetable::{Timetable, HEARTBEAT};
use crate::Executor;

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
    ///
    /// [`Board::load`]: crate::Board::load
    pub async fn load_persisted(&self) -> usize {
        self.executor
            .board()
            .load(self.executor.store().as_ref(), &self.plan)
            .await
    }

    /// Runs until `cancel` fires, then waits for the runs in flight (the caller bounds that
    /// wait with [`Scheduler::drain`]). The jobs are timed by the fleet's slots when this
    /// instance is in a fleet, else by its own grid.
    pub async fn run(&self, cancel: CancellationToken) {
        let clock = self.executor.clock();
        match &self.fleet {
            Some(fleet) => {
                let slots = Slots::new(Arc::clone(fleet), &self.plan, clock);
                self.run_on(Arc::new(slots), cancel).await;
            }
            None => {
                let grid = Grid::new(&self.plan, clock);
                self.run_on(Arc::new(grid), cancel).await;
            }
        }
    }

    async fn run_on<T: Timetable>(&self, timetable: Arc<T>, cancel: CancellationToken) {
        let clock = self.executor.clock();
        let mut queue = BinaryHeap::new();
        // What the timetable remembers of each job, in plan order.
        let mut points: Vec<T::Point> = Vec::with_capacity(self.plan.jobs.len());
        for (index, job) in self.plan.jobs.iter().enumerate() {
            let record = self.executor.board().get(&job.key);
            let fresh = record
                .as_deref()
                .filter(|r| r.is_fresh(clock.now_ms()) && !self.due_now.contains(&job.key));
            let (due, point) = timetable.first(job, fresh);
            points.push(point);
            // Only jobs this instance may run are scheduled; skipped ones are shown, not run.
            if job.placement.decide(&self.plan.execution_environment) == Decision::Run {
                queue.push(Reverse((due, index)));
            }
        }
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<usize>();
        let limit = timetable.bound();
        let mut running = 0usize;
        loop {
            self.executor.stats().beat(clock.now_ms());
            let next_due = queue
                .peek()
                .filter(|_| running < limit)
                .map(|Reverse((due, _))| *due);
            let heartbeat = checkd_clock::now() + HEARTBEAT;
            let wake = next_due.map_or(heartbeat, |due| due.min(heartbeat));
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                Some(index) = done_rx.recv() => {
                    running = running.saturating_sub(1);
                    if let Some(job) = self.plan.jobs.get(index) {
                        let held_back = self
                            .executor
                            .board()
                            .get(&job.key)
                            .is_some_and(|r| r.soft.is_some());
                        let (due, point) = timetable.next(job, points[index], held_back);
                        points[index] = point;
                        queue.push(Reverse((due, index)));
                    }
                }
                () = sleep_until(wake) => {
                    let now = checkd_clock::now();
                    while let Some(Reverse((due, index))) = queue.peek().copied() {
                        if due > now || running >= limit {
                            break;
                        }
                        running += 1;
                        queue.pop();
                        let lag = now.saturating_duration_since(due);
                        self.executor.stats().lag(u64::try_from(lag.as_millis()).unwrap_or(u64::MAX));
                        self.spawn_run(&timetable, index, points[index], done_tx.clone());
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

    fn spawn_run<T: Timetable>(
        &self,
        timetable: &Arc<T>,
        index: usize,
        point: T::Point,
        done: mpsc::UnboundedSender<usize>,
    ) {
        let timetable = Arc::clone(timetable);
        let executor = Arc::clone(&self.executor);
        let plan = Arc::clone(&self.plan);
        self.tracker.spawn(async move {
            if let Some(job) = plan.jobs.get(index) {
                timetable.run(job, point, &executor).await;
            }
            // The loop may have stopped; then nobody needs the next due time.
            let _ = done.send(index);
        });
    }
}
