//! From plain configuration to a running chain. The config crate maps `cache.layers` onto
//! [`LayerConfig`]; this module knows no YAML.

use std::sync::Arc;

use checkd_model::plan::{CacheLayer, CacheSettings};

use crate::{
    ChainOptions, ChainStore, MemoryStore, RedisConfig, RedisStore, SledConfig, SledStore, Store,
    StoreError,
};

/// One layer of the chain, in the order it is tried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerConfig {
    Memory {
        max_entries: u64,
        max_bytes: Option<u64>,
    },
    Redis(RedisConfig),
    Sled(SledConfig),
}

impl LayerConfig {
    fn kind(&self) -> &'static str {
        match self {
            LayerConfig::Memory { .. } => "memory",
            LayerConfig::Redis(_) => "redis",
            LayerConfig::Sled(_) => "sled",
        }
    }
}

/// A layer that was left out of the chain, and why. The daemon logs it and runs on.
impl LayerConfig {
    /// The store's settings for a layer of the resolved plan.
    pub fn from_plan(layer: &CacheLayer) -> LayerConfig {
        match layer {
            CacheLayer::Memory {
                max_entries,
                max_bytes,
            } => LayerConfig::Memory {
                max_entries: *max_entries,
                max_bytes: *max_bytes,
            },
            CacheLayer::Redis {
                url,
                infix,
                use_redis_ttl,
                keep_after,
                connect_timeout,
                command_timeout,
                cluster,
            } => LayerConfig::Redis(RedisConfig {
                url: url.clone(),
                infix: infix.clone(),
                use_redis_ttl: *use_redis_ttl,
                keep_after: *keep_after,
                connect_timeout: *connect_timeout,
                command_timeout: *command_timeout,
                cluster: *cluster,
            }),
            CacheLayer::Sled { path, keep_after } => LayerConfig::Sled(SledConfig {
                keep_after: *keep_after,
                ..SledConfig::new(path.clone())
            }),
        }
    }
}

