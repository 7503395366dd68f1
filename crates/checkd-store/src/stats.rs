//! Per-layer counters: lock-free atomics on the hot path, a serialisable snapshot for the
//! metrics endpoint and `checkd output --format json`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

/// Upper bounds (microseconds) of the latency histogram buckets; a last, unbounded bucket is
/// implied (its cumulative count is `latency_count`).
pub const LATENCY_BUCKETS_US: [u64; 7] = [10, 100, 500, 1_000, 5_000, 25_000, 100_000];

/// What one layer did since it was built.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LayerStats {
    /// `memory`, `redis`, `sled`.
    pub layer: String,
    /// Reads that found an entry (fresh or expired).
    pub hits: u64,
    /// Reads that found nothing, including unreadable entries.
    pub misses: u64,
    /// Successful writes and removals.
    pub writes: u64,
    /// Calls that failed inside the layer.
    pub errors: u64,
    /// Entries that were corrupt or of a foreign format (each also counted as a miss).
    pub corrupt: u64,
    /// Calls the chain cut off at its per-layer bound.
    pub timeouts: u64,
    /// Calls the chain did not make because the layer's circuit breaker was open.
    pub skipped: u64,
    /// Calls timed, and their total duration.
    pub latency_count: u64,
    pub latency_sum_us: u64,
    /// Cumulative counts per bound of [`LATENCY_BUCKETS_US`] (Prometheus `le` buckets).
    pub latency_buckets: Vec<u64>,
    /// Entries held, where the layer knows it cheaply.
    pub entries: Option<u64>,
    /// Bytes held (memory: keys and values; sled: size on disk), where cheap.
    pub bytes: Option<u64>,
    /// False while the layer fails (its breaker is open, or its last call failed).
    pub healthy: bool,
}

/// The live counters behind a [`LayerStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
    errors: AtomicU64,
    corrupt: AtomicU64,
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS_US.len()],
    sampled: AtomicU64,
}

/// The memory layer times one call in 16 (`n & MASK == 0`): its calls take well under a
/// microsecond, so reading the clock twice per call would cost a good part of the call, and a
/// sample of the latency is as informative as all of it.
pub(crate) const MEMORY_SAMPLE_MASK: u64 = 15;

impl Counters {
    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Relaxed);
    }
    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Relaxed);
    }
    pub(crate) fn write(&self) {
        self.writes.fetch_add(1, Relaxed);
    }
    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Relaxed);
    }
    pub(crate) fn corrupt(&self) {
        self.corrupt.fetch_add(1, Relaxed);
        self.misses.fetch_add(1, Relaxed);
    }

    /// The start time of the calls whose number `n` has `n & mask == 0`, `None` for the others
    /// (pass it to [`Counters::sampled_since`]).
    pub(crate) fn sample(&self, mask: u64) -> Option<Instant> {
        (self.sampled.fetch_add(1, Relaxed) & mask == 0).then(checkd_clock::now)
    }

    pub(crate) fn sampled_since(&self, start: Option<Instant>) {
        if let Some(start) = start {
            self.since(start);
        }
    }

    /// Records the latency of a call that started at `start`.
    pub(crate) fn since(&self, start: Instant) {
        self.latency(start.elapsed());
    }

    pub(crate) fn latency(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_us.fetch_add(us, Relaxed);
        if let Some(i) = LATENCY_BUCKETS_US.iter().position(|&bound| us <= bound) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
    }

    /// Counts an outcome: `Ok(true)` hit, `Ok(false)` miss, `Err` error.
    pub(crate) fn read<E>(&self, outcome: &Result<bool, E>) {
        match outcome {
            Ok(true) => self.hit(),
            Ok(false) => self.miss(),
            Err(_) => self.error(),
        }
    }

    pub(crate) fn written<T, E>(&self, outcome: &Result<T, E>) {
        match outcome {
            Ok(_) => self.write(),
            Err(_) => self.error(),
        }
    }

    pub(crate) fn snapshot(&self, layer: &str, healthy: bool) -> LayerStats {
        let mut cumulative = 0;
        let latency_buckets = self
            .buckets
            .iter()
            .map(|b| {
                cumulative += b.load(Relaxed);
                cumulative
            })
            .collect();
        LayerStats {
            layer: layer.to_string(),
            hits: self.hits.load(Relaxed),
            misses: self.misses.load(Relaxed),
            writes: self.writes.load(Relaxed),
            errors: self.errors.load(Relaxed),
            corrupt: self.corrupt.load(Relaxed),
            timeouts: 0,
            skipped: 0,
            latency_count: self.latency_count.load(Relaxed),
            latency_sum_us: self.latency_sum_us.load(Relaxed),
            latency_buckets,
            entries: None,
            bytes: None,
            healthy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_serialises() {
        let c = Counters::default();
        c.latency(Duration::from_micros(5));
        c.latency(Duration::from_micros(700));
        c.latency(Duration::from_secs(2));
        c.read::<()>(&Ok(true));
        c.read::<()>(&Ok(false));
        c.read(&Err(()));
        c.corrupt();
        let s = c.snapshot("memory", true);
        assert_eq!(s.latency_buckets, vec![1, 1, 1, 2, 2, 2, 2]);
        assert_eq!((s.latency_count, s.latency_sum_us), (3, 2_000_705));
        assert_eq!((s.hits, s.misses, s.errors, s.corrupt), (1, 2, 1, 1));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["layer"], "memory");
        assert_eq!(json["healthy"], true);
    }
}
