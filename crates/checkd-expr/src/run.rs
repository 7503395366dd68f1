//! Evaluation: a [`Run`] converts one [`Response`] once (the body parsed as JSON when it is
//! JSON) and owns the step budget; [`Scope`]s of it evaluate expressions, bind `let` values and
//! `foreach` items, and render templates.
//!
//! A run binds only what the response says and the `now` it is given: no clock, no process
//! environment, no IO. It is not where a result becomes a service state; it hands back values
//! and [`EvalError`]s.

use cel::common::types::{
    CelBool, CelDouble, CelDuration, CelInt, CelString, CelTimestamp, CelUInt, Kind,
};
use cel::common::value::{CowVal, Val};
use cel::Context;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use crate::budget::Budget;
use crate::compile::Expr;
use crate::error::{self, type_name, EvalError};
use crate::json;
use crate::language::LANGUAGE;
use crate::shared;
use crate::template::{Part, Template};
use crate::value::{self, Value};

/// What one HTTP run binds. `body` is parsed once: JSON when it parses (any JSON value), else
/// the text.
#[derive(Debug)]
pub struct Response<'a> {
    pub status: u16,
    /// As received; `headers` in CEL is a map with lower-case names (repeated headers joined
    /// with ", ").
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// CEL `elapsed`: a duration.
    pub elapsed: std::time::Duration,
    /// CEL `now`: a timestamp.
    pub now: chrono::DateTime<chrono::Utc>,
    /// CEL `env.name`.
    pub environment: &'a str,
    /// CEL `env.vars`.
    pub variables: &'a BTreeMap<String, String>,
    /// Parse the body as JSON. Without, `body` is the text: a run whose expressions never look
    /// into the JSON does not pay for parsing it.
    pub json: bool,
}

/// The per-run evaluation state: the converted body (Arc-shared lists/maps), the step budget.
pub struct Run<'a> {
    root: Context<'a, 'a>,
    budget: Arc<Budget>,
    body_is_json: bool,
    /// Why the body is not JSON, when it was parsed and is not.
    body_error: Option<String>,
}

impl fmt::Debug for Run<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("body_is_json", &self.body_is_json)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl<'a> Run<'a> {
    /// Elements handed out by iterations over response values, for the whole run.
    ///
    /// A million: a comprehension step costs 0.3–0.7 µs (`expr_bench`), so a runaway, say two
    /// lists of a thousand nested in one another, is stopped after well under a second of one
    /// core; while an honest expression never comes near it: a body of the default size limit
    /// (1 MiB) has at most about 500,000 elements (`0,`), so even two passes over every element
    /// fit.
    pub const DEFAULT_BUDGET: u64 = 1_000_000;

    pub fn new(response: &'a Response<'a>, budget: u64) -> Run<'a> {
        let budget = Arc::new(Budget::new(budget));
        let text: CelString<'a> = match std::str::from_utf8(response.body) {
            Ok(text) => CelString::from(text),
            Err(_) => CelString::from(String::from_utf8_lossy(response.body).into_owned()),
        };
        let parsed = response.json.then(|| json::parse(response.body, &budget));
        let (body, body_error): (Box<dyn Val + 'a>, _) = match parsed {
            Some(Ok(body)) => (body, None),
            Some(Err(why)) => (Box::new(text.clone()), Some(why)),
            None => (Box::new(text.clone()), None),
        };
        let body_is_json = response.json && body_error.is_none();
        let mut root = Context::with_env(Arc::clone(&LANGUAGE));
        root.add_variable_as_val("status", Box::new(CelInt::from(i64::from(response.status))));
        root.add_variable_as_val("headers", Box::new(headers(response.headers, &budget)));
        root.add_variable_as_val("body", body);
        root.add_variable_as_val("text", Box::new(text));
        let elapsed = chrono::Duration::from_std(response.elapsed).unwrap_or(chrono::Duration::MAX);
        root.add_variable_as_val("elapsed", Box::new(CelDuration::from(elapsed)));
        root.add_variable_as_val(
            "now",
            Box::new(CelTimestamp::from(response.now.fixed_offset())),
        );
        let vars: Vec<(CelString<'a>, Box<dyn Val + 'a>)> = response
            .variables
            .iter()
            .map(|(k, v)| {
                let value: Box<dyn Val + 'a> = Box::new(CelString::from(v.as_str()));
                (CelString::from(k.as_str()), value)
            })
            .collect();
        let env: Vec<(CelString<'a>, Box<dyn Val + 'a>)> = vec![
            (
                CelString::from("name"),
                Box::new(CelString::from(response.environment)),
            ),
            (
                CelString::from("vars"),
                Box::new(shared::Map::new(&budget, vars)),
            ),
        ];
        root.add_variable_as_val("env", Box::new(shared::Map::new(&budget, env)));
        Run {
            root,
            budget,
            body_is_json,
            body_error,
        }
    }

    pub fn body_is_json(&self) -> bool {
        self.body_is_json
    }

    /// Why the body is not JSON (serde_json's words), when it was to be parsed and is not.
    pub fn body_error(&self) -> Option<&str> {
        self.body_error.as_deref()
    }

    /// The root scope: status, headers, body, text, elapsed, now, env.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            ctx: self.root.new_inner_scope(),
            budget: &self.budget,
            body_is_json: self.body_is_json,
        }
    }
}

