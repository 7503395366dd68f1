//! [`ChainStore`]: the cache layers in order as one [`Store`] — reads through them copying hits
//! forward, writes to all, skips a failing layer behind its breaker and bounds every call.
//!
//! It holds no data of its own and decides nothing about freshness: each layer keeps its
//! entries, and whether an entry is fresh is the caller's question.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use tokio::time::timeout;

use crate::breaker::Breaker;
use crate::jitter::jitter_valid_for;
use crate::{Entry, LayerStats, Store, StoreError};

/// How the chain treats its layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainOptions {
    /// Bound of every get, put, remove and probe on a layer that needs one (all but memory):
    /// the most a slow layer can add to a check's store call.
    pub layer_timeout: Duration,
    /// Bound of a scan or flush of one layer (start-up, shutdown, `checkd output`).
    pub bulk_timeout: Duration,
    /// Consecutive failures after which a layer is skipped and probed in the background.
    pub failure_threshold: u32,
    /// How often a skipped layer is probed.
    pub probe_every: Duration,
    /// TTL jitter, ±percent of `valid_for_ms`, applied by [`ChainStore::put`] to the entry it
    /// writes (see [`crate::jitter_valid_for`]). It changes the *store-level* expiry — Redis
    /// TTL, the sled sweep, [`Entry::is_fresh`] of readers that use the entry's metadata (shared
    /// responses, tokens). Check-result freshness lives in the `RunRecord` payload and is
    /// untouched: the scheduler spreads check runs with its own splay.
    pub ttl_jitter_percent: u8,
}

impl Default for ChainOptions {
    fn default() -> ChainOptions {
        ChainOptions {
            layer_timeout: Duration::from_millis(250),
            bulk_timeout: Duration::from_secs(30),
            failure_threshold: 3,
            probe_every: Duration::from_secs(1),
            ttl_jitter_percent: 0,
        }
    }
}

/// The layers in order, fastest first, as one [`Store`].
///
/// - `get` tries the layers in order; a hit is copied into every earlier layer (propagation),
///   so the next read is served by the fastest one. Expired entries count as hits: they are
///   the last result.
/// - `put` and `remove` go to every layer at once; they succeed when one layer succeeded.
/// - `scan` merges every layer's answer; per key the entry with the newest `stored_ms` wins
///   (a persistent layer holds keys memory lost, a shared one keys other instances wrote).
/// - A failing layer is skipped; its breaker ([`crate::breaker`]) opens after
///   [`ChainOptions::failure_threshold`] consecutive failures, then calls skip it at once while a
///   background task probes it; the first successful probe resumes reads and writes.
/// - Every call to a layer is bounded ([`ChainOptions::layer_timeout`]).
///
/// An operation fails only when no layer answered.
#[derive(Clone, Debug)]
pub struct ChainStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    layers: Vec<Layer>,
    options: ChainOptions,
    producer: String,
}

#[derive(Debug)]
struct Layer {
    store: Arc<dyn Store>,
    breaker: Breaker,
    timed: bool,
    timeouts: AtomicU64,
    skipped: AtomicU64,
}

impl ChainStore {
    pub fn new(layers: Vec<Arc<dyn Store>>, options: ChainOptions) -> ChainStore {
        ChainStore::with_producer(layers, options, "")
    }

    /// A chain whose [`ChainStore::producer`] is `producer`: the instance name writers stamp
    /// into entries.
    pub fn with_producer(
        layers: Vec<Arc<dyn Store>>,
        options: ChainOptions,
        producer: &str,
    ) -> ChainStore {
        let layers = layers
            .into_iter()
            .map(|store| Layer {
                breaker: Breaker::new(store.name(), options.failure_threshold),
                timed: store.needs_timeout(),
                store,
                timeouts: AtomicU64::new(0),
                skipped: AtomicU64::new(0),
            })
            .collect();
        ChainStore {
            inner: Arc::new(Inner {
                layers,
                options,
                producer: producer.to_string(),
            }),
        }
    }

    pub fn producer(&self) -> &str {
        &self.inner.producer
    }

    pub fn options(&self) -> &ChainOptions {
        &self.inner.options
    }

    /// The layers, in order.
    pub fn layers(&self) -> impl Iterator<Item = &Arc<dyn Store>> {
        self.inner.layers.iter().map(|l| &l.store)
    }

