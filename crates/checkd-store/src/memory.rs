//! [`MemoryStore`]: the in-process layer, a bounded concurrent cache (moka) with lock-free
//! reads, bounded by entries and optionally by bytes.
//!
//! It keeps entries past their validity (an expired result is still the last result) and
//! forgets them only under its bounds; it is not persistent and not shared between instances.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use async_trait::async_trait;
use moka::sync::Cache;

use crate::stats::{Counters, MEMORY_SAMPLE_MASK};
use crate::{Entry, LayerStats, Store, StoreError};

/// Weight units per entry: the byte bound is folded into moka's single weighted capacity at
/// this resolution (see [`MemoryStore::with_limits`]).
const SCALE: u64 = 1024;
/// Rough per-entry cost beyond the key and the payload: the `Entry`, its `Arc`, moka's node.
const ENTRY_OVERHEAD: u64 = 96;

/// The in-process layer: a bounded concurrent cache (moka, TinyLFU admission and LRU eviction).
/// Reads take no lock. Latency is sampled (one call in 16 is timed). Entries never expire here by time: the memory layer keeps the last
/// result until it is evicted by the bounds, so an expired result can still be served.
#[derive(Debug)]
pub struct MemoryStore {
    cache: Cache<String, Arc<Entry>>,
    bytes: Arc<AtomicU64>,
    counters: Counters,
}

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// The default bound: enough for thousands of checks with room for shared responses.
    pub const DEFAULT_MAX_ENTRIES: u64 = 100_000;

    pub fn new() -> MemoryStore {
        MemoryStore::with_limits(Self::DEFAULT_MAX_ENTRIES, None)
    }

    /// At most `max_entries` entries and, when given, about `max_bytes` bytes of keys, payloads
    /// and per-entry overhead. Both bounds are enforced through moka's one weighted capacity:
    /// the capacity is `max_entries · SCALE` and an entry weighs at least `SCALE` (so there are
    /// never more than `max_entries`) and at least its share `size · max_entries · SCALE /
    /// max_bytes` (so the sizes never add up to more than `max_bytes`). moka applies the bound
    /// asynchronously, on its maintenance passes, so it may be exceeded briefly.
    pub fn with_limits(max_entries: u64, max_bytes: Option<u64>) -> MemoryStore {
        let max_entries = max_entries.max(1);
        let bytes = Arc::new(AtomicU64::new(0));
        let released = Arc::clone(&bytes);
        let builder = Cache::builder().eviction_listener(
            move |key: Arc<String>, entry: Arc<Entry>, _cause| {
                released.fetch_sub(size(&key, &entry), Relaxed);
            },
        );
        let cache = match max_bytes {
            None => builder.max_capacity(max_entries).build(),
            Some(max_bytes) => {
                let max_bytes = u128::from(max_bytes.max(1));
                let per_byte = u128::from(max_entries) * u128::from(SCALE);
                builder
                    .max_capacity(max_entries.saturating_mul(SCALE))
                    .weigher(move |key: &String, entry: &Arc<Entry>| {
                        let share = (u128::from(size(key, entry)) * per_byte).div_ceil(max_bytes);
                        u32::try_from(share.max(u128::from(SCALE))).unwrap_or(u32::MAX)
                    })
                    .build()
            }
        };
        MemoryStore {
            cache,
            bytes,
            counters: Counters::default(),
        }
    }

    /// Runs moka's pending maintenance (eviction, counts) now instead of on a later write.
    pub fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks();
    }
}

fn size(key: &str, entry: &Entry) -> u64 {
    (key.len() + entry.producer.len() + entry.payload.len()) as u64 + ENTRY_OVERHEAD
}

