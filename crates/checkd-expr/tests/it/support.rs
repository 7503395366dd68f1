//! One response to evaluate against, and the `check` helpers every test file uses.

use checkd_expr::{EvalError, Expr, Names, Response, Run, Value};
use std::collections::BTreeMap;

pub const NOW: &str = "2026-12-06T03:42:17Z";

/// A response the tests change as they need; `run` converts it.
pub struct Fixture {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub elapsed: std::time::Duration,
    pub environment: String,
    pub variables: BTreeMap<String, String>,
}

impl Fixture {
    pub fn new(body: &str) -> Fixture {
        Fixture {
            status: 200,
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body: body.as_bytes().to_vec(),
            elapsed: std::time::Duration::from_millis(1500),
            environment: "prod".to_owned(),
            variables: BTreeMap::from([
                ("expected_version".to_owned(), "2.4.7".to_owned()),
                ("region".to_owned(), "eu-west-1".to_owned()),
            ]),
        }
    }

    pub fn response(&self) -> Response<'_> {
        Response {
            status: self.status,
            headers: &self.headers,
            body: &self.body,
            elapsed: self.elapsed,
            now: NOW.parse().expect("NOW is RFC 3339"),
            environment: &self.environment,
            variables: &self.variables,
            json: true,
        }
    }

    /// `source` compiled with the response's names and `item`, evaluated in the root scope.
    pub fn eval(&self, source: &str) -> Result<Value, EvalError> {
        self.eval_with_budget(source, Run::DEFAULT_BUDGET)
    }

    pub fn eval_with_budget(&self, source: &str, budget: u64) -> Result<Value, EvalError> {
        let expr = compile(source);
        let response = self.response();
        let run = Run::new(&response, budget);
        let result = run.scope().eval(&expr);
        result
    }
}

/// The names the tests compile with: the response's and `item`, `index`.
pub fn names() -> Names {
    Names::response().with("item").with("index")
}

pub fn compile(source: &str) -> Expr {
    Expr::compile(source, &names()).unwrap_or_else(|p| panic!("{source}: {p:?}"))
}

/// A result as the tests write it: the value's `Debug`, or `error: <message>`.
pub fn show(result: Result<Value, EvalError>) -> String {
    match result {
        Ok(value) => format!("{value:?}"),
        Err(e) => format!("error: {e}"),
    }
}

/// The body most tests evaluate against.
pub const BODY: &str = r#"{
  "workers": [
    {"name": "w1", "status": "healthy", "load": 0.5},
    {"name": "w2", "status": "down", "load": 0.9},
    {"name": "w3", "status": "healthy", "load": 0.1}
  ],
  "jobs": {"failed": 3, "total": 40},
  "disks": [{"mount": "/", "used_bytes": 100, "used_pct": 50.5}, {"mount": "/var", "used_bytes": 250, "used_pct": 93.25}],
  "last_success": "2026-12-06T03:00:00Z",
  "version": "2.4.7",
  "tags": ["a", "b"],
  "nested": [[1, 2], [3], 4],
  "escaped": "a\"b\u00e9",
  "big": 18446744073709551615,
  "negative": -3,
  "whole": 1.0,
  "nothing": null,
  "flag": true
}"#;

/// Each `(source, expected)` evaluated against `body`; all mismatches reported at once.
pub fn check_all(body: &str, cases: &[(&str, &str)]) {
    let fixture = Fixture::new(body);
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(source, expected)| {
            let got = show(fixture.eval(source));
            (got != *expected)
                .then(|| format!("{source}\n   expected {expected}\n   got      {got}"))
        })
        .collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}
