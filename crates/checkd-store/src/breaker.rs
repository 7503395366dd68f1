//! The circuit breaker the chain keeps per layer.
//!
//! Closed: every call goes to the layer. Each failure (an error or a timeout) counts; a success
//! resets the count. After `threshold` consecutive failures the breaker opens: calls skip the
//! layer at once, and the chain probes it in the background (`Store::ping`) until a probe
//! succeeds, which closes the breaker and lets reads and writes resume.
//!
//! Logging is once per incident: a warning at the first failure, an info line at recovery;
//! what happens in between (more failures, the breaker opening, failed probes) is counted and
//! logged at debug level only. The hot path is a few relaxed atomic loads, no lock.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

use crate::StoreError;

#[derive(Debug)]
pub struct Breaker {
    layer: &'static str,
    threshold: u32,
    failures: AtomicU32,
    open: AtomicBool,
    incident: AtomicBool,
}

impl Breaker {
    pub fn new(layer: &'static str, threshold: u32) -> Breaker {
        Breaker {
            layer,
            threshold: threshold.max(1),
            failures: AtomicU32::new(0),
            open: AtomicBool::new(false),
            incident: AtomicBool::new(false),
        }
    }

    /// True while calls must skip the layer.
    pub fn is_open(&self) -> bool {
        self.open.load(Relaxed)
    }

    /// False from the first failure of an incident until the layer answers again.
    pub fn is_healthy(&self) -> bool {
        !self.incident.load(Relaxed)
    }

    /// A call or a probe succeeded: close the breaker and end the incident.
    pub fn success(&self) {
        // Loads before stores keep the shared cache line clean on the (common) healthy path.
        if self.failures.load(Relaxed) != 0 {
            self.failures.store(0, Relaxed);
        }
        if self.open.load(Relaxed) {
            self.open.store(false, Relaxed);
        }
        if self.incident.load(Relaxed) && self.incident.swap(false, Relaxed) {
            tracing::info!(
                layer = self.layer,
                "cache layer recovered, reads and writes resume"
            );
        }
    }

    /// A call failed. Returns true when this failure opened the breaker, so the caller starts
    /// exactly one background probe.
    pub fn failure(&self, error: &StoreError) -> bool {
        if !self.incident.swap(true, Relaxed) {
            tracing::warn!(
                layer = self.layer,
                error = %error,
                "cache layer failing; skipping it while it fails (logged once until it recovers)"
            );
        } else {
            tracing::debug!(layer = self.layer, error = %error, "cache layer still failing");
        }
        let failures = self.failures.fetch_add(1, Relaxed).saturating_add(1);
        if failures >= self.threshold && !self.open.swap(true, Relaxed) {
            tracing::debug!(layer = self.layer, failures, "circuit breaker open");
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error() -> StoreError {
        StoreError::Unavailable {
            layer: "redis",
            reason: "down".into(),
        }
    }

    #[test]
    fn opens_after_threshold_consecutive_failures_and_closes_on_success() {
        let b = Breaker::new("redis", 3);
        assert!(!b.is_open() && b.is_healthy());
        assert!(!b.failure(&error()));
        assert!(!b.is_healthy());
        assert!(!b.failure(&error()));
        b.success();
        assert!(b.is_healthy());
        assert!(!b.failure(&error()));
        assert!(!b.failure(&error()));
        assert!(!b.is_open());
        assert!(b.failure(&error()), "the third consecutive failure opens");
        assert!(b.is_open());
        assert!(!b.failure(&error()), "opening is reported once");
        b.success();
        assert!(!b.is_open() && b.is_healthy());
        assert!(!b.failure(&error()), "the count starts over");
    }
}
