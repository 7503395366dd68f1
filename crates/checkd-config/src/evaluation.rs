//! Stage 2 of a check's judgement: `let`, `expect`, `metrics`, `foreach`, `summary` and
//! `details` become the plan's `Evaluation`, every expression compiled (checkd-expr) with the
//! names it may use and every problem placed inside the expression. Its `${…}` are filled in
//! for the environment the caller gives, when the check uses them.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use checkd_expr::{Names, Problem};
use checkd_model::plan::{
    ByState, Comparison, Condition, Evaluation, Expect, Expr, Foreach, ForeachItems,
    HeaderAssertion, JsonAssertion, JsonPath, JsonTest, MetricSource, MetricSpec, Rollup, Template,
    TextAssertion, TextTest, Texts,
};
use checkd_model::{Levels, State};

use crate::keypath::{join_index, join_key};
use crate::raw;
use crate::source::SourceFile;
use crate::template::Scope;
use crate::values::{duration, exactly_one, fill, finite, levels, number, Cx, Tpl};

fn state(raw: Option<raw::FailState>) -> State {
    match raw {
        Some(raw::FailState::Warn) => State::Warn,
        Some(raw::FailState::Unknown) => State::Unknown,
        Some(raw::FailState::Crit) | None => State::Crit,
    }
}

/// The check's evaluation, with the `${…}` of its texts filled in for `scope` (the caller gives
/// one whenever the check uses them).
pub(crate) fn evaluation(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    check: &raw::Check,
    scope: Option<&Scope<'_>>,
) -> Evaluation {
    let mut names = Names::response();
    let mut lets = Vec::with_capacity(check.lets.0.len());
    for (name, source) in &check.lets.0 {
        let at = join_key(&join_key(path, "let"), name);
        if let Some(problem) = let_name(name, &names) {
            cx.push(src.diag_key(&at, problem));
            continue;
        }
        if let Some(expr) = expression(cx, src, &at, source, &names, false) {
            lets.push((name.clone(), expr));
        }
        // Later expressions may use it even when it failed: that is reported once, here.
        names = names.with(name);
    }
    let expect = match check.expect.ok() {
        Some(raw) => expect(cx, src, &join_key(path, "expect"), raw, scope, &names),
        None => Expect::default(),
    };
    let mut metric_names: Vec<String> = Vec::new();
    if expect.response_time.is_some() {
        metric_names.push("response_time".to_string());
    }
    let metrics = metrics(
        cx,
        src,
        &join_key(path, "metrics"),
        &check.metrics,
        &mut metric_names,
        scope,
        &names,
    );
    let foreach = check
        .foreach
        .as_ref()
        .and_then(raw::Unit::ok)
        .and_then(|raw| foreach(cx, src, &join_key(path, "foreach"), raw, scope, &names));
    let texts = texts(cx, src, path, &check.summary, &check.details, scope, &names);
    Evaluation {
        lets,
        expect,
        metrics,
        texts,
        foreach,
    }
}

/// Why `name` cannot be a `let` name, if it cannot.
fn let_name(name: &str, names: &Names) -> Option<String> {
    if !crate::template::is_name(name) {
        return Some(format!(
            "invalid name {name:?}: use letters, digits and _, not starting with a digit"
        ));
    }
    let taken = ["item", "index", "key"].contains(&name) || names.contains(name);
    taken.then(|| format!("`{name}` is already a name expressions use: pick another"))
}

/// Expressions and templates compiled once per load: configs repeat the same ones check after
/// check (generated ones above all), and compiling is most of what loading them costs.
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    /// By source, names and whether it is a condition.
    exprs: Mutex<HashMap<(String, Names, bool), Compiling<Expr>>>,
    templates: Mutex<HashMap<(String, Names), Compiling<Template>>>,
}

/// What compiling one source gave.
type Compiling<T> = Result<T, Vec<Problem>>;

impl Compiled {
    fn expr(&self, source: &str, names: &Names, condition: bool) -> Result<Expr, Vec<Problem>> {
        let key = (source.to_string(), names.clone(), condition);
        if let Some(done) = lock(&self.exprs).get(&key) {
            return done.clone();
        }
        let compiled = if condition {
            Expr::condition(source, names)
        } else {
            Expr::compile(source, names)
        };
        lock(&self.exprs).insert(key, compiled.clone());
        compiled
    }

