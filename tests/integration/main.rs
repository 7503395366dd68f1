//! One integration-test binary that drives the real `checkd` executable against fixture
//! configs in temp dirs and a real HTTP target on 127.0.0.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns: a panic is a clear test failure"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "these tests wait on real checkd processes and servers, in real time"
)]

mod cache;
mod checktest;
mod config;
mod cookbook;
mod daemon;
mod delivery;
mod lifecycle;
mod oauth;
#[path = "../../crates/checkd-datasource/tests/support/oauth.rs"]
mod oauth_servers;
mod once;
mod placement;
mod probes;
mod redis;
mod target;
mod util;
mod validate;

use config::DaemonConfig;
use target::Target;
use util::Dir;

/// A daemon config for one environment `prod` whose datasources point at `target`
/// (`shop`), at an address that refuses connections (`gone`) and at `target` with a tiny
/// body limit (`tiny`); the endpoint on `listen_port`, results in memory and sled.
pub fn shop_config(target: &Target, listen_port: u16) -> DaemonConfig {
    let refused = util::refused_addr();
    DaemonConfig::new()
        .environment("prod", "shop-${environment}")
        .variable("prod", "base_url", &target.url())
        .variable("prod", "refused_url", &format!("http://{refused}"))
        .datasource(
            "shop",
            &[
                ("type", "http"),
                ("base_url", "\"${base_url}\""),
                ("timeout", "2s"),
            ],
        )
        .datasource(
            "tiny",
            &[
                ("type", "http"),
                ("base_url", "\"${base_url}\""),
                ("max_body_bytes", "1024"),
            ],
        )
        .datasource(
            "gone",
            &[("type", "http"), ("base_url", "\"${refused_url}\"")],
        )
        .listen(listen_port)
        .layers(&["{type: memory}", "{type: sled, path: state}"])
}

/// A temp dir with [`shop_config`] and `checks` as `checks/shop.yaml`.
pub fn fixture(target: &Target, listen_port: u16, checks: &str) -> Dir {
    fixture_with(&shop_config(target, listen_port), checks)
}

/// A temp dir with `config` and `checks` as `checks/shop.yaml`.
pub fn fixture_with(config: &DaemonConfig, checks: &str) -> Dir {
    let dir = Dir::new();
    config.write(&dir);
    dir.write("checks/shop.yaml", checks);
    dir
}

/// Checks covering every state, foreach, metrics with levels, timeouts and refusals.
pub const SHOP_CHECKS: &str = r#"checks:
  - name: Orders health
    environments: [prod]
    datasource: shop
    cache_for: 5m
    request: {path: /orders/health}
    expect:
      json: [{path: status, equals: ok}]
    metrics: [{name: depth, json: queue.depth, levels: {warn: 500, crit: 1000}, min: 0}]
    summary: {ok: Orders healthy}
  - name: Orders busy
    environments: [prod]
    datasource: shop
    cache_for: 5m
    request: {path: /orders/busy}
    metrics: [{name: depth, json: queue.depth, levels: {warn: 500, crit: 1000}, min: 0}]
  - name: Orders degraded
    environments: [prod]
    datasource: shop
    cache_for: 5m
    request: {path: /orders/degraded}
    expect:
      json: [{path: status, equals: ok}]
    metrics: [{name: depth, json: queue.depth, levels: {warn: 500, crit: 1000}, min: 0}]
  - name: Orders worker
    environments: [prod]
    datasource: shop
    cache_for: 5m
    request: {path: /orders/health}
    summary: {ok: workers listed}
    foreach:
      path: workers
      suffix: " {item.name}"
      expect: {json: [{path: busy, equals: false, state: warn}]}
      summary: {ok: idle}
  - name: Error page
    environments: [prod]
    datasource: shop
    cache_for: 5m
    request: {path: /status/503}
  - name: Not JSON
    environments: [prod]
    datasource: shop
    cache_for: 5m
    request: {path: /notjson}
    expect:
      json: [{path: status, equals: ok}]
  - name: Slow
    environments: [prod]
    datasource: shop
    cache_for: 5m
    timeout: 1s
    request: {path: /slow}
  - name: Huge
    environments: [prod]
    datasource: tiny
    cache_for: 5m
    request: {path: /huge}
  - name: Refused
    environments: [prod]
    datasource: gone
    cache_for: 5m
    request: {path: /health}
"#;
