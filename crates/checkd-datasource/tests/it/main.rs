//! One test binary for the crate: evaluation without a network; fetching and sharing
//! responses against real local servers, a real `redis-server` for sharing between
//! instances, and a real OAuth2 token endpoint (npm `oauth2-mock-server`).

// Test helpers outside `#[test]` functions may panic too: a panic is a clear test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod counting;
mod evaluate;
mod expressions;
mod fetch;
mod foreach;
mod oauth;
#[path = "../support/oauth.rs"]
mod oauth_servers;
#[path = "../../../checkd-store/tests/support/redis_server.rs"]
mod redis_server;
mod server;
mod share;
mod shared_redis;
mod support;