    fn template(&self, source: &str, names: &Names) -> Result<Template, Vec<Problem>> {
        let key = (source.to_string(), names.clone());
        if let Some(done) = lock(&self.templates).get(&key) {
            return done.clone();
        }
        let compiled = Template::compile(source, names);
        lock(&self.templates).insert(key, compiled.clone());
        compiled
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Compiles a CEL expression written under `path`, each problem at its place in the file.
pub(crate) fn expression(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    source: &str,
    names: &Names,
    condition: bool,
) -> Option<Expr> {
    if let Some(offset) = source.find("${") {
        let offset = source[..offset].chars().count();
        let message = "`${…}` fills in text, not expressions: use env.vars.NAME (or a `let`)";
        cx.push(src.diag_in(path, source, offset, message));
        return None;
    }
    cx.compiled
        .expr(source, names, condition)
        .map_err(|problems| {
            for problem in problems {
                cx.push(src.diag_in(path, source, problem.offset, problem.message));
            }
        })
        .ok()
}

/// Compiles a template written under `path`: its `${…}` filled in for `scope` first (their
/// values kept literal), then its `{…}` expressions.
fn template(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    text: &str,
    scope: Option<&Scope<'_>>,
    names: &Names,
) -> Option<Template> {
    let filled = match scope {
        Some(scope) if text.contains("${") => {
            let escape = |value: &str| value.replace('{', "{{").replace('}', "}}");
            Tpl::new(cx, src, path.to_string(), text).resolve_with(cx, src, scope, &escape)?
        }
        _ => text.to_string(),
    };
    cx.compiled
        .template(&filled, names)
        .map_err(|problems| {
            for problem in problems {
                // Offsets count in the filled-in text: exact while nothing was filled in.
                let offset = if filled == text { problem.offset } else { 0 };
                cx.push(src.diag_in(path, text, offset, problem.message));
            }
        })
        .ok()
}

/// `summary` and `details` of a service.
fn texts(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    summary: &Option<raw::Texts>,
    details: &Option<raw::Texts>,
    scope: Option<&Scope<'_>>,
    names: &Names,
) -> Texts {
    let mut by_state = |key: &str, raw: &Option<raw::Texts>| {
        let at = join_key(path, key);
        let mut one = |at: &str, text: &Option<String>| {
            text.as_ref()
                .and_then(|text| template(cx, src, at, text, scope, names))
        };
        match raw {
            None => ByState::default(),
            Some(raw::Texts::Always(text)) => {
                let both = one(&at, &Some(text.clone()));
                ByState {
                    ok: both.clone(),
                    problem: both,
                }
            }
            Some(raw::Texts::ByState(texts)) => ByState {
                ok: one(&join_key(&at, "ok"), &texts.ok),
                problem: one(&join_key(&at, "problem"), &texts.problem),
            },
        }
    };
    Texts {
        summary: by_state("summary", summary),
        details: by_state("details", details),
    }
}

/// The conditions of `expect.that`.
fn conditions(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &[raw::Condition],
    scope: Option<&Scope<'_>>,
    names: &Names,
) -> Vec<Condition> {
    exact(raw.iter().enumerate().filter_map(|(i, condition)| {
        let at = join_index(path, i);
        match condition {
            raw::Condition::Plain(source) => Some(Condition {
                expr: expression(cx, src, &at, source, names, true)?,
                state: State::Crit,
                message: None,
            }),
            raw::Condition::Full(full) => {
                let expr = expression(cx, src, &join_key(&at, "cel"), &full.cel, names, true);
                let message = match &full.message {
                    Some(text) => Some(template(
                        cx,
                        src,
                        &join_key(&at, "message"),
                        text,
                        scope,
                        names,
                    )?),
                    None => None,
                };
                Some(Condition {
                    expr: expr?,
                    state: state(full.state),
                    message,
                })
            }
        }
    }))
}

fn expect(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Expect,
    scope: Option<&Scope<'_>>,
    names: &Names,
) -> Expect {
    let mut status = Vec::new();
    if let Some(codes) = &raw.status {
        let single =
            codes.0.len() == 1 && !src.has_value(&join_index(&join_key(path, "status"), 0));
        for (i, code) in codes.0.iter().enumerate() {
            let code_path = if single {
                join_key(path, "status")
            } else {
                join_index(&join_key(path, "status"), i)
            };
            match u16::try_from(*code) {
                Ok(code @ 100..=599) => status.push(code),
                _ => cx.push(src.diag(
                    &code_path,
                    format!("expected an integer 100–599, found {code}"),
                )),
            }
        }
    }
    let body = raw
        .body
        .iter()
        .enumerate()
        .filter_map(|(i, test)| {
            text_test(
                cx,
                src,
                &join_index(&join_key(path, "body"), i),
                test,
                scope,
            )
        })
        .collect();
    let mut headers = Vec::new();
    for (name, test) in &raw.headers {
        let header_path = join_key(&join_key(path, "headers"), name);
        let lower = name.to_ascii_lowercase();
        if !crate::values::is_header_name(name) {
            cx.push(src.diag_key(&header_path, format!("invalid header name {name:?}")));
        } else if headers.iter().any(|h: &HeaderAssertion| h.name == lower) {
            let message = format!("header {name:?} is tested twice (header names ignore case)");
            cx.push(src.diag_key(&header_path, message));
        }
        if let Some(assertion) = text_test(cx, src, &header_path, test, scope) {
            headers.push(HeaderAssertion {
                name: lower,
                assertion,
            });
        }
    }
    let response_time = raw
        .response_time
        .as_ref()
        .map(|levels| duration_levels(cx, src, &join_key(path, "response_time"), levels));
    let json = json_tests(cx, src, &join_key(path, "json"), &raw.json, scope);
    let conditions = conditions(cx, src, &join_key(path, "that"), &raw.that, scope, names);
    Expect {
        status,
        body,
        headers,
        json,
        response_time,
        conditions,
    }
}

fn json_tests(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &[raw::JsonTest],
    scope: Option<&Scope<'_>>,
) -> Vec<JsonAssertion> {
    exact(
        raw.iter()
            .enumerate()
            .filter_map(|(i, test)| json_test(cx, src, &join_index(path, i), test, scope)),
    )
}

/// Collects without growth slack: the plan keeps these vectors for the daemon's life, one per
/// check (a filtered collect reserves four).
fn exact<T>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut items: Vec<T> = items.collect();
    items.shrink_to_fit();
    items
}

fn text_test(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::TextTest,
    scope: Option<&Scope<'_>>,
) -> Option<TextAssertion> {
    let keys = [
        ("equals", raw.equals.is_some()),
        ("contains", raw.contains.is_some()),
        ("not_contains", raw.not_contains.is_some()),
        ("matches", raw.matches.is_some()),
    ];
    if !exactly_one(cx, src, path, &keys, "a text test") {
        return None;
    }
    let mut fill = |key: &str, text: &str| fill(cx, src, &join_key(path, key), text, scope);
    let test = if let Some(text) = &raw.equals {
        TextTest::Equals(fill("equals", text)?)
    } else if let Some(text) = &raw.contains {
        TextTest::Contains(fill("contains", text)?)
    } else if let Some(text) = &raw.not_contains {
        TextTest::NotContains(fill("not_contains", text)?)
    } else {
        let pattern = fill("matches", raw.matches.as_deref().unwrap_or_default())?;
        TextTest::Matches(regex(cx, src, &join_key(path, "matches"), &pattern)?)
    };
    Some(TextAssertion {
        test,
        state: state(raw.state),
    })
}

/// Compiles a regular expression, pointing at the offending character when the pattern is
/// spelled plainly in the file.
fn regex(cx: &mut Cx<'_>, src: &SourceFile, path: &str, pattern: &str) -> Option<regex::Regex> {
    let err = match regex::Regex::new(pattern) {
        Ok(re) => return Some(re),
        Err(err) => err,
    };
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    // regex's syntax errors are "regex parse error:", the pattern indented by 4, a caret line,
    // and "error: why".
    let why = lines
        .last()
        .map_or(text.as_str(), |l| l.trim_start_matches("error: ").trim());
    let offset = match lines.as_slice() {
        [_, shown, carets, ..] if !pattern.contains('\n') && shown.trim_start() == pattern => {
            carets.find('^').map(|c| c.saturating_sub(4))
        }
        _ => None,
    };
    let message = format!(
        "invalid regular expression: {}",
        crate::messages::lower_first(why)
    );
    cx.push(src.diag_in(path, pattern, offset.unwrap_or(0), message));
    None
}

fn json_path(cx: &mut Cx<'_>, src: &SourceFile, path: &str, text: &str) -> Option<JsonPath> {
    match JsonPath::parse(text) {
        Ok(p) => Some(p),
        Err(err) => {
            cx.push(src.diag(path, err));
            None
        }
    }
}

fn json_test(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::JsonTest,
    scope: Option<&Scope<'_>>,
) -> Option<JsonAssertion> {
    let json = json_path(cx, src, &join_key(path, "path"), &raw.path);
    let keys = [
        ("equals", raw.equals.is_some()),
        ("not_equals", raw.not_equals.is_some()),
        ("exists", raw.exists.is_some()),
        ("lt", raw.lt.is_some()),
        ("le", raw.le.is_some()),
        ("gt", raw.gt.is_some()),
        ("ge", raw.ge.is_some()),
    ];
    if !exactly_one(cx, src, path, &keys, "a JSON test") {
        return None;
    }
    let compare = [
        (Comparison::Lt, "lt", &raw.lt),
        (Comparison::Le, "le", &raw.le),
        (Comparison::Gt, "gt", &raw.gt),
        (Comparison::Ge, "ge", &raw.ge),
    ];
    let test = if let Some(value) = &raw.equals {
        let value = fill_json(cx, src, &join_key(path, "equals"), value, scope)?;
        length_number(cx, src, path, "equals", raw.length, &value)?;
        JsonTest::Equals(value)
    } else if let Some(value) = &raw.not_equals {
        let value = fill_json(cx, src, &join_key(path, "not_equals"), value, scope)?;
        length_number(cx, src, path, "not_equals", raw.length, &value)?;
        JsonTest::NotEquals(value)
    } else if let Some(exists) = raw.exists {
        if raw.length {
            cx.push(src.diag_key(
                &join_key(path, "length"),
                "`length` cannot be combined with `exists`",
            ));
            return None;
        }
        JsonTest::Exists(exists)
    } else {
        let (op, key, value) = compare.into_iter().find(|(_, _, v)| v.is_some())?;
        let value = number(cx, src, &join_key(path, key), value.as_ref(), scope).ok()??;
        JsonTest::Compare(op, value)
    };
    Some(JsonAssertion {
        path: json?,
        length: raw.length,
        test,
        state: state(raw.state),
    })
}

/// A compared JSON value with the `${…}` of its strings filled in for `scope`.
fn fill_json(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    value: &serde_json::Value,
    scope: Option<&Scope<'_>>,
) -> Option<serde_json::Value> {
    use serde_json::Value;
    Some(match value {
        Value::String(text) => Value::String(fill(cx, src, path, text, scope)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| fill_json(cx, src, &join_index(path, i), item, scope))
                .collect::<Option<_>>()?,
        ),
        Value::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, item)| {
                    let filled = fill_json(cx, src, &join_key(path, key), item, scope)?;
                    Some((key.clone(), filled))
                })
                .collect::<Option<_>>()?,
        ),
        other => other.clone(),
    })
}

