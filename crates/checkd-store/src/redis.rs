//! [`RedisStore`]: the layer shared between instances, one Redis or a Redis Cluster, entries as
//! envelopes under `checkd:<infix>:v<format>:<key>`, with the short locks the fleet and shared
//! responses take.
//!
//! It never waits for Redis to be up (it connects in the background and fails fast until
//! then) and does not decide when to skip a failing Redis: the chain's breaker does.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use ::redis::{Cmd, FromRedisValue, Value};
use async_trait::async_trait;
use futures::StreamExt;
use tokio::time::timeout;

use crate::envelope::{self, WarnOnce, FORMAT_VERSION};
use crate::redis_conn::{
    cluster_primaries, connect_cluster, connect_single, glob_escape, open_error, unavailable, Conn,
};
use crate::stats::Counters;
use crate::{Entry, LayerStats, Store, StoreError};

/// How to reach Redis and how to use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://host:port/db` (or `rediss://…`); with `cluster`, any node of the cluster.
    pub url: String,
    /// The team's part of the key namespace `checkd:<infix>:v<format>:<key>`, so several teams
    /// (or test runs) share one Redis without seeing each other's entries.
    pub infix: String,
    /// On: entries carry a Redis TTL of their validity plus `keep_after`, so Redis forgets them
    /// by itself. Off: no TTL, an entry stays until overwritten or removed.
    pub use_redis_ttl: bool,
    /// With `use_redis_ttl`, how long an expired entry is kept to be served as last result.
    pub keep_after: Duration,
    /// Bound of one attempt to (re)connect.
    pub connect_timeout: Duration,
    /// Bound of every command; an exceeded bound is [`StoreError::Unavailable`].
    pub command_timeout: Duration,
    /// The URL names a node of a Redis Cluster.
    pub cluster: bool,
}

impl RedisConfig {
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            infix: "default".into(),
            use_redis_ttl: true,
            keep_after: Duration::from_secs(24 * 3600),
            connect_timeout: Duration::from_secs(1),
            command_timeout: Duration::from_millis(200),
            cluster: false,
        }
    }
}

/// The shared layer: entries as envelopes under `checkd:<infix>:v<FORMAT_VERSION>:<key>`.
///
/// Building it never waits for Redis: a single server is reached through a lazy
/// `ConnectionManager` that (re)connects on use, a cluster through a background task that
/// connects until it succeeds. Until then every call fails fast with `Unavailable`, which the
/// chain's breaker turns into skipping the layer.
pub struct RedisStore {
    conn: Conn,
    namespace: String,
    use_redis_ttl: bool,
    keep_after_ms: u64,
    command_timeout: Duration,
    counters: Counters,
    warned: WarnOnce,
    last_ok: AtomicBool,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.conn {
            Conn::Single(_) => "single",
            Conn::Cluster(..) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("namespace", &self.namespace)
            .field("mode", &mode)
            .finish()
    }
}

impl RedisStore {
    /// Builds the layer without connecting (see the type's docs). An unparsable URL, an infix
    /// with `:` or no tokio runtime to connect in is [`StoreError::Open`].
    pub fn new(config: &RedisConfig) -> Result<RedisStore, StoreError> {
        RedisStore::new_with_version(config, FORMAT_VERSION)
    }

