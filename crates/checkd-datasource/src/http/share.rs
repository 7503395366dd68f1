//! Fetch once, evaluate many: how a run gets the answer to its request.
//!
//! 1. **Single-flight, always**: runs that need the same request key at the same moment make
//!    one request ([`Flights`]); the others wait for its result, an unavailable datasource
//!    included, and each evaluates it for its own job.
//! 2. **Response cache**, when the datasource has a `response_cache_for`: the one run that
//!    leads a flight first looks for a fresh answer in the store (under `response/…`), and
//!    stores the answer it fetched. Only answers are stored, never an unavailable datasource.
//! 3. **Across instances**, when the store is shared: before fetching, the leader takes a
//!    short lock through [`Store::try_lock`]. An instance that finds it held waits (polling
//!    the store, bounded) for the other instance's answer and fetches itself only when none
//!    comes in time or the lock expires.
//!
//! The store is never more than a cache here: a failing store call is a miss plus a log line.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use checkd_clock::Clock;
use checkd_store::{Entry, Store};

use super::fetch::Fetched;
use super::{cached, key};
use crate::flight::{Flights, Via};
use crate::stats::Counters;

/// An answer, or why the datasource is unavailable.
pub(crate) type FetchResult = Result<Fetched, String>;

/// How often an instance waiting for another's answer looks into the store.
const POLL: Duration = Duration::from_millis(50);

/// The sharing state of every HTTP datasource of one [`crate::Datasources`].
#[derive(Debug)]
pub(crate) struct Sharing {
    store: Arc<dyn Store>,
    producer: String,
    flights: Flights<Arc<FetchResult>>,
    counters: Arc<Counters>,
    clock: Clock,
}

/// How one datasource shares.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    /// How long a fetched answer is reused; zero shares in-flight requests only.
    pub(crate) cache_for: Duration,
    /// The run's timeout: bounds the lock and the wait for another instance.
    pub(crate) timeout: Duration,
}

impl Sharing {
    /// The wall time now, as every run of these datasources reads it.
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(crate) fn new(store: Arc<dyn Store>, producer: String, counters: Arc<Counters>) -> Sharing {
        Sharing {
            store,
            producer,
            flights: Flights::new(),
            counters,
            clock: Clock::system(),
        }
    }

    pub(crate) fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    pub(crate) fn producer(&self) -> &str {
        &self.producer
    }

    /// The answer for `key`: shared, cached, or fetched with `fetch` (called at most once).
    pub(crate) async fn get<F, Fut>(&self, key: &str, policy: Policy, fetch: F) -> Arc<FetchResult>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = FetchResult>,
    {
        match self
            .flights
            .run(key, || self.lead(key, policy, fetch))
            .await
        {
            Via::Led(result) => result,
            Via::Followed(result) => {
                Counters::add(&self.counters.shared_inflight);
                result
            }
        }
    }

    /// What the leader of a flight does: cache, lock, fetch, store.
    async fn lead<F, Fut>(&self, key: &str, policy: Policy, fetch: F) -> Arc<FetchResult>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = FetchResult>,
    {
        if policy.cache_for.is_zero() {
            Counters::add(&self.counters.fetches);
            return Arc::new(fetch().await);
        }
        if let Some(hit) = self.fresh(key).await {
            Counters::add(&self.counters.cache_hits);
            return Arc::new(Ok(hit));
        }
        // Held at most as long as the answer stays fresh, so an instance whose copy expired
        // never waits for a lock taken for the previous answer.
        let lock_for = policy.timeout.min(policy.cache_for);
        if !self.lock(key, lock_for).await {
            Counters::add(&self.counters.lock_waits);
            if let Some(hit) = self.wait_for_other(key, lock_for, policy.timeout / 2).await {
                Counters::add(&self.counters.cache_hits);
                return Arc::new(Ok(hit));
            }
        }
        Counters::add(&self.counters.fetches);
        let result = fetch().await;
        if let Ok(fetched) = &result {
            // Stored before the flight ends, so a run that comes after the flight finds it.
            self.keep(key, fetched, policy.cache_for).await;
        }
        Arc::new(result)
    }

    /// Polls the store for the answer another instance is fetching. `None` when the wait is
    /// over without one: the bound passed, or the other's lock expired and this one took it.
    async fn wait_for_other(
        &self,
        key: &str,
        lock_for: Duration,
        bound: Duration,
    ) -> Option<Fetched> {
        let deadline = checkd_clock::now() + bound;
        loop {
            tokio::time::sleep(POLL.min(bound)).await;
            if let Some(hit) = self.fresh(key).await {
                return Some(hit);
            }
            if checkd_clock::now() >= deadline || self.lock(key, lock_for).await {
                return None;
            }
        }
    }

    /// Whether this instance may refresh `key` now. A store that cannot say grants it.
    async fn lock(&self, key: &str, ttl: Duration) -> bool {
        match self.store.try_lock(&key::lock_key(key), ttl).await {
            Ok(got) => got,
            Err(error) => {
                Counters::add(&self.counters.store_errors);
                tracing::debug!(%key, error = %error, "cannot lock a shared response; fetching");
                true
            }
        }
    }

    /// A fresh stored answer for `key`, if there is one.
    async fn fresh(&self, key: &str) -> Option<Fetched> {
        let entry = match self.store.get(key).await {
            Ok(Some(entry)) if entry.is_fresh(self.clock.now_ms()) => entry,
            Ok(_) => return None,
            Err(error) => {
                Counters::add(&self.counters.store_errors);
                tracing::debug!(%key, error = %error, "cannot read a shared response");
                return None;
            }
        };
        match cached::decode(&entry.payload) {
            Ok(fetched) => Some(fetched),
            Err(error) => {
                Counters::add(&self.counters.store_errors);
                tracing::warn!(%key, error = %error, "ignoring a stored response");
                None
            }
        }
    }

    async fn keep(&self, key: &str, fetched: &Fetched, cache_for: Duration) {
        let entry = Entry {
            stored_ms: self.clock.now_ms(),
            valid_for_ms: u64::try_from(cache_for.as_millis()).unwrap_or(u64::MAX),
            producer: self.producer.clone(),
            payload: cached::encode(fetched),
        };
        if let Err(error) = self.store.put(key, entry).await {
            Counters::add(&self.counters.store_errors);
            tracing::debug!(%key, error = %error, "cannot store a shared response");
        }
    }
}
