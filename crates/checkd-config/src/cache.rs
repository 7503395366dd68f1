//! Stage 2 of the `cache` section: the layers, their kind-specific keys and defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use checkd_model::plan::{CacheLayer, CacheSettings};

use crate::keypath::{join_index, join_key};
use crate::raw;
use crate::source::SourceFile;
use crate::values::relative_to;
use crate::values::{duration, positive_duration, Cx};

/// Where sled keeps results when the config does not say: systemd's `StateDirectory=checkd`.
pub const DEFAULT_SLED_PATH: &str = "/var/lib/checkd/store";
const DEFAULT_KEEP_AFTER: Duration = Duration::from_secs(24 * 3600);

pub(crate) fn cache(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    raw: Option<&raw::Cache>,
    dir: &Path,
) -> CacheSettings {
    let layers = match raw.and_then(|c| c.layers.as_ref()) {
        None => vec![
            CacheLayer::Memory {
                max_entries: 100_000,
                max_bytes: None,
            },
            CacheLayer::Sled {
                path: PathBuf::from(DEFAULT_SLED_PATH),
                keep_after: DEFAULT_KEEP_AFTER,
            },
        ],
        Some(layers) => {
            if layers.is_empty() {
                cx.push(src.diag("cache.layers", "at least one layer is needed"));
            }
            layers
                .iter()
                .enumerate()
                .filter_map(|(i, layer)| {
                    self::layer(cx, src, &join_index("cache.layers", i), layer, dir)
                })
                .collect()
        }
    };
    let layer_timeout = raw
        .and_then(|c| c.layer_timeout.as_deref())
        .and_then(|text| positive_duration(cx, src, "cache.layer_timeout", text))
        .unwrap_or(Duration::from_millis(250));
    let ttl_jitter_percent = raw.and_then(|c| c.ttl_jitter_percent).unwrap_or(0);
    if ttl_jitter_percent > 50 {
        let message = format!("expected a percentage 0–50, found {ttl_jitter_percent}");
        cx.push(src.diag("cache.ttl_jitter_percent", message));
    }
    CacheSettings {
        layers,
        layer_timeout,
        ttl_jitter_percent: ttl_jitter_percent.min(50),
    }
}

fn layer(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::CacheLayer,
    dir: &Path,
) -> Option<CacheLayer> {
    let keep_after = |cx: &mut Cx<'_>, given: &Option<String>| {
        given
            .as_deref()
            .and_then(|text| duration(cx, src, &join_key(path, "keep_after"), text))
            .unwrap_or(DEFAULT_KEEP_AFTER)
    };
    match raw {
        raw::CacheLayer::Memory(memory) => {
            let max_entries = memory.max_entries.unwrap_or(100_000);
            if max_entries == 0 {
                cx.push(src.diag(
                    &join_key(path, "max_entries"),
                    "expected at least 1, found 0",
                ));
            }
            Some(CacheLayer::Memory {
                max_entries: max_entries.max(1),
                max_bytes: memory.max_bytes,
            })
        }
        raw::CacheLayer::Redis(redis) => {
            let keep_after = keep_after(cx, &redis.keep_after);
            let Some(url) = redis.url.clone() else {
                cx.push(src.diag(
                    path,
                    "a redis layer needs `url`, e.g. redis://127.0.0.1:6379",
                ));
                return None;
            };
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                cx.push(src.diag(
                    &join_key(path, "url"),
                    "expected a redis:// or rediss:// URL",
                ));
            }
            let infix = redis.infix.clone().unwrap_or_else(|| "default".to_string());
            if infix.is_empty() || infix.contains(':') {
                cx.push(src.diag(
                    &join_key(path, "infix"),
                    format!("expected a non-empty name without `:`, found {infix:?}"),
                ));
            }
            let timeout =
                |cx: &mut Cx<'_>, key: &str, value: &Option<String>, default: Duration| {
                    value
                        .as_deref()
                        .and_then(|text| positive_duration(cx, src, &join_key(path, key), text))
                        .unwrap_or(default)
                };
            Some(CacheLayer::Redis {
                url,
                infix,
                use_redis_ttl: redis.use_redis_ttl.unwrap_or(true),
                keep_after,
                connect_timeout: timeout(
                    cx,
                    "connect_timeout",
                    &redis.connect_timeout,
                    Duration::from_secs(1),
                ),
                command_timeout: timeout(
                    cx,
                    "command_timeout",
                    &redis.command_timeout,
                    Duration::from_millis(200),
                ),
                cluster: redis.cluster.unwrap_or(false),
            })
        }
        raw::CacheLayer::Sled(sled) => {
            let keep_after = keep_after(cx, &sled.keep_after);
            let path = sled
                .path
                .as_deref()
                .map_or_else(|| PathBuf::from(DEFAULT_SLED_PATH), |p| relative_to(dir, p));
            Some(CacheLayer::Sled { path, keep_after })
        }
    }
}
