//! One local-check line: `[cached(T,I) ]STATE "SERVICE" METRICS SUMMARY[\nDETAILS…]`.

use checkd_model::State;

use super::{ParsedLine, ParsedMetric, ParsedState};
use crate::names::{validate_metric_name, validate_service_name};

const TWO_SPACES: &str = "more than one space between fields (Checkmk drops the line)";

/// Parses one local-check line (without its line ending) and checks every field.
pub fn parse_local_line(line: &str) -> Result<ParsedLine, String> {
    if let Some(c) = line.chars().find(|c| c.is_control() && *c != '\t') {
        return Err(match c {
            '\n' => "real newline inside the line (details are separated by a literal \\n)".into(),
            '\r' => "carriage return inside the line".into(),
            c => format!("control character {c:?} in the line"),
        });
    }
    if line.starts_with(char::is_whitespace) {
        return Err("line starts with whitespace".into());
    }
    if line.ends_with(char::is_whitespace) {
        return Err("trailing whitespace (Checkmk strips it)".into());
    }

    let (cached, rest) = match line.strip_prefix("cached(") {
        Some(after) => {
            let (cached, rest) = parse_cached(after)?;
            (Some(cached), rest)
        }
        None => (None, line),
    };

    let (state, rest) = rest
        .split_once(' ')
        .ok_or("missing service name after the state")?;
    let state = match state {
        "0" => ParsedState::Fixed(State::Ok),
        "1" => ParsedState::Fixed(State::Warn),
        "2" => ParsedState::Fixed(State::Crit),
        "3" => ParsedState::Fixed(State::Unknown),
        "P" => ParsedState::P,
        "" => return Err(TWO_SPACES.into()),
        other => {
            return Err(format!(
                "invalid state {other:?} (expected 0, 1, 2, 3 or P)"
            ))
        }
    };

    let (service, rest) = split_service(rest)?;
    validate_service_name(service).map_err(|e| format!("invalid service name {service:?}: {e}"))?;

    let (metrics_field, summary) = match rest.split_once(' ') {
        Some(("", _)) => return Err(TWO_SPACES.into()),
        Some(fields) => fields,
        None if rest.is_empty() => return Err("missing metrics field (write - for none)".into()),
        None => return Err("missing summary after the metrics field".into()),
    };
    let metrics = parse_metrics(metrics_field)
        .map_err(|e| format!("invalid metrics {metrics_field:?}: {e}"))?;
    if summary.starts_with(' ') {
        return Err(TWO_SPACES.into());
    }
    if summary.starts_with(char::is_whitespace) {
        return Err("summary starts with whitespace".into());
    }

    let mut texts = summary.split("\\n");
    let summary = texts.next().unwrap_or_default();
    if summary.is_empty() {
        return Err("empty summary before the first \\n (Checkmk rejects an empty summary)".into());
    }
    Ok(ParsedLine {
        cached,
        state,
        service: service.to_string(),
        metrics,
        summary: summary.to_string(),
        details: texts.map(str::to_string).collect(),
    })
}

/// `T,I) rest` after `cached(`: the numbers and what follows the single space.
fn parse_cached(after: &str) -> Result<((i64, u64), &str), String> {
    let (inner, rest) = after
        .split_once(')')
        .ok_or("cached( prefix without closing ')'")?;
    let malformed =
        || format!("malformed prefix cached({inner}) (expected cached(T,I) with integers)");
    let (time, interval) = inner.split_once(',').ok_or_else(malformed)?;
    if !is_digits(time) || !is_digits(interval) {
        return Err(malformed());
    }
    let time: i64 = time
        .parse()
        .map_err(|_| format!("time in cached({inner}) is out of range"))?;
    let interval: u64 = interval
        .parse()
        .map_err(|_| format!("interval in cached({inner}) is out of range"))?;
    if interval == 0 {
        return Err(format!(
            "cached({inner}) has interval 0, which Checkmk divides by"
        ));
    }
    match rest.strip_prefix(' ') {
        Some(rest) if rest.starts_with(' ') => Err(TWO_SPACES.into()),
        Some(rest) => Ok(((time, interval), rest)),
        None => Err(format!("missing space after cached({inner})")),
    }
}

