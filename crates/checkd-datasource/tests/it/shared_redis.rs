//! Two instances (two `Datasources`, each with its own memory layer) sharing one real
//! `redis-server` on a free loopback port: one request between them.

use std::sync::Arc;
use std::time::Duration;

use checkd_store::{ChainOptions, ChainStore, MemoryStore, RedisConfig, RedisStore, Store};
use futures::future::join_all;

use crate::counting;
use crate::redis_server::RedisServer;
use crate::share::{assert_ok, datasources, job, run};
use checkd_datasource::Datasources;

/// An instance: memory → the shared Redis, as the daemon's chain would be.
fn instance(server: &RedisServer, name: &str) -> (Datasources, ChainStore) {
    let redis = RedisStore::new(&RedisConfig {
        infix: "share-test".into(),
        command_timeout: Duration::from_millis(500),
        ..RedisConfig::new(server.url())
    })
    .unwrap();
    let layers: Vec<Arc<dyn Store>> = vec![Arc::new(MemoryStore::new()), Arc::new(redis)];
    let chain = ChainStore::new(layers, ChainOptions::default());
    let datasources = datasources(Duration::from_secs(30))
        .with_store(Arc::new(chain.clone()))
        .with_producer(name);
    (datasources, chain)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_redis_make_one_request_between_them() {
    let redis = RedisServer::start();
    let target = counting::start().await;
    let (a, a_store) = instance(&redis, "a");
    let (b, b_store) = instance(&redis, "b");
    let url = target.url(300);
    let runs = (0..20).map(|n| {
        let (datasources, job) = if n % 2 == 0 {
            (&a, job(n, "GET", &url))
        } else {
            (&b, job(n, "GET", &url))
        };
        async move {
            let outcome = run(datasources, &job).await;
            assert_ok(&job, &outcome);
        }
    });
    join_all(runs).await;
    assert_eq!(target.hits(), 1);
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(sa.fetches + sb.fetches, 1, "{sa:?} {sb:?}");
    // Each instance has one leader; the one that did not fetch waited for the other's answer
    // (or found it already stored), and its other runs followed it.
    assert_eq!(sa.shared_inflight + sb.shared_inflight, 18, "{sa:?} {sb:?}");
    assert_eq!(sa.cache_hits + sb.cache_hits, 1, "{sa:?} {sb:?}");
    assert!(sa.lock_waits + sb.lock_waits <= 1, "{sa:?} {sb:?}");
    assert_eq!(sa.store_errors + sb.store_errors, 0);

    // Both instances now hold the answer: later runs ask nobody.
    for (n, instance) in [&a, &b].into_iter().enumerate() {
        let job = job(100 + n, "GET", &url);
        assert_ok(&job, &run(instance, &job).await);
    }
    assert_eq!(target.hits(), 1);
    let stored = a_store.scan("response/").await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(["a", "b"].contains(&stored[0].1.producer.as_str()));
    assert_eq!(b_store.scan("response/").await.unwrap(), stored);
}
