//! watchpost-compatible output: one `<<<watchpost>>>` line per service, the base64 of a JSON
//! object, so a team can replace watchpost with checkd without touching its Checkmk server.
//!
//! The format is what watchpost's own Checkmk plugin reads
//! (`checkmk-integration/watchpost-plugin/agent_based/watchpost.py` in takkt-ag/watchpost: it
//! splits the section on whitespace, base64-decodes the first field of every line and
//! `json.loads` it) and what watchpost writes (`ExecutionResult.generate_checkmk_output` in
//! `src/watchpost/result.py`). checkd writes the keys in watchpost's order and formats the JSON
//! the way Python's `json.dumps` does by default (`", "` and `": "` separators, non-ASCII
//! escaped as `\uXXXX`, floats as Python's `repr`), so for the same result both write the same
//! bytes and a migration can be checked with `diff`.
//!
//! What checkd adds, because the plugin hands the values to Checkmk unchecked and Checkmk
//! raises on them (the service then shows a crash report instead of a state):
//! - `summary` never holds a newline and is never empty (`Result` rejects both);
//! - `details` is `null` rather than empty (`Result` rejects `""`);
//! - metric names keep to `A-Z a-z 0-9 - _ .`, non-finite values are dropped, a repeated name
//!   is dropped, and a missing warn/crit level or min/max is `null` (Checkmk's `Metric` takes
//!   `None` in either place). Lower levels have no place in the format and are left out.
//!
//! watchpost's optional `check_definition` key (where the Python check is defined) has no
//! checkd equivalent and is not written; the plugin does not read it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use checkd_model::{Metric, State};

use crate::parts::{Details, Metrics, ServiceName, Summary};

/// The section header watchpost writes and its plugin (`AgentSection(name="watchpost")`)
/// reads. No `sep` option: base64 holds no whitespace, so Checkmk's default split keeps each
/// line whole.
pub const WATCHPOST_HEADER: &str = "<<<watchpost>>>";

/// One service to write as a watchpost line, as any text: rendering sanitises it through a
/// [`WatchpostLine`].
#[derive(Clone, Copy, Debug)]
pub struct WatchpostService<'a> {
    /// The service name (watchpost's `service_name`); made valid like a local-check name.
    pub service: &'a str,
    /// Service labels, discovered by Checkmk with the service.
    pub labels: &'a BTreeMap<String, String>,
    /// The target environment's name (watchpost's `environment`).
    pub environment: &'a str,
    pub state: State,
    pub summary: &'a str,
    /// May contain real newlines, may be empty.
    pub details: &'a str,
    /// Extra detail line(s) appended after `details`, e.g. why the datasource is unavailable.
    pub note: Option<&'a str>,
    pub metrics: &'a [Metric],
}

/// One watchpost line made of sanitised parts: the only thing the watchpost writer takes.
/// Labels and the environment need no sanitising: JSON escapes any text, and base64 any JSON.
#[derive(Clone, Debug)]
pub struct WatchpostLine<'a> {
    pub service: ServiceName<'a>,
    pub labels: &'a BTreeMap<String, String>,
    pub environment: &'a str,
    pub state: State,
    pub summary: Summary<'a>,
    /// The details, then the note.
    pub details: Details<'a>,
    pub metrics: Metrics<'a>,
}

impl<'a> WatchpostLine<'a> {
    /// Sanitises every field of `service`.
    pub fn new(service: &WatchpostService<'a>) -> WatchpostLine<'a> {
        let details = Details::new(service.details);
        WatchpostLine {
            service: ServiceName::new(service.service),
            labels: service.labels,
            environment: service.environment,
            state: service.state,
            summary: Summary::new(service.summary),
            details: match service.note {
                Some(note) => details.and(note),
                None => details,
            },
            metrics: Metrics::new(service.metrics),
        }
    }
}

/// Watchpost lines rendered earlier, each followed by `\n`: what a scrape copies for a job
/// whose result did not change. Only [`WatchpostLines::push`] writes into it, so it holds
/// valid lines only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchpostLines(String);

impl WatchpostLines {
    pub fn new() -> WatchpostLines {
        WatchpostLines::default()
    }