/// With `length`, `equals`/`not_equals` compare a count, so they need a number.
fn length_number(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    key: &str,
    length: bool,
    value: &serde_json::Value,
) -> Option<()> {
    if length && !value.is_number() {
        cx.push(src.diag(
            &join_key(path, key),
            format!("with `length`, `{key}` needs a number, found {value}"),
        ));
        return None;
    }
    Some(())
}

fn metrics(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &[raw::Unit<raw::Metric>],
    metric_names: &mut Vec<String>,
    scope: Option<&Scope<'_>>,
    names: &Names,
) -> Vec<MetricSpec> {
    exact(raw.iter().enumerate().filter_map(|(i, m)| {
        metric(
            cx,
            src,
            &join_index(path, i),
            m.ok()?,
            metric_names,
            scope,
            names,
        )
    }))
}

fn metric(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Metric,
    metric_names: &mut Vec<String>,
    scope: Option<&Scope<'_>>,
    names: &Names,
) -> Option<MetricSpec> {
    let name_path = join_key(path, "name");
    let mut ok = true;
    if let Err(err) = checkd_checkmk::validate_metric_name(&raw.name) {
        cx.push(src.diag(&name_path, err));
        ok = false;
    } else if metric_names.contains(&raw.name) {
        let also = if raw.name == "response_time" {
            " (expect.response_time emits it)"
        } else {
            ""
        };
        cx.push(src.diag(
            &name_path,
            format!("duplicate metric name {:?}{also}", raw.name),
        ));
        ok = false;
    }
    metric_names.push(raw.name.clone());
    let keys = [
        ("json", raw.json.is_some()),
        ("from", raw.from.is_some()),
        ("cel", raw.cel.is_some()),
    ];
    let source = if exactly_one(cx, src, path, &keys, "a metric") {
        match (&raw.json, raw.from, &raw.cel) {
            (None, None, Some(source)) => {
                let at = join_key(path, "cel");
                expression(cx, src, &at, source, names, false).map(MetricSource::Cel)
            }
            (Some(text), _, _) => {
                json_path(cx, src, &join_key(path, "json"), text).map(|json| MetricSource::Json {
                    path: json,
                    length: raw.length,
                })
            }
            (None, from, _) => {
                if raw.length {
                    let message = "`length` only applies to `json` metrics";
                    cx.push(src.diag_key(&join_key(path, "length"), message));
                }
                match from {
                    Some(raw::MetricFrom::ResponseTime) => Some(MetricSource::ResponseTime),
                    Some(raw::MetricFrom::BodySize) => Some(MetricSource::BodySize),
                    None => None,
                }
            }
        }
    } else {
        None
    };
    let upper = raw.levels.as_ref().map_or(Levels::NONE, |l| {
        levels(cx, src, &join_key(path, "levels"), l, false, scope)
    });
    let lower = raw.lower_levels.as_ref().map_or(Levels::NONE, |l| {
        levels(cx, src, &join_key(path, "lower_levels"), l, true, scope)
    });
    let min = finite(cx, src, &join_key(path, "min"), raw.min);
    let max = finite(cx, src, &join_key(path, "max"), raw.max);
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo > hi {
            cx.push(src.diag(
                &join_key(path, "min"),
                format!("min ({lo}) is above max ({hi})"),
            ));
        }
    }
    let source = source?;
    ok.then(|| MetricSpec {
        name: raw.name.clone(),
        source,
        upper,
        lower,
        min,
        max,
    })
}

