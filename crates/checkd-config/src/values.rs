//! Stage-2 helpers shared by the config and the checks: durations, templates, names and levels,
//! each reporting its problems at the value's position.

use std::time::Duration;

use checkd_model::Levels;
use chrono::{DateTime, Utc};

use crate::diagnostics::Diagnostic;
use crate::keypath::join_key;
use crate::raw::{self, Number};
use crate::source::SourceFile;
use crate::template::{Scope, Template};

/// The state stage 2 carries around: the problems found so far and the outside world.
pub(crate) struct Cx<'a> {
    pub diags: Vec<Diagnostic>,
    /// Expressions and templates compiled so far in this load, shared by every file's worker.
    pub compiled: &'a crate::evaluation::Compiled,
    /// Process environment variables for `${env:NAME}`.
    pub env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// "Now", for the gaps between cron fire times.
    pub now: DateTime<Utc>,
}

impl Cx<'_> {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diags.push(diagnostic);
    }
}

/// Paths in the config are relative to its directory.
pub(crate) fn relative_to(dir: &std::path::Path, path: &str) -> std::path::PathBuf {
    dir.join(path)
}

/// Parses a humantime duration (`30s`, `5m`, `1h 30m`).
pub(crate) fn duration(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    text: &str,
) -> Option<Duration> {
    use humantime::DurationError as E;
    let err = match humantime::parse_duration(text) {
        Ok(d) => return Some(d),
        Err(err) => err,
    };
    let char_at = |byte: usize| text.get(..byte).map_or(0, |s| s.chars().count());
    let (offset, why) = match err {
        E::InvalidCharacter(at) => {
            let c = text.get(at..).and_then(|s| s.chars().next()).unwrap_or(' ');
            (char_at(at), format!("unexpected character {c:?}"))
        }
        E::NumberExpected(at) => (char_at(at), "expected a number".to_string()),
        E::UnknownUnit { value, unit, .. } if unit.is_empty() => {
            (0, format!("a unit is needed, e.g. {value}s or {value}m"))
        }
        E::UnknownUnit { start, unit, .. } => (
            char_at(start),
            format!("unknown unit {unit:?} (use ms, s, m, h, d)"),
        ),
        E::NumberOverflow => (0, "the number is too large".to_string()),
        E::Empty => (0, "it is empty".to_string()),
    };
    let message = format!("invalid duration {text:?}: {why}");
    cx.push(src.diag_in(path, text, offset, message));
    None
}

/// A duration that must be longer than zero.
pub(crate) fn positive_duration(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    text: &str,
) -> Option<Duration> {
    let d = duration(cx, src, path, text)?;
    if d.is_zero() {
        cx.push(src.diag(
            path,
            format!("expected a duration longer than 0, found {text:?}"),
        ));
        return None;
    }
    Some(d)
}

/// A template from a file, parsed once, resolved per environment.
#[derive(Debug, Clone)]
pub(crate) struct Tpl {
    pub path: String,
    pub text: String,
    /// `None` when it does not parse (already reported).
    pub parsed: Option<Template>,
}

impl Tpl {
    pub fn new(cx: &mut Cx<'_>, src: &SourceFile, path: String, text: &str) -> Tpl {
        let parsed = match Template::parse(text) {
            Ok(t) => Some(t),
            Err((offset, err)) => {
                cx.push(src.diag_in(&path, text, offset, err.to_string()));
                None
            }
        };
        Tpl {
            path,
            text: text.to_string(),
            parsed,
        }
    }

    /// The string for one environment; `None` after reporting why not (or silently, when an
    /// error reported elsewhere is the cause).
    pub fn resolve(&self, cx: &mut Cx<'_>, src: &SourceFile, scope: &Scope<'_>) -> Option<String> {
        self.resolve_with(cx, src, scope, &|value| value.to_string())
    }

    /// [`Tpl::resolve`] with every filled-in value passed through `insert`.
    pub fn resolve_with(
        &self,
        cx: &mut Cx<'_>,
        src: &SourceFile,
        scope: &Scope<'_>,
        insert: &dyn Fn(&str) -> String,
    ) -> Option<String> {
        match self.parsed.as_ref()?.resolve_with(scope, insert) {
            Ok(value) => Some(value),
            Err(errors) => {
                for (offset, err) in errors {
                    cx.push(src.diag_in(&self.path, &self.text, offset, err.to_string()));
                }
                None
            }
        }
    }
}

