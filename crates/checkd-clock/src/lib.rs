//! The one place checkd reads time. [`Clock`] gives the wall clock in Unix milliseconds, for
//! everything checkd stamps or compares with other processes (records, shared responses and
//! tokens, fleet slots); [`now`] gives the monotonic instant deadlines and durations are
//! measured with. Both come from `tokio::time`, so a test with paused time moves them
//! together and never waits for real time to pass.
//!
//! It is a crate of its own so that reading time is a dependency one can see: the check model
//! (`checkd-model`) stays pure — it takes the time as an argument and has no way to read it —
//! and Clippy's `disallowed-methods` (`clippy.toml`) refuses `SystemTime::now`,
//! `Instant::now` and `chrono::Utc::now` everywhere but here. It deliberately keeps no timers,
//! schedules or time zones: the scheduler and the model do that with the times it gives.

#![allow(
    clippy::disallowed_methods,
    reason = "this crate is the one place that may read the system's clocks"
)]

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::{Duration, Instant};

/// The monotonic now: `tokio::time::Instant::now`, which paused-time tests control.
pub fn now() -> Instant {
    Instant::now()
}

/// Wall-clock time derived from `tokio::time`, so paused-time tests move it too.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    wall_start_ms: i64,
    instant_start: Instant,
}

impl Clock {
    /// The real wall clock.
    pub fn system() -> Clock {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Clock::starting_at(i64::try_from(now.as_millis()).unwrap_or(0))
    }

    /// A clock that reads `wall_ms` now and advances with `tokio::time`.
    pub fn starting_at(wall_ms: i64) -> Clock {
        Clock {
            wall_start_ms: wall_ms,
            instant_start: Instant::now(),
        }
    }

    /// Unix milliseconds now.
    pub fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.instant_start.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.wall_start_ms.saturating_add(elapsed)
    }

    /// The instant at which the wall clock reads `wall_ms` (now, if that has passed).
    pub fn instant_at(&self, wall_ms: i64) -> Instant {
        let ahead = wall_ms.saturating_sub(self.now_ms()).max(0);
        Instant::now() + Duration::from_millis(u64::try_from(ahead).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn wall_time_and_instants_move_with_paused_tokio_time() {
        let clock = Clock::starting_at(1_000_000);
        let start = now();
        assert_eq!(clock.now_ms(), 1_000_000);
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert_eq!(clock.now_ms(), 1_002_500);
        assert_eq!(now() - start, Duration::from_millis(2_500));
        assert_eq!(
            clock.instant_at(1_003_000) - now(),
            Duration::from_millis(500)
        );
        assert_eq!(clock.instant_at(0), now(), "a past time is now");
    }
}
