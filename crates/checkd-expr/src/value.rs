//! [`Value`]: an evaluation's result as plain data, for messages, templates and tests, and the
//! text it renders as.
//!
//! Not what evaluation works with: that is cel's `dyn Val` (and our `json` containers), which
//! borrow the response. A `Value` owns its data, so converting a large list copies it; the
//! checks convert only what they show or compare.

use cel::common::types::{
    CelBool, CelBytes, CelDouble, CelDuration, CelInt, CelMap, CelString, CelTimestamp, CelType,
    CelUInt, Kind,
};
use cel::common::value::Val;
use std::fmt::{self, Write as _};

/// A result for messages and tests.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    String(String),
    Timestamp(chrono::DateTime<chrono::FixedOffset>),
    Duration(chrono::Duration),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
    /// Anything else (a type, bytes): its text.
    Other(String),
}

impl Value {
    /// As JSON: timestamps and durations as the text they render as, other kinds as their text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::UInt(u) => J::from(*u),
            Value::Double(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Timestamp(_) | Value::Duration(_) | Value::Other(_) => {
                J::String(self.to_string())
            }
        }
    }
}

/// Deeper than this, a result is cut off (`…`): JSON is at most 128 deep and expressions 64.
const MAX_DEPTH: usize = 256;

/// Copies `v` into a [`Value`]. Iterating a list or map of the response costs the run's steps,
/// as everywhere else; a map the expression built is sorted by key, as it has no order of its
/// own, while the response's keep the document's.
pub(crate) fn from_val(v: &dyn Val) -> Value {
    convert(v, 0)
}

fn convert(v: &dyn Val, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Other("…".to_owned());
    }
    let t = v.get_type();
    let other = || Value::Other(crate::error::type_name(t).to_owned());
    match t.kind() {
        Kind::NullType => Value::Null,
        Kind::Boolean => v
            .downcast_ref::<CelBool>()
            .map_or_else(other, |b| Value::Bool(*b.inner())),
        Kind::Int => v
            .downcast_ref::<CelInt>()
            .map_or_else(other, |i| Value::Int(*i.inner())),
        Kind::UInt => v
            .downcast_ref::<CelUInt>()
            .map_or_else(other, |u| Value::UInt(*u.inner())),
        Kind::Double => v
            .downcast_ref::<CelDouble>()
            .map_or_else(other, |d| Value::Double(*d.inner())),
        Kind::String => v
            .downcast_ref::<CelString>()
            .map_or_else(other, |s| Value::String(s.inner().to_owned())),
        Kind::Bytes => v.downcast_ref::<CelBytes>().map_or_else(other, |b| {
            Value::Other(String::from_utf8_lossy(b.inner()).into_owned())
        }),
        Kind::Timestamp => v
            .downcast_ref::<CelTimestamp>()
            .map_or_else(other, |ts| Value::Timestamp(*ts.inner())),
        Kind::Duration => v
            .downcast_ref::<CelDuration>()
            .map_or_else(other, |d| Value::Duration(*d.inner())),
        Kind::Type => v
            .downcast_ref::<CelType>()
            .map_or_else(other, |t| Value::Other(t.name().to_owned())),
        Kind::List => {
            let Some(iterable) = v.as_iterable() else {
                return other();
            };
            let mut items = Vec::new();
            let mut elements = iterable.iter();
            while let Some(item) = elements.next() {
                items.push(convert(item, depth + 1));
            }
            Value::List(items)
        }
        Kind::Map => {
            let (Some(keys), Some(indexer)) = (v.as_iterable(), v.as_indexer()) else {
                return other();
            };
            let mut entries = Vec::new();
            let mut keys = keys.iter();
            while let Some(key) = keys.next() {
                let value = indexer
                    .get(key)
                    .map_or(Value::Null, |value| convert(value.as_ref(), depth + 1));
                entries.push((key_text(key), value));
            }
            if v.downcast_ref::<CelMap>().is_some() {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            Value::Map(entries)
        }
        _ => other(),
    }
}

