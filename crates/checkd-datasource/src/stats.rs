//! Counters of shared responses (fetch once, evaluate many) and OAuth2 token requests, for
//! metrics and self-monitoring.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

/// How runs got their responses since start. Every run of an HTTP job counts once in exactly
/// one of `fetches`, `shared_inflight` and `cache_hits`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ResponseStats {
    /// Requests actually sent to a datasource.
    pub fetches: u64,
    /// Runs that waited for the same request another run had in flight in this instance.
    pub shared_inflight: u64,
    /// Runs served a still-fresh response from the store (this instance's or another's).
    pub cache_hits: u64,
    /// Times a run found another instance refreshing the same response (its lock held) and
    /// waited for that response instead of sending the request too.
    pub lock_waits: u64,
    /// Store calls for shared responses that failed, and stored responses that could not be
    /// read; each is a miss, never a failed run.
    pub store_errors: u64,
    /// OAuth2 token requests sent to token endpoints, and how many of them failed.
    pub token_fetches: u64,
    pub token_failures: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) fetches: AtomicU64,
    pub(crate) shared_inflight: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) lock_waits: AtomicU64,
    pub(crate) store_errors: AtomicU64,
    pub(crate) token_fetches: AtomicU64,
    pub(crate) token_failures: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ResponseStats {
        ResponseStats {
            fetches: self.fetches.load(Relaxed),
            shared_inflight: self.shared_inflight.load(Relaxed),
            cache_hits: self.cache_hits.load(Relaxed),
            lock_waits: self.lock_waits.load(Relaxed),
            store_errors: self.store_errors.load(Relaxed),
            token_fetches: self.token_fetches.load(Relaxed),
            token_failures: self.token_failures.load(Relaxed),
        }
    }
}
