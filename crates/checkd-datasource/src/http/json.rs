//! Looking into the JSON of a response by path: assertions, numbers for metrics, and the
//! words that say what was found where. The body is parsed once, by the run that expressions
//! use too; a path is a lookup into it.
//!
//! It deliberately evaluates no expression (`judge.rs` does) and knows nothing of services.

use std::cell::Cell;

use checkd_expr::Scope;
use checkd_model::plan::{JsonAssertion, JsonPath, JsonTest};
use checkd_model::{format_number, Partial, State};
use serde_json::Value;

/// The JSON document of a response (`body`) or of a `foreach` item (`item`), in a scope.
#[derive(Debug)]
pub(super) struct Document<'d, 's> {
    scope: &'d Scope<'s>,
    /// The bound name the paths start at.
    name: &'static str,
    /// Why the body is not JSON, when it is not.
    error: Option<&'d str>,
    reported: Cell<bool>,
}

impl<'d, 's> Document<'d, 's> {
    pub(super) fn new(scope: &'d Scope<'s>, name: &'static str, error: Option<&'d str>) -> Self {
        Document {
            scope,
            name,
            error,
            reported: Cell::new(false),
        }
    }

    /// What is at `path` (`Some(None)`: nothing), or `None` after pushing (once) the CRIT
    /// partial saying the document is not JSON: that one partial stands in for every JSON
    /// assertion and metric.
    pub(super) fn lookup(
        &self,
        path: &JsonPath,
        partials: &mut Vec<Partial>,
    ) -> Option<Option<Value>> {
        if let Some(error) = self.error {
            if !self.reported.replace(true) {
                partials.push(Partial::new(
                    State::Crit,
                    format!("response is not JSON: {error}"),
                ));
            }
            return None;
        }
        Some(self.scope.pointer(self.name, &path.pointer))
    }
}

/// How a path is named in messages; the empty path is the document itself (`root`).
pub(super) fn name<'p>(path: &'p JsonPath, root: &'p str) -> &'p str {
    if path.pointer.is_empty() {
        root
    } else {
        &path.text
    }
}

/// The number `found` at `path`, or its length with `length`; `Err` says what was wrong.
pub(super) fn number(
    found: Option<&Value>,
    path: &JsonPath,
    length: bool,
    root: &str,
) -> Result<f64, String> {
    let name = name(path, root);
    let value = found.ok_or_else(|| format!("no value at {name}"))?;
    if length {
        return measure(value, name).map(|n| n as f64);
    }
    value
        .as_f64()
        .ok_or_else(|| format!("{name} is {}, expected a number", kind(value)))
}

/// The partial of one assertion on what was `found` at its path.
pub(super) fn assertion(assertion: &JsonAssertion, found: Option<&Value>, root: &str) -> Partial {
    let name = name(&assertion.path, root);
    if let JsonTest::Exists(expected) = assertion.test {
        return match (found, expected) {
            (Some(_), true) => Partial::new(State::Ok, format!("{name} exists")),
            (None, false) => Partial::new(State::Ok, format!("no value at {name}")),
            (Some(_), false) => {
                Partial::new(assertion.state, format!("{name} exists, expected no value"))
            }
            (None, true) => Partial::new(assertion.state, format!("no value at {name}")),
        };
    }
    // A value the check relies on is missing or of the wrong kind: a malformed response.
    let Some(found) = found else {
        return Partial::new(State::Crit, format!("no value at {name}"));
    };
    let (actual, described) = if assertion.length {
        match measure(found, name) {
            Ok(length) => (Value::from(length), format!("{name} length {length}")),
            Err(problem) => return Partial::new(State::Crit, problem),
        }
    } else {
        (found.clone(), format!("{name} is {}", render(found)))
    };
    let (holds, expected) = match &assertion.test {
        JsonTest::Equals(want) => (same(&actual, want), render(want)),
        JsonTest::NotEquals(unwanted) => (
            !same(&actual, unwanted),
            format!("not {}", render(unwanted)),
        ),
        JsonTest::Compare(op, operand) => {
            let Some(number) = actual.as_f64() else {
                return Partial::new(
                    State::Crit,
                    format!("{name} is {}, expected a number", kind(&actual)),
                );
            };
            (
                op.holds(number, *operand),
                format!("{} {}", op.symbol(), format_number(*operand)),
            )
        }
        JsonTest::Exists(_) => (true, String::new()),
    };
    if holds {
        Partial::new(State::Ok, described)
    } else {
        Partial::new(assertion.state, format!("{described}, expected {expected}"))
    }
}

/// Length of an array, object or string (in characters).
fn measure(value: &Value, name: &str) -> Result<usize, String> {
    match value {
        Value::Array(items) => Ok(items.len()),
        Value::Object(fields) => Ok(fields.len()),
        Value::String(text) => Ok(text.chars().count()),
        other => Err(format!(
            "{name} is {}, expected an array, object or string",
            kind(other)
        )),
    }
}

/// Equality of JSON values where numbers compare by value, so `5` equals `5.0`.
pub(super) fn same(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => {
            a == b || a.as_f64().is_some_and(|a| b.as_f64() == Some(a))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, a)| b.get(key).is_some_and(|b| same(a, b)))
        }
        _ => left == right,
    }
}

/// `a string`, `an array`, … for messages.
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value as it appears in a one-line message: numbers short, strings quoted, long values cut.
pub(super) fn render(value: &Value) -> String {
    const MAX_CHARS: usize = 60;
    let text = match value {
        Value::Number(number) => number
            .as_f64()
            .map_or_else(|| number.to_string(), format_number),
        other => other.to_string(),
    };
    cut(text, MAX_CHARS)
}

/// `text` cut to `max` characters, with `…` when it was longer.
pub(super) fn cut(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        text
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}