impl ChainOptions {
    /// The chain's options from the plan's cache settings; the rest keep their defaults.
    pub fn from_plan(settings: &CacheSettings) -> ChainOptions {
        ChainOptions {
            layer_timeout: settings.layer_timeout,
            ttl_jitter_percent: settings.ttl_jitter_percent,
            ..ChainOptions::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cache.layers[{index}] ({layer}) left out, serving from the other layers: {error}")]
pub struct LayerProblem {
    pub index: usize,
    pub layer: &'static str,
    pub error: StoreError,
}

/// The chain, and the configured layers that could not be used.
#[derive(Debug)]
pub struct BuiltChain {
    pub chain: ChainStore,
    pub problems: Vec<LayerProblem>,
}

/// Builds the chain of `layers` in order; `producer` is this instance's name.
///
/// Errors and problems are split by whose fault they are:
/// - `Err`: the configuration is wrong (no layers, an unparsable Redis URL or a bad infix) —
///   fix the config; the daemon should refuse it like any invalid config.
/// - [`BuiltChain::problems`]: the environment is wrong right now (the sled path cannot be
///   created or written, is locked by another process, is corrupt). That layer is left out and
///   the chain runs on the others, as the reliability contract asks; the caller logs each.
/// - Neither: Redis being down. The Redis layer is built without connecting and is skipped by
///   its breaker until it answers.
///
/// Sled layers get their background sweep here (it ends when the chain is dropped).
pub async fn build_chain(
    layers: &[LayerConfig],
    options: ChainOptions,
    producer: &str,
) -> Result<BuiltChain, StoreError> {
    if layers.is_empty() {
        return Err(StoreError::Open {
            layer: "chain",
            location: "cache.layers".into(),
            reason: "at least one layer is needed".into(),
        });
    }
    let mut stores: Vec<Arc<dyn Store>> = Vec::with_capacity(layers.len());
    let mut problems = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        match layer {
            LayerConfig::Memory {
                max_entries,
                max_bytes,
            } => {
                stores.push(Arc::new(MemoryStore::with_limits(*max_entries, *max_bytes)));
            }
            LayerConfig::Redis(config) => stores.push(Arc::new(RedisStore::new(config)?)),
            LayerConfig::Sled(config) => match SledStore::open_async(config.path.clone()).await {
                Ok(store) => {
                    if let Some(every) = config.sweep_every {
                        store.spawn_sweeper(every, config.keep_after);
                    }
                    stores.push(Arc::new(store));
                }
                Err(error) => problems.push(LayerProblem {
                    index,
                    layer: layer.kind(),
                    error,
                }),
            },
        }
    }
    Ok(BuiltChain {
        chain: ChainStore::with_producer(stores, options, producer),
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn an_unusable_sled_path_is_a_problem_and_the_rest_is_built() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let layers = [
            LayerConfig::Memory {
                max_entries: 10,
                max_bytes: None,
            },
            LayerConfig::Sled(SledConfig::new(file.join("db"))),
            LayerConfig::Sled(SledConfig::new(dir.path().join("db"))),
        ];
        let built = build_chain(&layers, ChainOptions::default(), "me")
            .await
            .unwrap();
        assert_eq!(
            built.chain.layers().map(|l| l.name()).collect::<Vec<_>>(),
            vec!["memory", "sled"]
        );
        assert_eq!(built.chain.producer(), "me");
        let [problem] = &built.problems[..] else {
            panic!("{:?}", built.problems)
        };
        assert_eq!(problem.index, 1);
        let message = problem.to_string();
        assert!(message.starts_with("cache.layers[1] (sled) left out, serving from the other layers: cannot use sled layer at "), "{message}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn config_errors_are_errors() {
        let empty = build_chain(&[], ChainOptions::default(), "me")
            .await
            .unwrap_err();
        assert_eq!(
            empty.to_string(),
            "cannot use chain layer at cache.layers: at least one layer is needed"
        );
        let bad_url = [LayerConfig::Redis(RedisConfig::new("http://nope"))];
        assert!(matches!(
            build_chain(&bad_url, ChainOptions::default(), "me").await,
            Err(StoreError::Open { layer: "redis", .. })
        ));
        let bad_infix = [LayerConfig::Redis(RedisConfig {
            infix: "a:b".into(),
            ..RedisConfig::new("redis://127.0.0.1:1")
        })];
        assert!(build_chain(&bad_infix, ChainOptions::default(), "me")
            .await
            .is_err());
        let inside_a_runtime = RedisStore::new(&RedisConfig::new("redis://127.0.0.1:1"));
        assert!(inside_a_runtime.is_ok(), "a #[tokio::test] is a runtime");
        let no_runtime = std::thread::spawn(|| {
            RedisStore::new(&RedisConfig::new("redis://127.0.0.1:1")).map(|_| ())
        })
        .join()
        .unwrap();
        let message = no_runtime.unwrap_err().to_string();
        assert_eq!(message, "cannot use redis layer at redis://127.0.0.1:1: the redis layer must be built inside a tokio runtime");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn redis_down_at_start_is_neither_an_error_nor_a_delay() {
        // Port 1 on loopback: nothing listens, the connection is refused.
        let layers = [
            LayerConfig::Memory {
                max_entries: 10,
                max_bytes: None,
            },
            LayerConfig::Redis(RedisConfig::new("redis://127.0.0.1:1")),
        ];
        let start = checkd_clock::now();
        let built = build_chain(&layers, ChainOptions::default(), "me")
            .await
            .unwrap();
        assert!(built.problems.is_empty());
        assert!(
            start.elapsed() < std::time::Duration::from_millis(500),
            "{:?}",
            start.elapsed()
        );
        let entry = crate::Entry {
            stored_ms: 1,
            valid_for_ms: 1,
            producer: "me".into(),
            payload: vec![1],
        };
        built.chain.put("k", entry.clone()).await.unwrap();
        assert_eq!(built.chain.get("k").await.unwrap(), Some(entry));
    }
}
