//! The Redis layer and the chain against a real `redis-server` each test starts on a free
//! loopback port: what only Redis does (other instances, infixes, TTLs, locks, a cluster, a
//! dying or frozen server). What it does like every layer is in `conformance.rs`. Without
//! `redis-server` these tests fail and say how to install it.

// Test helpers outside `#[test]` functions: a panic is the clear failure we want there too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::Duration;

use checkd_store::{
    ChainOptions, ChainStore, Entry, MemoryStore, RedisConfig, RedisStore, SledStore, Store,
    FORMAT_VERSION,
};
use redis_server::{free_port, RedisServer};

fn entry(stored_ms: i64, valid_for_ms: u64, payload: &[u8]) -> Entry {
    Entry {
        stored_ms,
        valid_for_ms,
        producer: "test".into(),
        payload: payload.to_vec(),
    }
}

fn config(server: &RedisServer) -> RedisConfig {
    RedisConfig {
        command_timeout: Duration::from_millis(100),
        connect_timeout: Duration::from_millis(300),
        ..RedisConfig::new(server.url())
    }
}

/// Polls `done` every 10 ms until it holds, failing after `limit`.
async fn eventually(limit: Duration, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = checkd_clock::now() + limit;
    while !done().await {
        assert!(checkd_clock::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_reads_what_one_wrote() {
    let server = RedisServer::start();
    let writer = RedisStore::new(&config(&server)).unwrap();
    let reader = RedisStore::new(&config(&server)).unwrap();
    writer
        .put("result/prod/api", entry(5, 60_000, b"{\"ok\":true}"))
        .await
        .unwrap();
    assert_eq!(
        reader.get("result/prod/api").await.unwrap(),
        Some(entry(5, 60_000, b"{\"ok\":true}"))
    );
    assert_eq!(reader.scan("result/").await.unwrap().len(), 1);
    reader.remove("result/prod/api").await.unwrap();
    assert_eq!(writer.get("result/prod/api").await.unwrap(), None);
    let key = format!("checkd:default:v{FORMAT_VERSION}:result/prod/api");
    assert_eq!(writer.redis_key("result/prod/api"), key);
    assert!(writer.stats()[0].healthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infixes_and_format_versions_are_isolated() {
    let server = RedisServer::start();
    let team_a = RedisStore::new(&RedisConfig {
        infix: "team-a".into(),
        ..config(&server)
    })
    .unwrap();
    let team_b = RedisStore::new(&RedisConfig {
        infix: "team-b".into(),
        ..config(&server)
    })
    .unwrap();
    let next_version = RedisStore::new_with_version(
        &RedisConfig {
            infix: "team-a".into(),
            ..config(&server)
        },
        FORMAT_VERSION + 1,
    )
    .unwrap();
    team_a.put("k", entry(1, 1_000, b"a")).await.unwrap();
    assert_eq!(team_b.get("k").await.unwrap(), None);
    assert!(team_b.scan("").await.unwrap().is_empty());
    assert_eq!(next_version.get("k").await.unwrap(), None);
    next_version
        .put("k", entry(2, 1_000, b"a, next format"))
        .await
        .unwrap();
    assert_eq!(team_a.get("k").await.unwrap(), Some(entry(1, 1_000, b"a")));
    assert_eq!(team_a.scan("").await.unwrap().len(), 1);
    assert_eq!(
        server.command(&["EXISTS", &format!("checkd:team-a:v{FORMAT_VERSION}:k")]),
        ":1\r\n"
    );
    assert_eq!(
        server.command(&[
            "EXISTS",
            &format!("checkd:team-a:v{}:k", FORMAT_VERSION + 1)
        ]),
        ":1\r\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_ttl_on_and_off() {
    let server = RedisServer::start();
    let with_ttl = RedisStore::new(&RedisConfig {
        infix: "ttl".into(),
        keep_after: Duration::from_secs(10),
        ..config(&server)
    })
    .unwrap();
    let without = RedisStore::new(&RedisConfig {
        infix: "nottl".into(),
        use_redis_ttl: false,
        ..config(&server)
    })
    .unwrap();
    with_ttl.put("k", entry(0, 5_000, b"")).await.unwrap();
    without.put("k", entry(0, 5_000, b"")).await.unwrap();
    let pttl: i64 = server.command(&["PTTL", &with_ttl.redis_key("k")]).trim()[1..]
        .parse()
        .unwrap();
    assert!(
        (14_000..=15_000).contains(&pttl),
        "valid for 5 s plus 10 s kept: {pttl}"
    );
    assert_eq!(
        server.command(&["PTTL", &without.redis_key("k")]),
        ":-1\r\n"
    );
    // Without a Redis TTL a long-expired entry is still served as the last result.
    let last = without.get("k").await.unwrap().unwrap();
    assert!(!last.is_fresh(1_000_000));
    let short = RedisStore::new(&RedisConfig {
        infix: "short".into(),
        keep_after: Duration::ZERO,
        ..config(&server)
    })
    .unwrap();
    short.put("gone", entry(0, 30, b"")).await.unwrap();
    eventually(
        Duration::from_secs(5),
        "redis expires the key",
        async || short.get("gone").await.unwrap().is_none(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_pages_through_many_keys_and_escapes_glob_characters() {
    let server = RedisServer::start();
    let store = RedisStore::new(&RedisConfig {
        infix: "scan".into(),
        ..config(&server)
    })
    .unwrap();
    for i in 0..2_500 {
        store
            .put(&format!("r*[x]/{i:05}"), entry(i, 1, b""))
            .await
            .unwrap();
    }
    store.put("r-other/1", entry(0, 1, b"")).await.unwrap();
    store.put("rX[x]/1", entry(0, 1, b"")).await.unwrap();
    let scanned = store.scan("r*[x]/").await.unwrap();
    assert_eq!(scanned.len(), 2_500);
    assert!(scanned.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
    assert_eq!(scanned[1234].0, "r*[x]/01234");
    assert_eq!(scanned[1234].1.stored_ms, 1234);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_at_start_fails_fast_and_is_used_once_it_is_up() {
    let port = free_port();
    let config = RedisConfig {
        command_timeout: Duration::from_millis(100),
        ..RedisConfig::new(format!("redis://127.0.0.1:{port}"))
    };
    let start = checkd_clock::now();
    let store = RedisStore::new(&config).unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(50),
        "construction waited {:?}",
        start.elapsed()
    );
    let start = checkd_clock::now();
    assert!(store.get("k").await.is_err());
    assert!(store.put("k", entry(1, 1, b"")).await.is_err());
    assert!(
        start.elapsed() < Duration::from_millis(2 * 100 + 300),
        "{:?}",
        start.elapsed()
    );
    assert!(!store.stats()[0].healthy);
    let _server = RedisServer::start_on(port);
    eventually(
        Duration::from_secs(10),
        "the same store reaches redis once it is up",
        async || store.ping().await.is_ok(),
    )
    .await;
    store.put("k", entry(1, 1, b"now")).await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), Some(entry(1, 1, b"now")));
}

struct Chain {
    _dir: tempfile::TempDir,
    memory: Arc<MemoryStore>,
    sled: Arc<SledStore>,
    chain: ChainStore,
}

const LAYER_TIMEOUT: Duration = Duration::from_millis(150);
/// A get may wait for Redis once and for the propagation into it once; a put once. The
/// margin is for a loaded 2-core CI machine.
const CALL_BOUND: Duration = Duration::from_millis(2 * 150 + 400);

/// memory → redis → sled.
fn chain(server: &RedisServer) -> Chain {
    let dir = tempfile::tempdir().unwrap();
    let memory = Arc::new(MemoryStore::new());
    let redis: Arc<dyn Store> = Arc::new(RedisStore::new(&config(server)).unwrap());
    let sled = Arc::new(SledStore::open(&dir.path().join("db")).unwrap());
    let options = ChainOptions {
        layer_timeout: LAYER_TIMEOUT,
        probe_every: Duration::from_millis(50),
        ..ChainOptions::default()
    };
    let chain = ChainStore::new(vec![memory.clone(), redis, sled.clone()], options);
    Chain {
        _dir: dir,
        memory,
        sled,
        chain,
    }
}

/// Reads and writes through the chain while Redis misbehaves: every call is served (from memory
/// or sled) within the bound. Keys are removed from memory first so reads go past Redis.
async fn serve_while_redis_fails(c: &Chain, round: &str) {
    for i in 0..12 {
        let key = format!("result/{round}/{i}");
        let start = checkd_clock::now();
        c.chain
            .put(&key, entry(i, 60_000, round.as_bytes()))
            .await
            .unwrap();
        let put_took = start.elapsed();
        c.memory.remove(&key).await.unwrap();
        let start = checkd_clock::now();
        assert_eq!(
            c.chain.get(&key).await.unwrap(),
            Some(entry(i, 60_000, round.as_bytes()))
        );
        let get_took = start.elapsed();
        assert!(
            put_took < CALL_BOUND && get_took < CALL_BOUND,
            "{round} {i}: put {put_took:?}, get {get_took:?}"
        );
    }
    assert!(c.chain.is_skipping(1), "{round}: the breaker opened");
    assert!(!c.chain.stats()[1].healthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_redis_delays_nothing_and_the_layer_recovers_after_a_restart() {
    let mut server = RedisServer::start();
    let c = chain(&server);
    c.chain
        .put("result/before", entry(1, 60_000, b"before"))
        .await
        .unwrap();
    server.kill();
    serve_while_redis_fails(&c, "killed").await;
    assert_eq!(
        c.chain.get("result/before").await.unwrap(),
        Some(entry(1, 60_000, b"before"))
    );

    server.restart();
    eventually(
        Duration::from_secs(10),
        "the redis layer recovers",
        async || !c.chain.is_skipping(1),
    )
    .await;
    c.chain
        .put("result/after", entry(2, 60_000, b"after"))
        .await
        .unwrap();
    let fresh_reader = RedisStore::new(&config(&server)).unwrap();
    assert_eq!(
        fresh_reader.get("result/after").await.unwrap(),
        Some(entry(2, 60_000, b"after")),
        "writes resume"
    );
    assert!(c.chain.stats()[1].healthy);
    assert!(c.chain.stats()[1].skipped > 0);
    assert!(c.sled.get("result/killed/3").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_delays_nothing_beyond_the_bound_and_recovers() {
    let server = RedisServer::start();
    let c = chain(&server);
    c.chain
        .put("result/before", entry(1, 60_000, b"before"))
        .await
        .unwrap();
    server.freeze(true);
    serve_while_redis_fails(&c, "frozen").await;
    let stats = &c.chain.stats()[1];
    assert!(stats.errors + stats.timeouts > 0, "{stats:?}");
    server.freeze(false);
    eventually(
        Duration::from_secs(10),
        "the redis layer recovers",
        async || !c.chain.is_skipping(1),
    )
    .await;
    c.chain
        .put("result/thawed", entry(3, 60_000, b"thawed"))
        .await
        .unwrap();
    let fresh_reader = RedisStore::new(&config(&server)).unwrap();
    assert_eq!(
        fresh_reader.get("result/thawed").await.unwrap(),
        Some(entry(3, 60_000, b"thawed"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_hit_is_propagated_into_memory() {
    let server = RedisServer::start();
    let c = chain(&server);
    let other_instance = RedisStore::new(&config(&server)).unwrap();
    other_instance
        .put("result/shared", entry(4, 60_000, b"from another instance"))
        .await
        .unwrap();
    assert_eq!(c.memory.get("result/shared").await.unwrap(), None);
    assert_eq!(
        c.chain.get("result/shared").await.unwrap(),
        Some(entry(4, 60_000, b"from another instance"))
    );
    assert_eq!(
        c.memory.get("result/shared").await.unwrap(),
        Some(entry(4, 60_000, b"from another instance"))
    );
    assert_eq!(c.sled.get("result/shared").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_lock_excludes_other_instances_until_it_expires() {
    let mut server = RedisServer::start();
    let one = RedisStore::new(&config(&server)).unwrap();
    let other = RedisStore::new(&config(&server)).unwrap();
    let ttl = Duration::from_millis(400);
    assert!(one.try_lock("lock/response/x", ttl).await.unwrap());
    assert!(!other.try_lock("lock/response/x", ttl).await.unwrap());
    assert!(
        !one.try_lock("lock/response/x", ttl).await.unwrap(),
        "not re-entrant"
    );
    assert!(
        other.try_lock("lock/response/y", ttl).await.unwrap(),
        "per key"
    );
    let pttl: i64 = server
        .command(&["PTTL", &one.redis_key("lock/response/x")])
        .trim()[1..]
        .parse()
        .unwrap();
    assert!((1..=400).contains(&pttl), "expires by itself: {pttl}");
    eventually(
        Duration::from_secs(5),
        "the lock expires and can be taken again",
        async || other.try_lock("lock/response/x", ttl).await.unwrap(),
    )
    .await;

    // Layers that are not shared grant it; a chain is held when its shared layer holds it.
    let memory = MemoryStore::new();
    assert!(memory.try_lock("k", ttl).await.unwrap());
    assert!(memory.try_lock("k", ttl).await.unwrap());
    let c = chain(&server);
    assert!(c
        .chain
        .try_lock("lock/chain", Duration::from_secs(30))
        .await
        .unwrap());
    assert!(!c
        .chain
        .try_lock("lock/chain", Duration::from_secs(30))
        .await
        .unwrap());
    assert!(!one.try_lock("lock/chain", ttl).await.unwrap());
    // With Redis gone nobody can be excluded: the chain grants it, the layer alone fails.
    server.kill();
    assert!(one.try_lock("lock/down", ttl).await.is_err());
    assert!(c
        .chain
        .try_lock("lock/chain", Duration::from_secs(30))
        .await
        .unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_put_get_scan_remove() {
    let server = RedisServer::start_cluster();
    let store = RedisStore::new(&RedisConfig {
        cluster: true,
        ..config(&server)
    })
    .unwrap();
    eventually(
        Duration::from_secs(10),
        "the cluster connection is up",
        async || store.ping().await.is_ok(),
    )
    .await;
    for i in 0..50 {
        store
            .put(&format!("result/env/{i:02}"), entry(i, 1_000, b"c"))
            .await
            .unwrap();
    }
    assert_eq!(
        store.get("result/env/07").await.unwrap(),
        Some(entry(7, 1_000, b"c"))
    );
    let scanned = store.scan("result/").await.unwrap();
    assert_eq!(scanned.len(), 50);
    assert_eq!(scanned[49].0, "result/env/49");
    store.remove("result/env/07").await.unwrap();
    assert_eq!(store.get("result/env/07").await.unwrap(), None);
}
