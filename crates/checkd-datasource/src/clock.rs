//! Wall-clock milliseconds for entries this crate stores (shared responses, shared tokens).

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Wall-clock milliseconds that advance with `tokio::time`, so paused-time tests move them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    wall_start_ms: i64,
    instant_start: Instant,
}

impl Clock {
    pub(crate) fn system() -> Clock {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Clock {
            wall_start_ms: i64::try_from(now.as_millis()).unwrap_or(0),
            instant_start: Instant::now(),
        }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.instant_start.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.wall_start_ms.saturating_add(elapsed)
    }
}