#[async_trait]
impl Store for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let start = self.counters.sample(MEMORY_SAMPLE_MASK);
        let found = self.cache.get(key).map(|entry| Entry::clone(&entry));
        self.counters.read::<()>(&Ok(found.is_some()));
        self.counters.sampled_since(start);
        Ok(found)
    }

    async fn put(&self, key: &str, entry: Entry) -> Result<(), StoreError> {
        let start = self.counters.sample(MEMORY_SAMPLE_MASK);
        self.bytes.fetch_add(size(key, &entry), Relaxed);
        self.cache.insert(key.to_string(), Arc::new(entry));
        self.counters.write();
        self.counters.sampled_since(start);
        Ok(())
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Entry)>, StoreError> {
        let start = checkd_clock::now();
        let mut found: Vec<(String, Entry)> = self
            .cache
            .iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .map(|(key, entry)| (String::clone(&key), Entry::clone(&entry)))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        self.counters.since(start);
        Ok(found)
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.cache.invalidate(key);
        self.counters.write();
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn needs_timeout(&self) -> bool {
        false
    }

    fn in_process(&self) -> bool {
        true
    }

    fn stats(&self) -> Vec<LayerStats> {
        // Metrics are scraped rarely; settling moka's counts first makes them exact.
        self.cache.run_pending_tasks();
        let mut stats = self.counters.snapshot(self.name(), true);
        stats.entries = Some(self.cache.entry_count());
        stats.bytes = Some(self.bytes.load(Relaxed));
        vec![stats]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(stored_ms: i64, payload: &[u8]) -> Entry {
        Entry {
            stored_ms,
            valid_for_ms: 1000,
            producer: "t".into(),
            payload: payload.to_vec(),
        }
    }

    // Put, get, scan and remove, as every layer does them: tests/conformance.rs.

    #[tokio::test(flavor = "current_thread")]
    async fn gets_and_puts_are_sampled_scans_always_timed_and_entries_counted() {
        let store = MemoryStore::new();
        store.put("result/b", entry(2, b"b")).await.unwrap();
        store.put("result/a", entry(1, b"a")).await.unwrap();
        assert_eq!(store.get("result/a").await.unwrap(), Some(entry(1, b"a")));
        assert_eq!(store.scan("result/").await.unwrap().len(), 2);
        store.remove("result/a").await.unwrap();
        let stats = &store.stats()[0];
        assert_eq!(stats.entries, Some(1));
        // One get or put in 16 is timed, counting from the first; a scan always.
        assert_eq!(stats.latency_count, 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn entry_bound_holds() {
        let store = MemoryStore::with_limits(100, None);
        for i in 0..5_000 {
            store.put(&format!("k{i}"), entry(i, b"v")).await.unwrap();
        }
        let stats = &store.stats()[0];
        assert!(stats.entries.unwrap() <= 100, "{stats:?}");
        assert!(
            stats.entries.unwrap() >= 50,
            "evicted far too much: {stats:?}"
        );
        assert_eq!(
            store.scan("k").await.unwrap().len() as u64,
            stats.entries.unwrap()
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn byte_bound_holds_and_bytes_are_tracked() {
        // 1000 entries allowed, but only ~64 KiB: 1 KiB payloads fit about 56 times.
        let store = MemoryStore::with_limits(1000, Some(64 * 1024));
        for i in 0..2_000 {
            store
                .put(&format!("k{i:04}"), entry(i, &[7; 1024]))
                .await
                .unwrap();
        }
        let stats = &store.stats()[0];
        assert!(stats.bytes.unwrap() <= 64 * 1024, "{stats:?}");
        assert!(stats.entries.unwrap() >= 20, "{stats:?}");
        assert_eq!(
            stats.bytes.unwrap(),
            stats.entries.unwrap() * (1024 + 1 + 5 + ENTRY_OVERHEAD)
        );
        store.put("k1999", entry(0, b"")).await.unwrap();
        store.remove("k1999").await.unwrap();
        let after = &store.stats()[0];
        assert_eq!(
            after.bytes.unwrap(),
            after.entries.unwrap() * (1024 + 1 + 5 + ENTRY_OVERHEAD)
        );
    }
}
