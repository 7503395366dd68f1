//! The crate's tests through its public API, in one binary: load-time checks, evaluation, our
//! functions, templates, hostile input, and the examples of issue 13.

// The helpers outside `#[test]` functions unwrap too: a panic there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod eval;
mod examples;
mod functions;
mod hostile;
mod load;
mod lookup;
mod support;
mod template;
