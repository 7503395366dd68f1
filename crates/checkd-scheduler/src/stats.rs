//! The scheduler's counters for self-monitoring and metrics: runs, timeouts, unavailable
//! datasources, the lag of the last start, a run-duration histogram and the loop's heartbeat.
//! Plain atomics, never locked; it deliberately does not render them (the binary does).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the run-duration histogram, in seconds.
pub const RUN_DURATION_BUCKETS_S: [f64; 10] =
    [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Counters the scheduler keeps for self-monitoring and metrics.
#[derive(Debug, Default)]
pub struct Stats {
    runs: AtomicU64,
    timeouts: AtomicU64,
    unavailable: AtomicU64,
    lag_ms: AtomicU64,
    heartbeat_ms: AtomicI64,
    duration_sum_us: AtomicU64,
    /// Cumulative: runs that took at most each bound of [`RUN_DURATION_BUCKETS_S`].
    duration_buckets: [AtomicU64; RUN_DURATION_BUCKETS_S.len()],
}

/// A copy of [`Stats`] at one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatsSnapshot {
    pub runs: u64,
    pub timeouts: u64,
    pub unavailable: u64,
    /// How late the most recently started run started, in milliseconds.
    pub lag_ms: u64,
    /// Unix milliseconds of the scheduler loop's last turn.
    pub heartbeat_ms: i64,
    /// Total seconds of all runs, and runs per bound of [`RUN_DURATION_BUCKETS_S`] (cumulative).
    pub duration_sum_s: f64,
    pub duration_buckets: [u64; RUN_DURATION_BUCKETS_S.len()],
}

impl Stats {
    pub(crate) fn run_finished(&self, duration: Duration, timed_out: bool, unavailable: bool) {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.duration_sum_us.fetch_add(micros, Ordering::Relaxed);
        let seconds = duration.as_secs_f64();
        for (bound, count) in RUN_DURATION_BUCKETS_S.iter().zip(&self.duration_buckets) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        if timed_out {
            self.timeouts.fetch_add(1, Ordering::Relaxed);
        }
        if unavailable {
            self.unavailable.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn lag(&self, ms: u64) {
        self.lag_ms.store(ms, Ordering::Relaxed);
    }

    /// Records a turn of the scheduler loop (public so endpoint tests can fake one).
    pub fn beat(&self, now_ms: i64) {
        self.heartbeat_ms.store(now_ms, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            runs: self.runs.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            unavailable: self.unavailable.load(Ordering::Relaxed),
            lag_ms: self.lag_ms.load(Ordering::Relaxed),
            heartbeat_ms: self.heartbeat_ms.load(Ordering::Relaxed),
            duration_sum_s: self.duration_sum_us.load(Ordering::Relaxed) as f64 / 1e6,
            duration_buckets: std::array::from_fn(|i| {
                self.duration_buckets[i].load(Ordering::Relaxed)
            }),
        }
    }
}