fn foreach(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Foreach,
    scope: Option<&Scope<'_>>,
    names: &Names,
) -> Option<Foreach> {
    let keys = [("path", raw.path.is_some()), ("cel", raw.cel.is_some())];
    let items = if exactly_one(cx, src, path, &keys, "a foreach") {
        match (&raw.path, &raw.cel) {
            (Some(text), _) => {
                json_path(cx, src, &join_key(path, "path"), text).map(ForeachItems::Path)
            }
            (None, Some(source)) => {
                expression(cx, src, &join_key(path, "cel"), source, names, false)
                    .map(ForeachItems::Cel)
            }
            (None, None) => None,
        }
    } else {
        None
    };
    let names = names.with("item").with("index");
    let suffix_path = join_key(path, "suffix");
    let suffix = template(cx, src, &suffix_path, &raw.suffix, scope, &names);
    if suffix
        .as_ref()
        .is_some_and(|t| !t.uses("item") && !t.uses("index"))
    {
        let message = "the suffix must use `item` or `index` (e.g. \" {item.name}\") so that every item gets its own service";
        cx.push(src.diag(&suffix_path, message));
    }
    let expect_path = join_key(path, "expect");
    let json = json_tests(
        cx,
        src,
        &join_key(&expect_path, "json"),
        &raw.expect.json,
        scope,
    );
    let conditions = conditions(
        cx,
        src,
        &join_key(&expect_path, "that"),
        &raw.expect.that,
        scope,
        &names,
    );
    let mut metric_names = Vec::new();
    let metrics = metrics(
        cx,
        src,
        &join_key(path, "metrics"),
        &raw.metrics,
        &mut metric_names,
        scope,
        &names,
    );
    let texts = texts(cx, src, path, &raw.summary, &raw.details, scope, &names);
    Some(Foreach {
        items: items?,
        suffix: suffix?,
        expect: Expect {
            json,
            conditions,
            ..Expect::default()
        },
        metrics,
        texts,
        rollup: match raw.rollup {
            Some(raw::RollupMode::Worst) => Rollup::Worst,
            Some(raw::RollupMode::Count) | None => Rollup::Count,
        },
    })
}

/// Upper levels written as durations, in seconds.
pub(crate) fn duration_levels(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::DurationLevels,
) -> Levels {
    let mut seconds = |key: &str, text: &Option<String>| {
        text.as_ref()
            .and_then(|t| duration(cx, src, &join_key(path, key), t))
            .map(|d| d.as_secs_f64())
    };
    let warn = seconds("warn", &raw.warn);
    let crit = seconds("crit", &raw.crit);
    if let (Some(w), Some(c)) = (warn, crit) {
        if w > c {
            let (tw, tc) = (raw.warn.as_deref(), raw.crit.as_deref());
            let message = format!(
                "warn ({}) is above crit ({})",
                tw.unwrap_or(""),
                tc.unwrap_or("")
            );
            cx.push(src.diag(&join_key(path, "warn"), message));
        }
    }
    Levels { warn, crit }
}