    /// Whether layer `index` is being skipped (its breaker is open).
    pub fn is_skipping(&self, index: usize) -> bool {
        self.inner
            .layers
            .get(index)
            .is_some_and(|l| l.breaker.is_open())
    }

    /// Runs one call on layer `index` unless its breaker is open (`None`), bounded by `bound`
    /// when the layer needs it, and feeds the outcome to the breaker.
    async fn call<T>(
        &self,
        index: usize,
        bound: Duration,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Option<Result<T, StoreError>> {
        let layer = &self.inner.layers[index];
        if layer.breaker.is_open() {
            layer.skipped.fetch_add(1, Relaxed);
            return None;
        }
        let result = if layer.timed {
            match timeout(bound, call).await {
                Ok(result) => result,
                Err(_) => {
                    layer.timeouts.fetch_add(1, Relaxed);
                    let reason = format!("no answer within {bound:?}");
                    Err(StoreError::Unavailable {
                        layer: layer.store.name(),
                        reason,
                    })
                }
            }
        } else {
            call.await
        };
        match &result {
            Ok(_) => layer.breaker.success(),
            Err(error) => {
                if layer.breaker.failure(error) {
                    self.spawn_probe(index);
                }
            }
        }
        Some(result)
    }

    /// Probes an open layer every `probe_every` until it answers or the chain is dropped.
    fn spawn_probe(&self, index: usize) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            loop {
                let Some(every) = weak.upgrade().map(|inner| inner.options.probe_every) else {
                    return;
                };
                tokio::time::sleep(every).await;
                let Some(inner) = weak.upgrade() else { return };
                let layer = &inner.layers[index];
                match timeout(inner.options.layer_timeout, layer.store.ping()).await {
                    Ok(Ok(())) => {
                        layer.breaker.success();
                        return;
                    }
                    Ok(Err(error)) => {
                        tracing::debug!(layer = layer.store.name(), error = %error, "probe failed")
                    }
                    Err(_) => tracing::debug!(layer = layer.store.name(), "probe timed out"),
                }
            }
        });
    }

    /// Copies a hit from layer `found_at` into every layer before it.
    async fn propagate(&self, found_at: usize, key: &str, entry: &Entry) {
        let bound = self.inner.options.layer_timeout;
        let writes = (0..found_at)
            .map(|i| self.call(i, bound, self.inner.layers[i].store.put(key, entry.clone())));
        join_all(writes).await;
    }

    fn nobody_answered(&self, what: &str) -> StoreError {
        StoreError::Unavailable {
            layer: "chain",
            reason: format!("no layer could {what}"),
        }
    }

    /// Writes to the layers `which` picks, with the chain's TTL jitter.
    async fn write(
        &self,
        key: &str,
        mut entry: Entry,
        which: impl Fn(&dyn Store) -> bool,
    ) -> Result<(), StoreError> {
        let percent = self.inner.options.ttl_jitter_percent;
        if percent > 0 {
            entry.valid_for_ms =
                jitter_valid_for(key, entry.stored_ms, entry.valid_for_ms, percent);
        }
        let entry = &entry;
        self.on_layers(
            self.inner.options.layer_timeout,
            "be written",
            which,
            |store| store.put(key, entry.clone()),
        )
        .await
    }

    /// Runs `op` on every layer at once; fails only when no layer succeeded.
    async fn on_every_layer<'a, F, Fut>(
        &'a self,
        bound: Duration,
        what: &str,
        op: F,
    ) -> Result<(), StoreError>
    where
        F: Fn(&'a Arc<dyn Store>) -> Fut,
        Fut: Future<Output = Result<(), StoreError>> + 'a,
    {
        self.on_layers(bound, what, |_| true, op).await
    }

    /// Runs `op` on the layers `which` picks, at once; fails only when none of them succeeded.
    async fn on_layers<'a, F, Fut>(
        &'a self,
        bound: Duration,
        what: &str,
        which: impl Fn(&dyn Store) -> bool,
        op: F,
    ) -> Result<(), StoreError>
    where
        F: Fn(&'a Arc<dyn Store>) -> Fut,
        Fut: Future<Output = Result<(), StoreError>> + 'a,
    {
        let calls: Vec<_> = self
            .inner
            .layers
            .iter()
            .enumerate()
            .filter(|(_, l)| which(l.store.as_ref()))
            .map(|(i, l)| self.call(i, bound, op(&l.store)))
            .collect();
        let none = calls.is_empty();
        let results = join_all(calls).await;
        if none || results.iter().any(|r| matches!(r, Some(Ok(())))) {
            Ok(())
        } else {
            Err(self.nobody_answered(what))
        }
    }
}

