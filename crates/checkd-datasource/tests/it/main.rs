//! One test binary for the crate: evaluation without a network; fetching and sharing
//! responses against real local servers, and a real `redis-server` for sharing between
//! instances.

// Test helpers outside `#[test]` functions may panic too: a panic is a clear test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod counting;
mod evaluate;
mod fetch;
mod foreach;
#[path = "../../../checkd-store/tests/support/redis_server.rs"]
mod redis_server;
mod server;
mod share;
mod shared_redis;
mod support;
