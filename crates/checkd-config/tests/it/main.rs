//! Integration tests of `checkd_config::load`: one binary, one module per feature.

// Helpers outside `#[test]` functions unwrap too: a panic there is a clear test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod diagnostics;
mod examples;
mod fixture;
mod fuzz;
mod probes;
mod reference;
mod resolve;
mod testfiles;
