//! The chain's unit tests, against real memory and sled layers and a memory layer that can be
//! told to fail or hang: propagation, merging scans, breakers, bounds and recovery.
//!
//! The chain against a real Redis lives in `tests/redis.rs`; what every layer must do alike,
//! in the conformance suite `tests/conformance.rs`.

use std::sync::atomic::{AtomicU8, AtomicUsize};

use super::*;
use crate::{MemoryStore, SledStore};

fn entry(stored_ms: i64, payload: &[u8]) -> Entry {
    Entry {
        stored_ms,
        valid_for_ms: 1_000,
        producer: "t".into(),
        payload: payload.to_vec(),
    }
}

const OK: u8 = 0;
const FAIL: u8 = 1;
const HANG: u8 = 2;

/// A real memory layer that can be told to fail or to hang, and counts the calls it got.
#[derive(Debug, Default)]
struct Flaky {
    inner: MemoryStore,
    mode: AtomicU8,
    calls: AtomicUsize,
}

impl Flaky {
    fn set(&self, mode: u8) {
        self.mode.store(mode, Relaxed);
    }
    /// Data calls are counted; pings (the breaker's probes) are not.
    async fn gate(&self, counted: bool) -> Result<(), StoreError> {
        if counted {
            self.calls.fetch_add(1, Relaxed);
        }
        match self.mode.load(Relaxed) {
            FAIL => Err(StoreError::Unavailable {
                layer: "flaky",
                reason: "told to fail".into(),
            }),
            HANG => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
            _ => Ok(()),
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Relaxed)
    }
}

#[async_trait]
impl Store for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        self.gate(true).await?;
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, entry: Entry) -> Result<(), StoreError> {
        self.gate(true).await?;
        self.inner.put(key, entry).await
    }
    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Entry)>, StoreError> {
        self.gate(true).await?;
        self.inner.scan(prefix).await
    }
    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.gate(true).await?;
        self.inner.remove(key).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.gate(false).await
    }
}

