//! Stage 2 of a check's judgement: `expect`, `metrics` and `foreach` become the plan's
//! `Expect`, `MetricSpec`s and `Foreach`. None of it depends on the environment.

use checkd_model::plan::{
    Comparison, Evaluation, Expect, Foreach, HeaderAssertion, JsonAssertion, JsonPath, JsonTest,
    MetricSource, MetricSpec, TextAssertion, TextTest,
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

/// The check's evaluation; the foreach suffix is returned as a template to resolve per environment.
pub(crate) fn evaluation(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    check: &raw::Check,
    scope: Option<&Scope<'_>>,
) -> (Evaluation, Option<Tpl>) {
    let expect = match check.expect.ok() {
        Some(raw) => expect(cx, src, &join_key(path, "expect"), raw, scope),
        None => Expect::default(),
    };
    let mut names: Vec<String> = Vec::new();
    if expect.response_time.is_some() {
        names.push("response_time".to_string());
    }
    let metrics = metrics(
        cx,
        src,
        &join_key(path, "metrics"),
        &check.metrics,
        &mut names,
        scope,
    );
    let (foreach, suffix) = match check.foreach.as_ref().and_then(raw::Unit::ok) {
        Some(raw) => {
            let (foreach, suffix) = foreach(cx, src, &join_key(path, "foreach"), raw, scope);
            (Some(foreach), suffix)
        }
        None => (None, None),
    };
    (
        Evaluation {
            expect,
            metrics,
            ok_summary: check
                .ok_summary
                .as_ref()
                .and_then(|t| fill(cx, src, &join_key(path, "ok_summary"), t, scope)),
            foreach,
        },
        suffix,
    )
}

fn expect(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Expect,
    scope: Option<&Scope<'_>>,
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
    Expect {
        status,
        body,
        headers,
        json,
        response_time,
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
    names: &mut Vec<String>,
    scope: Option<&Scope<'_>>,
) -> Vec<MetricSpec> {
    exact(
        raw.iter()
            .enumerate()
            .filter_map(|(i, m)| metric(cx, src, &join_index(path, i), m.ok()?, names, scope)),
    )
}

fn metric(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Metric,
    names: &mut Vec<String>,
    scope: Option<&Scope<'_>>,
) -> Option<MetricSpec> {
    let name_path = join_key(path, "name");
    let mut ok = true;
    if let Err(err) = checkd_checkmk::validate_metric_name(&raw.name) {
        cx.push(src.diag(&name_path, err));
        ok = false;
    } else if names.contains(&raw.name) {
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
    names.push(raw.name.clone());
    let keys = [("json", raw.json.is_some()), ("from", raw.from.is_some())];
    let source = if exactly_one(cx, src, path, &keys, "a metric") {
        match (&raw.json, raw.from) {
            (Some(text), _) => {
                json_path(cx, src, &join_key(path, "json"), text).map(|json| MetricSource::Json {
                    path: json,
                    length: raw.length,
                })
            }
            (None, from) => {
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
) -> (Foreach, Option<Tpl>) {
    let items = json_path(cx, src, &join_key(path, "path"), &raw.path);
    let suffix_path = join_key(path, "suffix");
    let suffix = Tpl::new(cx, src, suffix_path.clone(), &raw.suffix);
    if suffix.parsed.as_ref().is_some_and(|t| !t.has_runtime()) {
        let message = "the suffix must use ${item.FIELD}, ${item} or ${index} so that every element gets its own service";
        cx.push(src.diag(&suffix_path, message));
    }
    let json = json_tests(
        cx,
        src,
        &join_key(&join_key(path, "expect"), "json"),
        &raw.expect.json,
        scope,
    );
    let mut names = Vec::new();
    let metrics = metrics(
        cx,
        src,
        &join_key(path, "metrics"),
        &raw.metrics,
        &mut names,
        scope,
    );
    let foreach = Foreach {
        path: items.unwrap_or_else(|| JsonPath {
            text: String::new(),
            pointer: String::new(),
        }),
        suffix: String::new(),
        expect: Expect {
            json,
            ..Expect::default()
        },
        metrics,
        ok_summary: raw
            .ok_summary
            .as_ref()
            .and_then(|t| fill(cx, src, &join_key(path, "ok_summary"), t, scope)),
    };
    (foreach, Some(suffix))
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