    /// [`RedisStore::new`] for another entry format version (tests of version isolation).
    #[doc(hidden)]
    pub fn new_with_version(config: &RedisConfig, version: u32) -> Result<RedisStore, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(open_error(
                config,
                "the redis layer must be built inside a tokio runtime",
            ));
        }
        if config.infix.contains(':') || config.infix.is_empty() {
            return Err(open_error(
                config,
                format!("infix {:?} must be non-empty and without ':'", config.infix),
            ));
        }
        let conn = if config.cluster {
            connect_cluster(config)?
        } else {
            connect_single(config)?
        };
        Ok(RedisStore {
            conn,
            namespace: format!("checkd:{}:v{version}:", config.infix),
            use_redis_ttl: config.use_redis_ttl,
            keep_after_ms: u64::try_from(config.keep_after.as_millis()).unwrap_or(u64::MAX),
            command_timeout: config.command_timeout,
            counters: Counters::default(),
            warned: WarnOnce::default(),
            last_ok: AtomicBool::new(true),
        })
    }

    /// The Redis key of `key`.
    pub fn redis_key(&self, key: &str) -> String {
        format!("{}{key}", self.namespace)
    }

    /// Writes raw bytes under `key` in this namespace, bypassing the envelope (tests corrupt
    /// entries with it).
    #[doc(hidden)]
    pub async fn put_raw(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.query::<()>(::redis::cmd("SET").arg(self.redis_key(key)).arg(bytes))
            .await
    }

    /// Runs one command within the command timeout.
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let run = async {
            match &self.conn {
                Conn::Single(manager) => cmd
                    .query_async(&mut manager.clone())
                    .await
                    .map_err(unavailable),
                Conn::Cluster(cell, _) => match cell.get() {
                    Some(conn) => cmd
                        .query_async(&mut conn.clone())
                        .await
                        .map_err(unavailable),
                    None => Err(unavailable("not connected to the redis cluster yet")),
                },
            }
        };
        let result = match timeout(self.command_timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(unavailable(format!(
                "command timed out after {:?}",
                self.command_timeout
            ))),
        };
        // Written only on a change: 64 tasks storing the same flag would share one hot line.
        if self.last_ok.load(Relaxed) != result.is_ok() {
            self.last_ok.store(result.is_ok(), Relaxed);
        }
        result
    }

    fn decode(&self, key: &str, bytes: &[u8]) -> Option<Entry> {
        match envelope::decode(bytes) {
            Ok(entry) => Some(entry),
            Err(error) => {
                self.counters.corrupt();
                self.warned.warn("redis", key, &error);
                None
            }
        }
    }

    /// Every Redis key of this namespace that starts with `prefix`.
    async fn scan_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let pattern = format!("{}*", glob_escape(&self.redis_key(prefix)));
        match &self.conn {
            Conn::Single(_) => self.scan_node(&pattern, None).await,
            Conn::Cluster(_, seed_host) => {
                let nodes: String = self.query(::redis::cmd("CLUSTER").arg("NODES")).await?;
                let mut keys = Vec::new();
                for (host, port) in cluster_primaries(&nodes) {
                    let host = if host.is_empty() {
                        seed_host.clone()
                    } else {
                        host
                    };
                    keys.extend(self.scan_node(&pattern, Some((host, port))).await?);
                }
                Ok(keys)
            }
        }
    }

    /// SCAN (never KEYS) over one server, or one cluster node.
    async fn scan_node(
        &self,
        pattern: &str,
        node: Option<(String, u16)>,
    ) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let mut cmd = ::redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000);
            let (next, batch): (u64, Vec<String>) = match &node {
                None => self.query(&cmd).await?,
                Some((host, port)) => self.query_node(cmd, host, *port).await?,
            };
            keys.extend(batch);
            cursor = next;
            if cursor == 0 {
                return Ok(keys);
            }
        }
    }

    async fn query_node<T: FromRedisValue>(
        &self,
        cmd: Cmd,
        host: &str,
        port: u16,
    ) -> Result<T, StoreError> {
        use ::redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
        let Conn::Cluster(cell, _) = &self.conn else {
            return Err(unavailable("not a cluster connection"));
        };
        let Some(conn) = cell.get() else {
            return Err(unavailable("not connected to the redis cluster yet"));
        };
        let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
            host: host.to_string(),
            port,
        });
        let run = async {
            conn.clone()
                .route_command(cmd, routing)
                .await
                .map_err(unavailable)
        };
        let value: Value = timeout(self.command_timeout, run).await.map_err(|_| {
            unavailable(format!(
                "command timed out after {:?}",
                self.command_timeout
            ))
        })??;
        T::from_redis_value(value).map_err(unavailable)
    }

    async fn get_raw(&self, full_key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.query(::redis::cmd("GET").arg(full_key)).await
    }

    /// The values of `keys` (full Redis keys): MGET in batches on a single server, concurrent
    /// GETs on a cluster (the keys live in different slots).
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut values = Vec::with_capacity(keys.len());
        match &self.conn {
            Conn::Single(_) => {
                for batch in keys.chunks(200) {
                    let got: Vec<Option<Vec<u8>>> =
                        self.query(::redis::cmd("MGET").arg(batch)).await?;
                    values.extend(got);
                }
            }
            Conn::Cluster(..) => {
                // Collected first: a closure in the stream trips the `Send` bound of async-trait.
                let gets: Vec<_> = keys.iter().map(|key| self.get_raw(key)).collect();
                let mut gets = futures::stream::iter(gets).buffered(32);
                while let Some(value) = gets.next().await {
                    values.push(value?);
                }
            }
        }
        Ok(values)
    }
}

