//! What every layer of the store must do alike, written once and run against each of them:
//! [`MemoryStore`], [`SledStore`] in a temporary directory and [`RedisStore`] against a real
//! `redis-server` each test starts on a free loopback port. A test named
//! `sled::scan_takes_the_prefix_literally` is that rule on that layer.
//!
//! What only one layer does (bounds, reopening, sweeping, TTLs, other instances, clusters,
//! breakers) stays with that layer's own tests.

// Test helpers outside `#[test]` functions: a panic is the clear failure we want there too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::Duration;

use checkd_store::{Entry, MemoryStore, RedisConfig, RedisStore, SledStore, Store};

/// A layer under test and what keeps it alive.
struct Layer {
    store: Arc<dyn Store>,
    /// For layers that store bytes: writes bytes under a key as they are, bypassing the
    /// envelope, to play a corrupt or foreign entry.
    raw: Option<Raw>,
    _keep: Box<dyn std::any::Any>,
}

enum Raw {
    Sled(Arc<SledStore>),
    Redis(Arc<RedisStore>),
}

impl Raw {
    async fn put(&self, key: &str, bytes: &[u8]) {
        match self {
            Raw::Sled(store) => store.put_raw(key, bytes).unwrap(),
            Raw::Redis(store) => store.put_raw(key, bytes).await.unwrap(),
        }
    }
}

fn memory() -> Layer {
    Layer {
        store: Arc::new(MemoryStore::new()),
        raw: None,
        _keep: Box::new(()),
    }
}

fn sled() -> Layer {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(&dir.path().join("db")).unwrap());
    Layer {
        store: store.clone(),
        raw: Some(Raw::Sled(store)),
        _keep: Box::new(dir),
    }
}

fn redis() -> Layer {
    let server = redis_server::RedisServer::start();
    let store = Arc::new(
        RedisStore::new(&RedisConfig {
            command_timeout: Duration::from_secs(2),
            ..RedisConfig::new(server.url())
        })
        .unwrap(),
    );
    Layer {
        store: store.clone(),
        raw: Some(Raw::Redis(store)),
        _keep: Box::new(server),
    }
}

fn entry(stored_ms: i64, valid_for_ms: u64, payload: &[u8]) -> Entry {
    Entry {
        stored_ms,
        valid_for_ms,
        producer: "test".into(),
        payload: payload.to_vec(),
    }
}

async fn keys(store: &dyn Store, prefix: &str) -> Vec<String> {
    let scanned = store.scan(prefix).await.unwrap();
    scanned.into_iter().map(|(key, _)| key).collect()
}

/// Counters of a single layer: hits, misses, writes (removals count as writes).
fn counts(store: &dyn Store) -> (u64, u64, u64) {
    let stats = store.stats();
    let [layer] = &stats[..] else {
        panic!("a single layer reports one set of counters: {stats:?}")
    };
    (layer.hits, layer.misses, layer.writes)
}

async fn put_get_scan_remove(layer: Layer) {
    let store = layer.store.as_ref();
    store.put("result/b", entry(2, 10, b"b")).await.unwrap();
    store.put("result/a", entry(1, 10, b"a")).await.unwrap();
    store.put("token/x", entry(3, 10, b"x")).await.unwrap();
    assert_eq!(
        store.get("result/a").await.unwrap(),
        Some(entry(1, 10, b"a"))
    );
    assert_eq!(store.get("result/z").await.unwrap(), None);
    assert_eq!(keys(store, "result/").await, ["result/a", "result/b"]);
    store.remove("result/a").await.unwrap();
    assert_eq!(store.get("result/a").await.unwrap(), None);
    assert_eq!(keys(store, "").await, ["result/b", "token/x"]);
    assert_eq!(counts(store), (1, 2, 4));
}

async fn expired_entries_are_still_returned(layer: Layer) {
    // The caller decides whether an old result is worth serving: the layer returns it.
    let store = layer.store.as_ref();
    store.put("result/old", entry(0, 10, b"old")).await.unwrap();
    let got = store.get("result/old").await.unwrap().unwrap();
    assert!(!got.is_fresh(1_000_000));
    assert_eq!(got, entry(0, 10, b"old"));
    assert_eq!(keys(store, "result/").await, ["result/old"]);
}