    /// Renders `line` at the end.
    pub fn push(&mut self, line: &WatchpostLine<'_>) {
        let json = json(line);
        base64::engine::general_purpose::STANDARD.encode_string(json.as_bytes(), &mut self.0);
        self.0.push('\n');
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The length of the text in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// The line's text: the base64 (standard alphabet, padded, no line breaks) of
/// [`watchpost_json`], without a line ending.
pub fn watchpost_line(service: &WatchpostService<'_>) -> String {
    let mut lines = WatchpostLines::new();
    lines.push(&WatchpostLine::new(service));
    let mut line = lines.0;
    line.pop();
    line
}

/// The JSON object a watchpost line encodes.
///
/// Keys in watchpost's order: `service_name`, `service_labels`, `environment`, `check_state`
/// (`OK`, `WARN`, `CRIT` or `UNKNOWN`), `summary`, `metrics` (each `{name, value, levels?:
/// {warning, critical}, boundaries?: {lower, upper}}`), `details` (a string or `null`).
pub fn watchpost_json(service: &WatchpostService<'_>) -> String {
    json(&WatchpostLine::new(service))
}

fn json(line: &WatchpostLine<'_>) -> String {
    let metrics = line.metrics.as_slice();
    let mut json = String::with_capacity(
        160 + line.summary.as_str().len() + line.details.as_str().len() + 64 * metrics.len(),
    );
    json.push_str("{\"service_name\": ");
    push_json_string(&mut json, line.service.as_str());

    json.push_str(", \"service_labels\": {");
    for (index, (key, value)) in line.labels.iter().enumerate() {
        if index > 0 {
            json.push_str(", ");
        }
        push_json_string(&mut json, key);
        json.push_str(": ");
        push_json_string(&mut json, value);
    }
    json.push_str("}, \"environment\": ");
    push_json_string(&mut json, line.environment);
    json.push_str(", \"check_state\": ");
    push_json_string(&mut json, line.state.as_str());

    json.push_str(", \"summary\": ");
    push_json_string(&mut json, line.summary.as_str());

    json.push_str(", \"metrics\": [");
    push_metrics(&mut json, metrics);

    json.push_str("], \"details\": ");
    if line.details.is_empty() {
        json.push_str("null");
    } else {
        push_json_string(&mut json, line.details.as_str());
    }
    json.push('}');
    json
}

/// Writes metrics [`Metrics`] has sanitised: valid names, finite numbers only.
fn push_metrics(json: &mut String, metrics: &[Metric]) {
    for (index, metric) in metrics.iter().enumerate() {
        if index > 0 {
            json.push_str(", ");
        }
        json.push_str("{\"name\": ");
        push_json_string(json, &metric.name);
        json.push_str(", \"value\": ");
        push_python_float(json, metric.value);
        let (warn, crit) = (metric.upper.warn, metric.upper.crit);
        if warn.is_some() || crit.is_some() {
            json.push_str(", \"levels\": {\"warning\": ");
            push_optional_float(json, warn);
            json.push_str(", \"critical\": ");
            push_optional_float(json, crit);
            json.push('}');
        }
        let (min, max) = (metric.min, metric.max);
        if min.is_some() || max.is_some() {
            json.push_str(", \"boundaries\": {\"lower\": ");
            push_optional_float(json, min);
            json.push_str(", \"upper\": ");
            push_optional_float(json, max);
            json.push('}');
        }
        json.push('}');
    }
}

fn push_optional_float(json: &mut String, value: Option<f64>) {
    match value {
        Some(value) => push_python_float(json, value),
        None => json.push_str("null"),
    }
}

/// A finite float the way Python's `repr` (and so `json.dumps`) writes it: the shortest digits
/// that read back as the same value, in plain notation when the decimal exponent is in
/// -4..16 (always with a fraction, `5.0`), else as `1.5e-05` / `1e+16` (a sign and at least
/// two exponent digits).
fn push_python_float(buf: &mut String, value: f64) {
    // Both of Rust's formats write the shortest round-tripping digits, as Python does.
    let scientific = format!("{value:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        // `{:e}` always writes an exponent; keep a readable number if that ever changes.
        let _ = write!(buf, "{value}");
        return;
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..16).contains(&exponent) {
        let start = buf.len();
        let _ = write!(buf, "{value}");
        if !buf[start..].contains('.') {
            buf.push_str(".0");
        }
    } else {
        buf.push_str(mantissa);
        buf.push('e');
        buf.push(if exponent < 0 { '-' } else { '+' });
        let _ = write!(buf, "{:02}", exponent.unsigned_abs());
    }
}

/// A JSON string the way Python's `json.dumps` writes it with `ensure_ascii=True`: `"` and `\`
/// escaped, `\n \r \t \b \f` as short escapes, every other character outside printable ASCII
/// as `\uXXXX` (lower-case hex, UTF-16 surrogate pairs above U+FFFF).
fn push_json_string(buf: &mut String, text: &str) {
    buf.push('"');
    for c in text.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            '\u{8}' => buf.push_str("\\b"),
            '\u{c}' => buf.push_str("\\f"),
            ' '..='~' => buf.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    // Writing into a String cannot fail.
                    let _ = write!(buf, "\\u{unit:04x}");
                }
            }
        }
    }
    buf.push('"');
}

#[cfg(test)]
mod tests {
    use super::{push_json_string, push_python_float};

    fn float(value: f64) -> String {
        let mut buf = String::new();
        push_python_float(&mut buf, value);
        buf
    }

    /// Expected texts are Python 3's `json.dumps(value)`.
    #[test]
    fn floats_are_written_like_python() {
        let cases = [
            (0.081, "0.081"),
            (5.0, "5.0"),
            (1830.0, "1830.0"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e300, "1e+300"),
            (5e-324, "5e-324"),
            (2.5, "2.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-1e-7, "-1e-07"),
            (100.0, "100.0"),
            (1e22, "1e+22"),
            (1234.5678, "1234.5678"),
            (-2.2250738585072014e-308, "-2.2250738585072014e-308"),
            (1.0 / 3.0, "0.3333333333333333"),
        ];
        for (value, expected) in cases {
            assert_eq!(float(value), expected, "{value:?}");
        }
    }

    /// Expected texts are Python 3's `json.dumps(text)`.
    #[test]
    fn strings_are_escaped_like_python() {
        let cases = [
            ("plain", r#""plain""#),
            ("a \"q\" \\ b", r#""a \"q\" \\ b""#),
            (
                "\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}",
                r#""\n\r\t\b\f\u0000\u001f\u007f""#,
            ),
            ("Größe ✓", r#""Gr\u00f6\u00dfe \u2713""#),
            ("🦀", r#""\ud83e\udd80""#),
            ("", r#""""#),
        ];
        for (text, expected) in cases {
            let mut buf = String::new();
            push_json_string(&mut buf, text);
            assert_eq!(buf, expected, "{text:?}");
        }
    }
}