#[async_trait]
impl Store for RedisStore {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let start = checkd_clock::now();
        let got = self.get_raw(&self.redis_key(key)).await;
        let found = match got {
            Err(error) => {
                self.counters.error();
                Err(error)
            }
            Ok(None) => {
                self.counters.miss();
                Ok(None)
            }
            Ok(Some(bytes)) => {
                let entry = self.decode(key, &bytes);
                if entry.is_some() {
                    self.counters.hit();
                }
                Ok(entry)
            }
        };
        self.counters.since(start);
        found
    }

    async fn put(&self, key: &str, entry: Entry) -> Result<(), StoreError> {
        let start = checkd_clock::now();
        let mut cmd = ::redis::cmd("SET");
        cmd.arg(self.redis_key(key)).arg(envelope::encode(&entry));
        if self.use_redis_ttl {
            let ttl = entry.valid_for_ms.saturating_add(self.keep_after_ms).max(1);
            cmd.arg("PX").arg(ttl);
        }
        let result = self.query::<()>(&cmd).await;
        self.counters.written(&result);
        self.counters.since(start);
        result
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Entry)>, StoreError> {
        let start = checkd_clock::now();
        let scanned = async {
            let mut keys = self.scan_keys(prefix).await?;
            keys.sort();
            keys.dedup();
            let values = self.get_many(&keys).await?;
            let mut found = Vec::with_capacity(keys.len());
            for (full, value) in keys.into_iter().zip(values) {
                let key = full
                    .strip_prefix(&self.namespace)
                    .unwrap_or(&full)
                    .to_string();
                // A key can vanish (TTL, removal) between SCAN and MGET: that is just no entry.
                if let Some(entry) = value.and_then(|bytes| self.decode(&key, &bytes)) {
                    found.push((key, entry));
                }
            }
            Ok(found)
        }
        .await;
        if scanned.is_err() {
            self.counters.error();
        }
        self.counters.since(start);
        scanned
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        let result = self
            .query::<()>(::redis::cmd("DEL").arg(self.redis_key(key)))
            .await;
        self.counters.written(&result);
        result
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.query::<()>(&::redis::cmd("PING")).await
    }

    async fn try_lock(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut cmd = ::redis::cmd("SET");
        // The value only says who holds it, for someone looking at Redis.
        cmd.arg(self.redis_key(key))
            .arg(format!("checkd pid {}", std::process::id()))
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms);
        // `SET … NX` answers OK when it set the key and nil when the key exists.
        let result = self.query::<Option<String>>(&cmd).await;
        self.counters.written(&result);
        result.map(|reply| reply.is_some())
    }

    fn stats(&self) -> Vec<LayerStats> {
        vec![self
            .counters
            .snapshot(self.name(), self.last_ok.load(Relaxed))]
    }
}
