//! The store: where checkd keeps what it must not lose or recompute — check results today,
//! shared datasource responses and OAuth tokens later.
//!
//! [`Store`] is one interface over byte [`Entry`]s that carry their own metadata (stored at,
//! valid for, producer). `get` returns expired entries too, so the caller can serve the last
//! result while a check re-runs. Four implementations, each usable alone:
//!
//! - [`MemoryStore`]: a bounded concurrent cache (moka, TinyLFU eviction) with lock-free reads;
//!   bounded by entries and optionally by bytes.
//! - [`RedisStore`]: shared between instances; keys `checkd:<infix>:v<FORMAT_VERSION>:<key>`,
//!   optional Redis TTL, connect and command timeouts, optional Redis Cluster. It connects in
//!   the background, so a daemon starts while Redis is down.
//! - [`SledStore`]: persistent on local disk, swept of long-expired entries, flushed on demand.
//! - [`ChainStore`]: the layers in order. Reads try them in order and copy a hit into the faster
//!   layers before it; writes go to every layer. A failing layer is skipped behind a circuit
//!   breaker ([`breaker`]), probed in the background and resumed when it answers again; every
//!   call to a layer is bounded by a timeout.
//!
//! Byte layers (Redis, sled) store an [`envelope`]: a versioned, self-describing frame that
//! cannot execute code on load; a corrupt or foreign one is a miss plus a warning. Every layer
//! counts hits, misses, errors and latency ([`LayerStats`]). The chain can spread the expiry of
//! entries written together ([`ChainOptions::ttl_jitter_percent`], [`jitter_valid_for`]).
//! [`Store::try_lock`] is a short, self-expiring lock (`SET NX PX` in Redis, always granted by
//! layers no other instance sees) that keeps instances from all refreshing one shared
//! datasource response at once.
//! [`build_chain`] builds a chain from plain [`LayerConfig`]s; [`records`] encodes the check
//! model's [`checkd_model::RunRecord`].
//!
//! It deliberately does not decide *when* a result is stale or a check is due (the model and
//! the scheduler do), knows no YAML (the config crate maps `cache.layers` onto [`LayerConfig`]),
//! and never blocks a check beyond its bounds.

pub mod breaker;
mod build;
mod chain;
mod entry;
pub mod envelope;
mod jitter;
mod memory;
pub mod records;
mod redis;
mod redis_conn;
mod sled;
mod stats;

pub use self::redis::{RedisConfig, RedisStore};
pub use self::sled::{SledConfig, SledStore};
pub use build::{build_chain, BuiltChain, LayerConfig, LayerProblem};
pub use chain::{ChainOptions, ChainStore};
pub use entry::Entry;
pub use envelope::FORMAT_VERSION;
pub use jitter::{jitter_valid_for, MAX_JITTER_PERCENT};
pub use memory::MemoryStore;
pub use stats::{LayerStats, LATENCY_BUCKETS_US};

use async_trait::async_trait;

/// A failure of a store layer. A failing layer is checkd's own fault, never a check result.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{layer} layer unavailable: {reason}")]
    Unavailable { layer: &'static str, reason: String },
    #[error("corrupt entry {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// A layer could not be opened or configured (unusable path, invalid URL, bad bound).
    #[error("cannot use {layer} layer at {location}: {reason}")]
    Open {
        layer: &'static str,
        location: String,
        reason: String,
    },
}

/// One layer of the cache, or the chain of them.
///
/// `get` returns expired entries too: the caller decides whether an old result is still
/// worth serving ("last result while re-running").
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// A short name for logs and metrics: `memory`, `redis`, `sled`, `chain`.
    fn name(&self) -> &'static str;
    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError>;
    async fn put(&self, key: &str, entry: Entry) -> Result<(), StoreError>;
    /// Writes `entry` where it outlives this process or reaches other instances: for a chain,
    /// every layer but the in-process ones. For values the caller keeps in memory itself (the
    /// board holds every record, so a memory layer's copy was never read). A single layer
    /// writes as `put`.
    async fn persist(&self, key: &str, entry: Entry) -> Result<(), StoreError> {
        self.put(key, entry).await
    }
    /// Whether the layer lives in this process (memory) and dies with it.
    fn in_process(&self) -> bool {
        false
    }
    /// Every entry whose key starts with `prefix`, in key order.
    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Entry)>, StoreError>;
    async fn remove(&self, key: &str) -> Result<(), StoreError>;
    /// Makes every write so far durable; a no-op for volatile layers.
    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// A cheap round trip that tells whether the layer answers; the chain's circuit breaker
    /// probes an open layer with it. The default reads a key nobody writes.
    async fn ping(&self) -> Result<(), StoreError> {
        self.get("checkd-probe").await.map(|_| ())
    }
    /// Counters of this layer (one element), or of every layer of a chain.
    fn stats(&self) -> Vec<LayerStats> {
        Vec::new()
    }
    /// Takes a short lock named `key` for `ttl` unless someone holds it: `Ok(true)` when this
    /// caller got it. Layers that are not shared between instances have nobody to exclude and
    /// grant it always (the default); Redis uses `SET key owner NX PX ttl`. There is no release:
    /// the lock only keeps instances from all refreshing the same thing at once and simply
    /// expires, so keep `ttl` short. Callers must treat `Err` as "cannot coordinate", not as
    /// "someone else holds it".
    async fn try_lock(&self, key: &str, ttl: std::time::Duration) -> Result<bool, StoreError> {
        let _ = (key, ttl);
        Ok(true)
    }
    /// Whether a chain must bound calls to this layer with its per-layer timeout. In-process
    /// layers whose calls never wait (memory) return false and skip the timer.
    fn needs_timeout(&self) -> bool {
        true
    }
}