/// `"NAME" rest`: the name and what follows the single space after the closing quote.
fn split_service(rest: &str) -> Result<(&str, &str), String> {
    let Some(quoted) = rest.strip_prefix('"') else {
        return Err(if rest.starts_with(' ') {
            TWO_SPACES.into()
        } else if rest.starts_with('\'') {
            "service name in single quotes (write it in double quotes)".into()
        } else {
            "service name is not in double quotes".into()
        });
    };
    let (service, rest) = quoted
        .split_once('"')
        .ok_or("service name without closing '\"'")?;
    match rest.strip_prefix(' ') {
        Some(rest) => Ok((service, rest)),
        None if rest.is_empty() => Err("missing metrics field after the service name".into()),
        None => Err("missing space after the service name".into()),
    }
}

/// Parses the METRICS field: `-`, or `name=value;warn;crit;min;max` entries joined by `|`.
pub fn parse_metrics(token: &str) -> Result<Vec<ParsedMetric>, String> {
    if token == "-" {
        return Ok(Vec::new());
    }
    if token.is_empty() {
        return Err("empty metrics field (write - for none)".into());
    }
    let mut metrics: Vec<ParsedMetric> = Vec::new();
    for entry in token.split('|') {
        let metric = parse_metric(entry)?;
        if metrics.iter().any(|m| m.name == metric.name) {
            return Err(format!("duplicate metric {:?}", metric.name));
        }
        metrics.push(metric);
    }
    Ok(metrics)
}

fn parse_metric(entry: &str) -> Result<ParsedMetric, String> {
    if entry.is_empty() {
        return Err("empty metric entry".into());
    }
    let (name, fields) = entry
        .split_once('=')
        .ok_or_else(|| format!("metric entry {entry:?} has no '='"))?;
    validate_metric_name(name)?;
    let fields: Vec<&str> = fields.split(';').collect();
    if fields.len() > 5 {
        return Err(format!(
            "metric {name:?} has {} fields; at most 5 (value;warn;crit;min;max)",
            fields.len()
        ));
    }
    let field = |i: usize| fields.get(i).copied().unwrap_or_default();
    if field(0).is_empty() {
        return Err(format!("metric {name:?} has no value"));
    }
    let value = number(field(0), name, "value")?;
    let (lower_warn, upper_warn) = levels(field(1), name, "warn")?;
    let (lower_crit, upper_crit) = levels(field(2), name, "crit")?;
    let min = optional_number(field(3), name, "min")?;
    let max = optional_number(field(4), name, "max")?;
    Ok(ParsedMetric {
        name: name.to_string(),
        value,
        upper: (upper_warn, upper_crit),
        lower: (lower_warn, lower_crit),
        min,
        max,
    })
}

/// A warn or crit field: empty, `upper`, `lower:` or `lower:upper`.
fn levels(text: &str, name: &str, what: &str) -> Result<(Option<f64>, Option<f64>), String> {
    match text.split_once(':') {
        None => Ok((None, optional_number(text, name, what)?)),
        Some(("", _)) => Err(format!(
            "{what} level of metric {name:?} has nothing before ':'"
        )),
        Some((lower, upper)) => Ok((
            Some(number(lower, name, &format!("lower {what} level"))?),
            optional_number(upper, name, what)?,
        )),
    }
}

fn optional_number(text: &str, name: &str, what: &str) -> Result<Option<f64>, String> {
    if text.is_empty() {
        Ok(None)
    } else {
        number(text, name, what).map(Some)
    }
}

/// A plain decimal number (`-?[0-9]+(\.[0-9]+)?`), finite.
fn number(text: &str, name: &str, what: &str) -> Result<f64, String> {
    if !is_plain_decimal(text) {
        return Err(explain_bad_number(text, name, what));
    }
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(format!(
            "{what} of metric {name:?} is out of range: {text:?}"
        )),
    }
}

fn is_plain_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    match unsigned.split_once('.') {
        Some((int, frac)) => is_digits(int) && is_digits(frac),
        None => is_digits(unsigned),
    }
}

fn explain_bad_number(text: &str, name: &str, what: &str) -> String {
    let word = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if matches!(word.as_str(), "nan" | "inf" | "infinity") {
        return format!("{what} of metric {name:?} is {text:?}: NaN and infinity are not allowed");
    }
    let number_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'));
    if let Some(end) = number_end.filter(|end| *end > 0) {
        let suffix = &text[end..];
        if is_plain_decimal(&text[..end]) && suffix.chars().all(|c| c.is_alphabetic() || c == '%') {
            return format!(
                "{what} of metric {name:?} has a unit suffix: {text:?} (write bare numbers)"
            );
        }
    }
    if text.contains(['e', 'E']) && text.parse::<f64>().is_ok() {
        return format!("{what} of metric {name:?} uses exponent notation: {text:?}");
    }
    format!("{what} of metric {name:?} is not a plain decimal number: {text:?}")
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}
