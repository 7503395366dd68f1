//! Stage 1 of a test file (`*.test.yaml`): the YAML as written, as plain data, read with the
//! crate's stage 1 like a check file. Nothing here is checked beyond its shape; `super`
//! validates it into a [`TestFile`](super::TestFile).
//!
//! The `///` comment of every field is the reference in `docs/testing-checks.md`, rendered
//! from this file the way `docs/configuration.md` is from `crate::raw` (a last doc line
//! `Default: …` or `Required.` fills the default column), and a test fails when they differ.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::de::Unit;

/// A duration in humantime form: `120ms`, `2s`.
pub type Duration = String;
/// Any YAML value: a scalar, a list or a mapping.
pub type JsonValue = serde_json::Value;

/// A test file (`*.test.yaml`, beside the check files): cases that run recorded responses
/// through the checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The cases of this file, run in order.
    /// Required.
    pub tests: Vec<Unit<Case>>,
}

/// One case: a check's job in one environment, a recorded response, and the services the job
/// must make of it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the output calls the case.
    /// Required.
    pub name: String,
    /// The check to run: its `id`, else its `name` as written. Only checks on `http`
    /// datasources can be tested.
    /// Required.
    pub check: String,
    /// The environment whose job runs (its service names and variables); one of the check's.
    /// Default: the check's first environment
    pub environment: Option<String>,
    /// What the check sees as the current time, in RFC 3339 (`2026-12-06T03:00:00Z`).
    /// Default: `2026-01-01T00:00:00Z`
    pub now: Option<String>,
    /// The recorded response the check judges.
    /// Required.
    pub response: Unit<Response>,
    /// The services expected, each found by its full name. Services the run produces beyond
    /// these are not compared (`services` counts them).
    /// Default: none
    #[serde(default)]
    pub expect: Vec<Unit<ExpectedService>>,
    /// How many services the run must produce: the base service and one per `foreach` item.
    /// Default: not compared
    pub services: Option<usize>,
}

/// A recorded HTTP response.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The status code, 100–599.
    /// Default: `200`
    pub status: Option<i64>,
    /// The response headers; names compare case-insensitively.
    /// Default: none
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How long the response took: what `expect.response_time` judges.
    /// Default: `100ms`
    pub elapsed: Option<Duration>,
    /// The body: a mapping or a list is sent as its JSON text, a string as it is written.
    /// Not with `body_file`.
    /// Default: empty
    pub body: Option<JsonValue>,
    /// A file holding the body byte for byte, relative to the test file. Not with `body`.
    pub body_file: Option<String>,
}

/// A service the run must produce, and what it must show.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedService {
    /// The full service name, a `foreach` item's suffix included.
    /// Default: the job's service (the check's `name` in that environment)
    pub service: Option<String>,
    /// `OK`, `WARN`, `CRIT` or `UNKNOWN`.
    /// Required.
    pub state: String,
    /// The summary, compared exactly.
    /// Default: not compared
    pub summary: Option<String>,
    /// The details (lines separated by `\n`), compared exactly.
    /// Default: not compared
    pub details: Option<String>,
    /// Metrics the service must have, by name, with these values (equal up to float
    /// rounding); its other metrics are not compared.
    /// Default: none
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
}