fn options() -> ChainOptions {
    ChainOptions {
        layer_timeout: Duration::from_millis(100),
        probe_every: Duration::from_millis(20),
        ..ChainOptions::default()
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    memory: Arc<MemoryStore>,
    flaky: Arc<Flaky>,
    sled: Arc<SledStore>,
    chain: ChainStore,
}

/// memory → flaky → sled.
fn setup(options: ChainOptions) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let memory = Arc::new(MemoryStore::new());
    let flaky = Arc::new(Flaky::default());
    let sled = Arc::new(SledStore::open(&dir.path().join("db")).unwrap());
    let layers: Vec<Arc<dyn Store>> = vec![memory.clone(), flaky.clone(), sled.clone()];
    Setup {
        _dir: dir,
        memory,
        flaky,
        sled,
        chain: ChainStore::new(layers, options),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_hit_is_propagated_into_the_earlier_layers_only() {
    let s = setup(options());
    s.sled.put("k", entry(1, b"from sled")).await.unwrap();
    assert_eq!(
        s.chain.get("k").await.unwrap(),
        Some(entry(1, b"from sled"))
    );
    assert_eq!(
        s.memory.get("k").await.unwrap(),
        Some(entry(1, b"from sled"))
    );
    assert_eq!(
        s.flaky.inner.get("k").await.unwrap(),
        Some(entry(1, b"from sled"))
    );
    s.flaky
        .inner
        .put("m", entry(2, b"from flaky"))
        .await
        .unwrap();
    assert_eq!(
        s.chain.get("m").await.unwrap(),
        Some(entry(2, b"from flaky"))
    );
    assert_eq!(
        s.memory.get("m").await.unwrap(),
        Some(entry(2, b"from flaky"))
    );
    assert_eq!(
        s.sled.get("m").await.unwrap(),
        None,
        "a later layer is not written by a read"
    );
    let calls = s.flaky.calls();
    assert_eq!(
        s.chain.get("m").await.unwrap(),
        Some(entry(2, b"from flaky"))
    );
    assert_eq!(
        s.flaky.calls(),
        calls,
        "the second read is served by memory"
    );
    assert_eq!(s.chain.get("nothing").await.unwrap(), None);
}

#[tokio::test(flavor = "current_thread")]
async fn writes_and_removals_go_to_every_layer_and_expired_entries_are_returned() {
    let s = setup(options());
    s.chain.put("k", entry(0, b"old")).await.unwrap();
    for layer in [&*s.memory as &dyn Store, &s.flaky.inner, &*s.sled] {
        assert_eq!(
            layer.get("k").await.unwrap(),
            Some(entry(0, b"old")),
            "{}",
            layer.name()
        );
    }
    let got = s.chain.get("k").await.unwrap().unwrap();
    assert!(
        !got.is_fresh(10_000),
        "expired, and served as the last result"
    );
    s.chain.remove("k").await.unwrap();
    for layer in [&*s.memory as &dyn Store, &s.flaky.inner, &*s.sled] {
        assert_eq!(layer.get("k").await.unwrap(), None, "{}", layer.name());
    }
}

#[tokio::test(flavor = "current_thread")]
async fn persist_writes_every_layer_but_memory() {
    let s = setup(options());
    s.chain.persist("k", entry(5, b"kept")).await.unwrap();
    assert_eq!(s.memory.get("k").await.unwrap(), None, "memory");
    for layer in [&s.flaky.inner as &dyn Store, &*s.sled] {
        assert_eq!(
            layer.get("k").await.unwrap(),
            Some(entry(5, b"kept")),
            "{}",
            layer.name()
        );
    }
    // A chain of memory alone has nowhere to persist, and that is no error.
    let memory_only = ChainStore::new(vec![Arc::new(MemoryStore::new())], options());
    memory_only.persist("k", entry(5, b"kept")).await.unwrap();
    assert_eq!(memory_only.get("k").await.unwrap(), None);
}

#[tokio::test(flavor = "current_thread")]
async fn scan_merges_all_layers_preferring_the_newest_entry() {
    let s = setup(options());
    s.memory
        .put("r/a", entry(5, b"memory, newer"))
        .await
        .unwrap();
    s.sled.put("r/a", entry(3, b"sled, older")).await.unwrap();
    s.sled.put("r/b", entry(1, b"sled only")).await.unwrap();
    s.flaky
        .inner
        .put("r/c", entry(9, b"flaky, newer"))
        .await
        .unwrap();
    s.sled.put("r/c", entry(8, b"sled, older")).await.unwrap();
    s.memory.put("r/d", entry(4, b"memory, tie")).await.unwrap();
    s.sled.put("r/d", entry(4, b"sled, tie")).await.unwrap();
    s.sled.put("other/x", entry(1, b"")).await.unwrap();
    let merged = s.chain.scan("r/").await.unwrap();
    let got: Vec<(&str, &[u8])> = merged
        .iter()
        .map(|(k, e)| (k.as_str(), e.payload.as_slice()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("r/a", b"memory, newer".as_slice()),
            ("r/b", b"sled only"),
            ("r/c", b"flaky, newer"),
            ("r/d", b"memory, tie")
        ]
    );
    s.flaky.set(FAIL);
    let without_flaky = s.chain.scan("r/").await.unwrap();
    assert_eq!(
        without_flaky
            .iter()
            .find(|(k, _)| k == "r/c")
            .unwrap()
            .1
            .payload,
        b"sled, older"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_breaker_opens_skips_the_layer_and_recovers_in_the_background() {
    let s = setup(options());
    s.flaky.set(FAIL);
    for i in 0..3 {
        s.chain.put(&format!("k{i}"), entry(i, b"")).await.unwrap();
    }
    assert!(
        s.chain.is_skipping(1),
        "three consecutive failures open the breaker"
    );
    let before = s.flaky.calls();
    for i in 3..20 {
        s.chain.put(&format!("k{i}"), entry(i, b"")).await.unwrap();
        assert_eq!(
            s.chain.get(&format!("k{i}")).await.unwrap(),
            Some(entry(i, b""))
        );
    }
    let during = s.flaky.calls() - before;
    assert_eq!(
        during, 0,
        "open breaker: calls skip the layer (only probes reach it)"
    );
    let stats = &s.chain.stats()[1];
    assert!(!stats.healthy && stats.skipped >= 17, "{stats:?}");
    assert!(s.chain.stats()[0].healthy && s.chain.stats()[2].healthy);

    s.flaky.set(OK);
    let deadline = checkd_clock::now() + Duration::from_secs(5);
    while s.chain.is_skipping(1) {
        assert!(
            checkd_clock::now() < deadline,
            "the probe never closed the breaker"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    s.chain.put("after", entry(99, b"resumed")).await.unwrap();
    assert_eq!(
        s.flaky.inner.get("after").await.unwrap(),
        Some(entry(99, b"resumed")),
        "writes resume"
    );
    assert!(s.chain.stats()[1].healthy);
}

#[tokio::test(flavor = "current_thread")]
async fn a_hanging_layer_never_delays_a_call_beyond_the_bound() {
    let s = setup(options());
    s.sled.put("k", entry(1, b"from sled")).await.unwrap();
    s.flaky.set(HANG);
    for i in 0..6 {
        let start = checkd_clock::now();
        assert_eq!(
            s.chain.get("k").await.unwrap(),
            Some(entry(1, b"from sled"))
        );
        s.memory.remove("k").await.unwrap();
        s.chain.put(&format!("w{i}"), entry(i, b"")).await.unwrap();
        let took = start.elapsed();
        // A get may wait for the layer once and the propagation to it once, the put once.
        assert!(
            took < Duration::from_millis(3 * 100 + 200),
            "call {i} took {took:?}"
        );
    }
    assert!(s.chain.is_skipping(1));
    let stats = &s.chain.stats()[1];
    assert!(stats.timeouts >= 3, "{stats:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn all_layers_failing_is_an_error_and_an_empty_chain_is_a_no_op() {
    let flaky = Arc::new(Flaky::default());
    flaky.set(FAIL);
    let chain = ChainStore::new(vec![flaky.clone() as Arc<dyn Store>], options());
    let error = chain.get("k").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "chain layer unavailable: no layer could be read"
    );
    assert!(chain.put("k", entry(1, b"")).await.is_err());
    assert!(chain.scan("").await.is_err());
    let empty = ChainStore::new(Vec::new(), options());
    assert_eq!(empty.get("k").await.unwrap(), None);
    empty.put("k", entry(1, b"")).await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn ttl_jitter_is_applied_to_what_the_chain_writes() {
    let s = setup(ChainOptions {
        ttl_jitter_percent: 20,
        ..options()
    });
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..50 {
        let key = format!("k{i}");
        s.chain
            .put(
                &key,
                Entry {
                    valid_for_ms: 100_000,
                    ..entry(7, b"")
                },
            )
            .await
            .unwrap();
        let stored = s.sled.get(&key).await.unwrap().unwrap().valid_for_ms;
        assert!((80_000..=120_000).contains(&stored), "{stored}");
        assert_eq!(
            s.memory.get(&key).await.unwrap().unwrap().valid_for_ms,
            stored,
            "every layer gets the same"
        );
        seen.insert(stored);
    }
    assert!(seen.len() > 40, "{seen:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn flush_reaches_sled_and_stats_cover_every_layer() {
    let s = setup(options());
    s.chain.put("k", entry(1, b"x")).await.unwrap();
    s.chain.flush().await.unwrap();
    s.chain.get("k").await.unwrap();
    let stats = s.chain.stats();
    let names: Vec<&str> = stats.iter().map(|l| l.layer.as_str()).collect();
    assert_eq!(names, vec!["memory", "flaky", "sled"]);
    assert_eq!((stats[0].hits, stats[0].writes), (1, 1));
    assert_eq!(stats[2].writes, 1);
    assert!(stats.iter().all(|l| l.healthy));
    s.chain.ping().await.unwrap();
}
