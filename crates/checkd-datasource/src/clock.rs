//! Wall-clock time for everything checkd stamps: records, shared responses, shared tokens.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::{Duration, Instant};

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
