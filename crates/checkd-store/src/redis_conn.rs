//! How the Redis layer reaches Redis: a lazy connection manager for one server, a background
//! connect task for a cluster, and the small helpers around them.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::cluster::ClusterClient;
use ::redis::cluster_async::ClusterConnection;
use tokio::time::timeout;

use crate::{RedisConfig, StoreError};

#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    /// The connection once the background task made it, and the host of the configured node
    /// (a node that has not met others reports its own address without a host).
    Cluster(Arc<OnceLock<ClusterConnection>>, String),
}

pub(crate) fn unavailable(reason: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable {
        layer: "redis",
        reason: reason.to_string(),
    }
}

pub(crate) fn open_error(config: &RedisConfig, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        layer: "redis",
        location: redact(&config.url),
        reason: reason.to_string(),
    }
}

/// The URL without a password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Escapes the glob characters of `text` for `SCAN MATCH`.
pub(crate) fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(crate) fn connect_single(config: &RedisConfig) -> Result<Conn, StoreError> {
    let client = ::redis::Client::open(config.url.as_str()).map_err(|e| open_error(config, e))?;
    // No reconnect retries inside the manager: the chain's breaker decides when to try again,
    // and each attempt is bounded by the connect timeout.
    let manager_config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(Some(config.command_timeout))
        .set_number_of_retries(0);
    let manager = ConnectionManager::new_lazy_with_config(client, manager_config)
        .map_err(|e| open_error(config, e))?;
    // Connect in the background now, so the first real call does not pay for it.
    let mut warm = manager.clone();
    let bound = config.connect_timeout;
    tokio::spawn(async move {
        let ping = ::redis::cmd("PING");
        if let Ok(Err(error)) = timeout(bound, ping.query_async::<()>(&mut warm)).await {
            tracing::debug!(error = %error, "redis not reachable at start; will retry on use");
        }
    });
    Ok(Conn::Single(manager))
}

pub(crate) fn connect_cluster(config: &RedisConfig) -> Result<Conn, StoreError> {
    let client = ClusterClient::builder([config.url.as_str()])
        .connection_timeout(config.connect_timeout)
        .response_timeout(config.command_timeout)
        .retries(1)
        .build()
        .map_err(|e| open_error(config, e))?;
    let cell = Arc::new(OnceLock::new());
    let weak = Arc::downgrade(&cell);
    let bound = config.connect_timeout;
    tokio::spawn(async move {
        loop {
            let attempt = timeout(bound, client.get_async_connection()).await;
            let Some(cell) = weak.upgrade() else { return };
            match attempt {
                Ok(Ok(conn)) => {
                    let _ = cell.set(conn);
                    return;
                }
                Ok(Err(error)) => {
                    tracing::debug!(error = %error, "redis cluster not reachable yet")
                }
                Err(_) => tracing::debug!("connecting to the redis cluster timed out"),
            }
            drop(cell);
            tokio::time::sleep(bound.min(Duration::from_secs(1))).await;
        }
    });
    Ok(Conn::Cluster(cell, url_host(&config.url)))
}

/// The host of a `redis://[user:pass@]host[:port][/db]` URL.
pub(crate) fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

/// `(host, port)` of every primary in `CLUSTER NODES` output that is not failing.
pub(crate) fn cluster_primaries(nodes: &str) -> Vec<(String, u16)> {
    nodes
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = fields.nth(1)?;
            let flags = fields.next()?;
            let primary = flags.split(',').any(|f| f == "master") && !flags.contains("fail");
            let address = address.split(['@', ',']).next()?;
            let (host, port) = address.rsplit_once(':')?;
            primary.then(|| Some((host.to_string(), port.parse().ok()?)))?
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
        assert_eq!(
            redact("redis://user:secret@host:6379/0"),
            "redis://…@host:6379/0"
        );
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
        assert_eq!(
            url_host("redis://u:p@cache.internal:7000/2"),
            "cache.internal"
        );
        assert_eq!(url_host("redis://127.0.0.1"), "127.0.0.1");
        assert_eq!(url_host("redis://[::1]:6379"), "::1");
        let nodes = "07c3 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460\n\
                     67ed 127.0.0.1:30002@40002,host.example master - 0 0 2 connected 5461-10922\n\
                     292f 127.0.0.1:30004@40004 slave 07c3 0 0 1 connected\n\
                     e7d1 127.0.0.1:30003@40003 master,fail - 0 0 3 disconnected\n";
        assert_eq!(
            cluster_primaries(nodes),
            vec![("127.0.0.1".into(), 30001), ("127.0.0.1".into(), 30002)]
        );
    }
}