/// Names of environments and datasources: letters, digits, `_`, `-`, `.`.
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// `http://host…` or `https://host…`, without whitespace or control characters.
pub(crate) fn is_absolute_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let host_ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with(['/', '?', '#']));
    host_ok && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// HTTP header names (RFC 9110 tokens).
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// A number that must be finite (YAML allows `.inf` and `.nan`).
pub(crate) fn finite(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    value: Option<f64>,
) -> Option<f64> {
    match value {
        Some(v) if !v.is_finite() => {
            cx.push(src.diag(path, format!("expected a finite number, found {v}")));
            None
        }
        other => other,
    }
}

/// `text` with its `${…}` filled in for `scope`'s environment, or as written without a scope
/// (the caller gives one whenever the check uses `${`); `None` after reporting why not.
pub(crate) fn fill(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    text: &str,
    scope: Option<&Scope<'_>>,
) -> Option<String> {
    match scope {
        Some(scope) if text.contains("${") => {
            Tpl::new(cx, src, path.to_string(), text).resolve(cx, src, scope)
        }
        _ => Some(text.to_string()),
    }
}

/// A number as written, or its template filled in for `scope`'s environment and read as one;
/// `Err` after reporting why not.
pub(crate) fn number(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    value: Option<&Number>,
    scope: Option<&Scope<'_>>,
) -> Result<Option<f64>, ()> {
    let value = match value {
        None => return Ok(None),
        Some(Number::Value(v)) => *v,
        Some(Number::Text(text)) => {
            let filled = fill(cx, src, path, text, scope).ok_or(())?;
            match filled.trim().parse::<f64>() {
                Ok(v) => v,
                Err(_) => {
                    let whence = scope.map_or(String::new(), |s| {
                        format!(" (from {text:?} in environment {})", s.environment)
                    });
                    cx.push(src.diag(path, format!("expected a number, found {filled:?}{whence}")));
                    return Err(());
                }
            }
        }
    };
    finite(cx, src, path, Some(value)).map(Some).ok_or(())
}

/// Upper (`warn` ≤ `crit`) or lower (`warn` ≥ `crit`) levels, filled in for `scope`.
pub(crate) fn levels(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Levels,
    lower: bool,
    scope: Option<&Scope<'_>>,
) -> Levels {
    let warn = number(cx, src, &join_key(path, "warn"), raw.warn.as_ref(), scope).unwrap_or(None);
    let crit = number(cx, src, &join_key(path, "crit"), raw.crit.as_ref(), scope).unwrap_or(None);
    if let (Some(w), Some(c)) = (warn, crit) {
        if !lower && w > c {
            let message = format!("warn ({w}) is above crit ({c}); upper levels need warn ≤ crit");
            cx.push(src.diag(&join_key(path, "warn"), message));
        }
        if lower && w < c {
            let message = format!("warn ({w}) is below crit ({c}); lower levels need warn ≥ crit");
            cx.push(src.diag(&join_key(path, "warn"), message));
        }
    }
    Levels { warn, crit }
}

/// Checks that exactly one of `keys` (name, present) under `path` is given; otherwise reports
/// it, at the mapping when none is, at the second key given when several are.
pub(crate) fn exactly_one(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    keys: &[(&str, bool)],
    what: &str,
) -> bool {
    let given: Vec<&str> = keys
        .iter()
        .filter(|(_, present)| *present)
        .map(|(k, _)| *k)
        .collect();
    let names: Vec<String> = keys.iter().map(|(k, _)| format!("`{k}`")).collect();
    let list = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    };
    match given.as_slice() {
        [_] => true,
        [] => {
            cx.push(src.diag(path, format!("{what} needs one of {list}")));
            false
        }
        [_, second, ..] => {
            let message = format!(
                "{what} takes only one of {list}, found {}",
                given.join(" and ")
            );
            cx.push(src.diag_key(&join_key(path, second), message));
            false
        }
    }
}