#[async_trait]
impl Store for ChainStore {
    fn name(&self) -> &'static str {
        "chain"
    }

    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let bound = self.inner.options.layer_timeout;
        let mut answered = self.inner.layers.is_empty();
        for (i, layer) in self.inner.layers.iter().enumerate() {
            match self.call(i, bound, layer.store.get(key)).await {
                Some(Ok(Some(entry))) => {
                    self.propagate(i, key, &entry).await;
                    return Ok(Some(entry));
                }
                Some(Ok(None)) => answered = true,
                Some(Err(_)) | None => {}
            }
        }
        if answered {
            Ok(None)
        } else {
            Err(self.nobody_answered("be read"))
        }
    }

    async fn put(&self, key: &str, entry: Entry) -> Result<(), StoreError> {
        self.write(key, entry, |_| true).await
    }

    async fn persist(&self, key: &str, entry: Entry) -> Result<(), StoreError> {
        self.write(key, entry, |layer| !layer.in_process()).await
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Entry)>, StoreError> {
        let layers = &self.inner.layers;
        let bound = self.inner.options.bulk_timeout;
        let scans = layers
            .iter()
            .enumerate()
            .map(|(i, l)| self.call(i, bound, l.store.scan(prefix)));
        let mut merged: BTreeMap<String, Entry> = BTreeMap::new();
        let mut answered = layers.is_empty();
        // In layer order, replacing only by a strictly newer entry: on a tie the faster layer wins.
        for found in join_all(scans).await.into_iter().flatten().flatten() {
            answered = true;
            for (key, entry) in found {
                match merged.get(&key) {
                    Some(kept) if kept.stored_ms >= entry.stored_ms => {}
                    _ => {
                        merged.insert(key, entry);
                    }
                }
            }
        }
        if answered {
            Ok(merged.into_iter().collect())
        } else {
            Err(self.nobody_answered("be scanned"))
        }
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.on_every_layer(self.inner.options.layer_timeout, "remove", |store| {
            store.remove(key)
        })
        .await
    }

    /// Flushes every layer, even a skipped one (this is shutdown: one bounded try is worth it),
    /// and reports the first failure after trying all.
    async fn flush(&self) -> Result<(), StoreError> {
        let bound = self.inner.options.bulk_timeout;
        let flushes = self.inner.layers.iter().map(|l| async move {
            match timeout(bound, l.store.flush()).await {
                Ok(result) => result,
                Err(_) => Err(StoreError::Unavailable {
                    layer: l.store.name(),
                    reason: format!("flush took longer than {bound:?}"),
                }),
            }
        });
        join_all(flushes)
            .await
            .into_iter()
            .find(Result::is_err)
            .unwrap_or(Ok(()))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let bound = self.inner.options.layer_timeout;
        let pings = self
            .inner
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| self.call(i, bound, l.store.ping()));
        let answered = join_all(pings)
            .await
            .iter()
            .any(|r| matches!(r, Some(Ok(()))));
        if answered || self.inner.layers.is_empty() {
            Ok(())
        } else {
            Err(self.nobody_answered("answer"))
        }
    }

    /// Asks every layer; held when any layer that answered says it is held. A layer that fails
    /// or is skipped cannot exclude anyone, so a chain whose shared layer is down grants the
    /// lock and each instance refreshes on its own, as without a shared layer.
    async fn try_lock(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let bound = self.inner.options.layer_timeout;
        let locks = self
            .inner
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| self.call(i, bound, l.store.try_lock(key, ttl)));
        let held = join_all(locks)
            .await
            .iter()
            .any(|r| matches!(r, Some(Ok(false))));
        Ok(!held)
    }

    /// One element per layer: the layer's own counters plus what the chain saw (timeouts,
    /// skipped calls, breaker health).
    fn stats(&self) -> Vec<LayerStats> {
        self.inner
            .layers
            .iter()
            .map(|layer| {
                let mut stats =
                    layer
                        .store
                        .stats()
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| LayerStats {
                            layer: layer.store.name().to_string(),
                            healthy: true,
                            ..LayerStats::default()
                        });
                stats.timeouts = layer.timeouts.load(Relaxed);
                stats.skipped = layer.skipped.load(Relaxed);
                stats.healthy =
                    stats.healthy && layer.breaker.is_healthy() && !layer.breaker.is_open();
                stats
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