/// A map key as text: a string as it is, a number or bool as it prints.
fn key_text(key: &dyn Val) -> String {
    match convert(key, MAX_DEPTH) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Go's `time.Duration` text: `1h2m3s`, `2.5s`, `1.5ms`, `0s`.
pub(crate) fn format_duration(d: chrono::Duration) -> String {
    let nanos = i128::from(d.num_seconds()) * 1_000_000_000 + i128::from(d.subsec_nanos());
    if nanos == 0 {
        return "0s".to_owned();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    let fraction = |whole: u128, part: u128, digits: usize| {
        let mut text = whole.to_string();
        if part != 0 {
            let decimals = format!("{part:0digits$}");
            text.push('.');
            text.push_str(decimals.trim_end_matches('0'));
        }
        text
    };
    if n < 1_000 {
        return format!("{sign}{n}ns");
    }
    if n < 1_000_000 {
        return format!("{sign}{}µs", fraction(n / 1_000, n % 1_000, 3));
    }
    if n < 1_000_000_000 {
        return format!("{sign}{}ms", fraction(n / 1_000_000, n % 1_000_000, 6));
    }
    let seconds = n / 1_000_000_000;
    let (hours, minutes, secs) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let mut out = sign.to_owned();
    if hours > 0 {
        let _ = write!(out, "{hours}h{minutes}m");
    } else if minutes > 0 {
        let _ = write!(out, "{minutes}m");
    }
    out.push_str(&fraction(secs, n % 1_000_000_000, 9));
    out.push('s');
    out
}

/// A double in its shortest form that reads back the same, without `.0` when whole (Rust's
/// `Display`), switching to an exponent beyond 1e21 and below 1e-7 as JavaScript does, so
/// that no number prints as hundreds of digits.
pub(crate) fn format_double(d: f64) -> String {
    let magnitude = d.abs();
    if d.is_finite() && magnitude != 0.0 && !(1e-7..1e21).contains(&magnitude) {
        format!("{d:e}")
    } else {
        d.to_string()
    }
}

/// RFC 3339, with `Z` for UTC and only the fraction digits it needs.
pub(crate) fn format_timestamp(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The same text `Scope::render` gives: a string as it is; numbers as CEL prints them, a whole
/// double without `.0`; timestamps in RFC 3339, durations like `1h2m3s`; lists and maps as
/// JSON-ish text (strings quoted inside them).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) | Value::Other(s) => f.write_str(s),
            Value::Timestamp(t) => f.write_str(&format_timestamp(t)),
            Value::Duration(d) => f.write_str(&format_duration(*d)),
            other => write_nested(other, f),
        }
    }
}

fn write_nested(value: &Value, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match value {
        Value::Null => f.write_str("null"),
        Value::Bool(b) => write!(f, "{b}"),
        Value::Int(i) => write!(f, "{i}"),
        Value::UInt(u) => write!(f, "{u}"),
        Value::Double(d) => f.write_str(&format_double(*d)),
        Value::String(s) | Value::Other(s) => write_quoted(s, f),
        Value::Timestamp(t) => write_quoted(&format_timestamp(t), f),
        Value::Duration(d) => write_quoted(&format_duration(*d), f),
        Value::List(items) => {
            f.write_char('[')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_nested(item, f)?;
            }
            f.write_char(']')
        }
        Value::Map(entries) => {
            f.write_char('{')?;
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_quoted(key, f)?;
                f.write_str(": ")?;
                write_nested(item, f)?;
            }
            f.write_char('}')
        }
    }
}

/// A JSON string literal.
fn write_quoted(s: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{:04x}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_prints_them() {
        let cases = [
            (0, 0, "0s"),
            (0, 1, "1ns"),
            (0, 1_500, "1.5µs"),
            (0, 2_000_000, "2ms"),
            (0, 999_999_999, "999.999999ms"),
            (1, 0, "1s"),
            (2, 500_000_000, "2.5s"),
            (59, 0, "59s"),
            (60, 0, "1m0s"),
            (3723, 0, "1h2m3s"),
            (3600 * 100, 1, "100h0m0.000000001s"),
            (-90, 0, "-1m30s"),
        ];
        for (secs, nanos, expected) in cases {
            let d = chrono::Duration::seconds(secs) + chrono::Duration::nanoseconds(nanos);
            assert_eq!(format_duration(d), expected, "{secs}s {nanos}ns");
        }
        // chrono's extreme (i64::MIN milliseconds) does not overflow the nanoseconds
        assert_eq!(
            format_duration(chrono::Duration::MIN),
            "-2562047788015h12m55.807s"
        );
    }

    #[test]
    fn doubles_print_short() {
        let cases = [
            (1.0, "1"),
            (-0.5, "-0.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e20, "100000000000000000000"),
            (1e21, "1e21"),
            (1.5e300, "1.5e300"),
            (1e-7, "0.0000001"),
            (1.5e-8, "1.5e-8"),
            (0.0, "0"),
            (f64::INFINITY, "inf"),
        ];
        for (d, expected) in cases {
            assert_eq!(format_double(d), expected, "{d:?}");
        }
    }
}