async fn a_put_replaces_the_entry(layer: Layer) {
    let store = layer.store.as_ref();
    store.put("k", entry(1, 10, b"first")).await.unwrap();
    store.put("k", entry(2, 20, b"second")).await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), Some(entry(2, 20, b"second")));
    let scanned = store.scan("").await.unwrap();
    assert_eq!(scanned, [("k".to_string(), entry(2, 20, b"second"))]);
}

async fn entries_keep_their_metadata_and_any_bytes(layer: Layer) {
    let store = layer.store.as_ref();
    let odd = Entry {
        stored_ms: -5,
        // Ten years: a cron job's validity runs until its next time, which can be years away.
        valid_for_ms: 10 * 365 * 24 * 3_600_000,
        producer: "prod@host ✓".into(),
        payload: (0..=255).collect(),
    };
    let keys_and_entries = [
        ("result/prod/Orders API ✓", odd),
        ("empty", entry(i64::MAX, 0, b"")),
    ];
    for (key, entry) in &keys_and_entries {
        store.put(key, entry.clone()).await.unwrap();
    }
    for (key, entry) in &keys_and_entries {
        assert_eq!(store.get(key).await.unwrap().as_ref(), Some(entry), "{key}");
    }
}

async fn scan_takes_the_prefix_literally_and_returns_keys_in_order(layer: Layer) {
    let store = layer.store.as_ref();
    // Glob and pattern characters are part of the key, never a pattern.
    for key in [
        "r*[x]/2",
        "r*[x]/10",
        "r*[x]/1",
        "rX[x]/1",
        "r-other/1",
        "r*[x]",
    ] {
        store.put(key, entry(0, 10, b"")).await.unwrap();
    }
    assert_eq!(
        keys(store, "r*[x]/").await,
        ["r*[x]/1", "r*[x]/10", "r*[x]/2"]
    );
    assert_eq!(keys(store, "r?").await, Vec::<String>::new());
    assert_eq!(keys(store, "nothing/").await, Vec::<String>::new());
    assert_eq!(keys(store, "").await.len(), 6);
}

async fn removing_a_missing_key_is_not_an_error(layer: Layer) {
    let store = layer.store.as_ref();
    store.remove("never/written").await.unwrap();
    assert_eq!(store.get("never/written").await.unwrap(), None);
    store.ping().await.unwrap();
}

async fn a_corrupt_entry_is_a_miss_and_skipped_by_scan(layer: Layer) {
    let store = layer.store.as_ref();
    let raw = layer.raw.as_ref().expect("a layer that stores bytes");
    raw.put("result/bad", b"\x80\x04\x95pickle").await;
    let mut foreign = checkd_store::envelope::encode(&entry(1, 1, b"x"));
    foreign[4..8].copy_from_slice(&(checkd_store::FORMAT_VERSION + 7).to_be_bytes());
    raw.put("result/foreign", &foreign).await;
    store.put("result/good", entry(1, 10, b"ok")).await.unwrap();
    assert_eq!(store.get("result/bad").await.unwrap(), None);
    assert_eq!(store.get("result/foreign").await.unwrap(), None);
    assert_eq!(keys(store, "result/").await, ["result/good"]);
    let stats = &store.stats()[0];
    // Two gets and the scan each met both unreadable entries; each counts as a miss too.
    assert_eq!((stats.corrupt, stats.misses, stats.hits), (4, 4, 0));
}

/// One `#[tokio::test]` per rule, on the layer the enclosing module is named after.
macro_rules! rules {
    ($layer:ident: $($rule:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $rule() {
                super::$rule(super::$layer()).await;
            }
        )*
    };
}

/// The rules every layer keeps.
macro_rules! every_layer {
    ($layer:ident) => {
        rules!($layer:
            put_get_scan_remove,
            expired_entries_are_still_returned,
            a_put_replaces_the_entry,
            entries_keep_their_metadata_and_any_bytes,
            scan_takes_the_prefix_literally_and_returns_keys_in_order,
            removing_a_missing_key_is_not_an_error
        );
    };
}

/// The rules of layers that store bytes (an envelope) rather than entries.
macro_rules! byte_layers {
    ($layer:ident) => {
        rules!($layer: a_corrupt_entry_is_a_miss_and_skipped_by_scan);
    };
}

mod memory {
    every_layer!(memory);
}

mod sled {
    every_layer!(sled);
    byte_layers!(sled);
}

mod redis {
    every_layer!(redis);
    byte_layers!(redis);
}
