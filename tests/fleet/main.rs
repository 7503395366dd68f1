//! The fleet test has a binary of its own: three daemons with 300 checks load the 2-core
//! machine, and cargo runs test binaries one after another, so it never slows down the
//! timing-sensitive tests of the integration binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns: a panic is a clear test failure"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "these tests wait on real checkd processes and servers, in real time"
)]

#[allow(
    dead_code,
    reason = "shared with the integration binary, which uses the rest"
)]
#[path = "../integration/config.rs"]
mod config;
mod fleet;
#[allow(
    dead_code,
    reason = "shared with the integration binary, which uses the rest"
)]
#[path = "../integration/redis.rs"]
mod redis;
#[allow(
    dead_code,
    reason = "shared with the integration binary, which uses the rest"
)]
#[path = "../integration/util.rs"]
mod util;