/// `headers` as CEL sees them: lower-case names in the order they first came, repeated ones
/// joined with ", ".
fn headers<'a>(received: &'a [(String, String)], budget: &Arc<Budget>) -> shared::Map<'a> {
    let mut joined: Vec<(CelString<'a>, Vec<&'a str>)> = Vec::new();
    for (name, value) in received {
        let lower = name.to_ascii_lowercase();
        match joined.iter_mut().find(|(n, _)| n.inner() == lower) {
            Some((_, values)) => values.push(value),
            None => {
                let key = if lower == *name {
                    CelString::from(name.as_str())
                } else {
                    CelString::from(lower)
                };
                joined.push((key, vec![value.as_str()]));
            }
        }
    }
    let entries = joined
        .into_iter()
        .map(|(name, values)| {
            let value: Box<dyn Val + 'a> = match values.as_slice() {
                [one] => Box::new(CelString::from(*one)),
                many => Box::new(CelString::from(many.join(", "))),
            };
            (name, value)
        })
        .collect();
    shared::Map::new(budget, entries)
}

/// A scope of a run: its names and those bound on the way (`let` values, a `foreach` item).
pub struct Scope<'s> {
    ctx: Context<'s, 's>,
    budget: &'s Arc<Budget>,
    body_is_json: bool,
}

impl fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("budget", self.budget)
            .finish_non_exhaustive()
    }
}

/// The items a `foreach` iterates.
pub struct Items<'s> {
    items: Vec<Box<dyn Val + 's>>,
}

impl fmt::Debug for Items<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Items")
            .field("len", &self.items.len())
            .finish()
    }
}

