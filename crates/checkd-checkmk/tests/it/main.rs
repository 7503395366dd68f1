//! The crate's tests, in one binary: rendering, names, validation, the round trip and the
//! watchpost-compatible section.

mod names;
mod render;
mod roundtrip;
mod validate;
mod watchpost;