impl Items<'_> {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl<'s> Scope<'s> {
    /// Runs `f` and fails it when it ran out of steps: whatever it computed saw a list cut
    /// short, so it is discarded.
    fn budgeted<T>(&self, f: impl FnOnce() -> Result<T, EvalError>) -> Result<T, EvalError> {
        let refused = self.budget.refused();
        let result = f();
        if self.budget.refused() != refused {
            return Err(EvalError::budget(self.budget.limit()));
        }
        result
    }

    fn value<'e>(&'e self, expr: &'e Expr) -> Result<CowVal<'e, 's>, EvalError> {
        cel::Value::resolve_val(expr.ast(), &self.ctx).map_err(|e| {
            let error = error::from_execution(e);
            if !self.body_is_json && error.message.starts_with("cannot index string with") {
                // the usual cause: `body.field` on a body that did not parse
                EvalError::new(format!(
                    "{} (the body is not JSON, so `body` is its text)",
                    error.message
                ))
            } else {
                error
            }
        })
    }

    /// Evaluates `expr` and binds its value under `name` in this scope (for `let` values, in
    /// order).
    pub fn bind(&mut self, name: &str, expr: &Expr) -> Result<(), EvalError> {
        let value = self.budgeted(|| self.value(expr).map(CowVal::into_owned))?;
        self.ctx.add_variable_as_val(name, value);
        Ok(())
    }

    pub fn eval(&self, expr: &Expr) -> Result<Value, EvalError> {
        self.budgeted(|| self.value(expr).map(|v| value::from_val(v.as_ref())))
    }

    /// A non-bool result is an error naming the type.
    pub fn eval_bool(&self, expr: &Expr) -> Result<bool, EvalError> {
        self.budgeted(|| {
            let v = self.value(expr)?;
            v.downcast_ref::<CelBool>()
                .map(|b| *b.inner())
                .ok_or_else(|| {
                    EvalError::new(format!(
                        "expected a boolean, found {}",
                        type_name(v.get_type())
                    ))
                })
        })
    }

    /// An int, uint, double, or a duration (as seconds); NaN/inf are errors.
    pub fn eval_number(&self, expr: &Expr) -> Result<f64, EvalError> {
        self.budgeted(|| {
            let v = self.value(expr)?;
            let number = if let Some(i) = v.downcast_ref::<CelInt>() {
                *i.inner() as f64
            } else if let Some(u) = v.downcast_ref::<CelUInt>() {
                *u.inner() as f64
            } else if let Some(d) = v.downcast_ref::<CelDouble>() {
                *d.inner()
            } else if let Some(d) = v.downcast_ref::<CelDuration>() {
                crate::functions::duration_seconds(d.inner())
            } else {
                return Err(EvalError::new(format!(
                    "expected a number, found {}",
                    type_name(v.get_type())
                )));
            };
            if number.is_finite() {
                Ok(number)
            } else {
                Err(EvalError::new(format!(
                    "expected a finite number, found {number}"
                )))
            }
        })
    }

    /// The items a `foreach` iterates: a list's elements; a map's entries as
    /// {"key": k, "value": v}; any other value is an error.
    pub fn items(&self, expr: &Expr) -> Result<Items<'_>, EvalError> {
        self.budgeted(|| {
            let v = self.value(expr)?;
            let kind = v.get_type().kind();
            let iterable = match (kind, v.as_iterable()) {
                (Kind::List | Kind::Map, Some(iterable)) => iterable,
                _ => {
                    return Err(EvalError::new(format!(
                        "expected a list or a map to iterate, found {}",
                        type_name(v.get_type())
                    )))
                }
            };
            let mut items: Vec<Box<dyn Val + '_>> = Vec::new();
            let mut elements = iterable.iter();
            if kind == Kind::List {
                while let Some(item) = elements.next() {
                    items.push(item.clone_as_boxed());
                }
            } else {
                let Some(indexer) = v.as_indexer() else {
                    return Err(EvalError::new("expected a map to iterate"));
                };
                while let Some(key) = elements.next() {
                    let value = indexer.get(key).map_err(error::from_execution)?;
                    let entry = vec![
                        (CelString::from("key"), key.clone_as_boxed()),
                        (CelString::from("value"), value.into_owned()),
                    ];
                    items.push(Box::new(shared::Map::new(self.budget, entry)));
                }
            }
            Ok(Items { items })
        })
    }

    /// The value at a JSON pointer (`/workers/0/name`; `""` is the value itself) under the bound
    /// `name` (`body`, `item`), as JSON; `None` when nothing is there. A step into a list takes
    /// an index, a step into a map a key.
    pub fn pointer(&self, name: &str, pointer: &str) -> Option<serde_json::Value> {
        let found = self.at(name, pointer)?;
        Some(value::from_val(found.as_ref()).to_json())
    }

    /// The elements of the list at a JSON pointer under `name`, as a `foreach` iterates them;
    /// else what is there instead (`None`: nothing).
    pub fn items_at(
        &self,
        name: &str,
        pointer: &str,
    ) -> Result<Items<'_>, Option<serde_json::Value>> {
        let found = self.at(name, pointer).ok_or(None)?;
        let list = match (found.get_type().kind(), found.as_iterable()) {
            (Kind::List, Some(list)) => list,
            _ => return Err(Some(value::from_val(found.as_ref()).to_json())),
        };
        let mut items: Vec<Box<dyn Val + '_>> = Vec::new();
        let mut elements = list.iter();
        while let Some(item) = elements.next() {
            items.push(item.clone_as_boxed());
        }
        Ok(Items { items })
    }

    fn at(&self, name: &str, pointer: &str) -> Option<CowVal<'_, 's>> {
        let mut current = self.ctx.get_variable(name)?;
        for raw in pointer.split('/').skip(1) {
            let segment = raw.replace("~1", "/").replace("~0", "~");
            let next = {
                let indexer = current.as_indexer()?;
                match current.get_type().kind() {
                    Kind::Map => indexer
                        .get(&CelString::from(segment.as_str()))
                        .ok()?
                        .into_owned(),
                    Kind::List => {
                        let index: i64 = segment.parse().ok()?;
                        indexer.get(&CelInt::from(index)).ok()?.into_owned()
                    }
                    _ => return None,
                }
            };
            current = CowVal::Owned(next);
        }
        Some(current)
    }

    /// A child scope binding `item` (and `index`: int position) for one item. An index past the
    /// items binds neither, so an expression using them fails.
    pub fn with_item<'i>(&'i self, items: &Items<'i>, index: usize) -> Scope<'i> {
        let mut ctx = self.ctx.new_inner_scope();
        if let Some(item) = items.items.get(index) {
            ctx.add_variable_as_val("item", item.clone());
            let position = i64::try_from(index).unwrap_or(i64::MAX);
            ctx.add_variable_as_val("index", Box::new(CelInt::from(position)));
        }
        Scope {
            ctx,
            budget: self.budget,
            body_is_json: self.body_is_json,
        }
    }

    /// Strings as is, numbers as CEL prints them but doubles without a trailing ".0" when
    /// whole, bool, null, timestamps RFC 3339, durations like "1h2m3s"/"2.5s"; lists/maps as
    /// JSON-ish text.
    pub fn render(&self, template: &Template) -> Result<String, EvalError> {
        let mut out = String::new();
        for part in template.parts() {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Expr(expr) => {
                    let _ = write!(out, "{}", self.eval(expr)?);
                }
            }
        }
        Ok(out)
    }
}
