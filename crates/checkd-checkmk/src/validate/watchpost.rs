//! One `<<<watchpost>>>` line: base64 of a JSON object, as watchpost's Checkmk plugin reads it.
//!
//! The rules are what makes the plugin or Checkmk fail on a line: the plugin indexes
//! `service_name`, `service_labels`, `check_state`, `summary` and `details` directly and both
//! `warning` and `critical` (`lower` and `upper`) of a metric's `levels` (`boundaries`);
//! Checkmk's `Result` rejects an empty summary, a newline in it and empty details, and its
//! `Metric` rejects a non-number. Beyond that, checkd's own contract: service and metric names
//! as for local checks, finite numbers, no repeated metric name. Other keys (watchpost's
//! `check_definition`) are allowed and ignored.

use std::collections::BTreeMap;

use base64::Engine as _;
use checkd_model::State;
use serde_json::{Map, Value};

use super::{ParsedMetric, ParsedWatchpost};
use crate::names::{validate_metric_name, validate_service_name};

/// Parses one watchpost line (without its line ending) and checks every field.
pub fn parse_watchpost_line(line: &str) -> Result<ParsedWatchpost, String> {
    if line.contains(char::is_whitespace) {
        return Err("whitespace in a watchpost line (Checkmk splits the line there)".into());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(line)
        .map_err(|e| format!("watchpost line is not standard base64: {e}"))?;
    let json = String::from_utf8(bytes).map_err(|_| "watchpost line is not UTF-8 JSON")?;
    let value: Value = serde_json::from_str(&json)
        .map_err(|e| format!("watchpost line does not hold JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("watchpost line does not hold a JSON object".into());
    };

    let service = string(&object, "service_name")?;
    validate_service_name(service).map_err(|e| format!("invalid service_name: {e}"))?;
    let labels = match field(&object, "service_labels")? {
        Value::Object(labels) => labels
            .iter()
            .map(|(key, value)| match value {
                Value::String(value) => Ok((key.clone(), value.clone())),
                _ => Err(format!("service label {key:?} is not a string")),
            })
            .collect::<Result<BTreeMap<String, String>, String>>()?,
        _ => return Err("service_labels is not an object".into()),
    };
    let environment = string(&object, "environment")?;
    let state = match string(&object, "check_state")? {
        "OK" => State::Ok,
        "WARN" => State::Warn,
        "CRIT" => State::Crit,
        "UNKNOWN" => State::Unknown,
        other => {
            return Err(format!(
                "invalid check_state {other:?} (expected OK, WARN, CRIT or UNKNOWN)"
            ))
        }
    };
    let summary = string(&object, "summary")?;
    if summary.is_empty() {
        return Err("summary is empty (Checkmk rejects an empty summary)".into());
    }
    if summary.contains('\n') {
        return Err("summary contains a newline (Checkmk rejects it)".into());
    }
    let details = match field(&object, "details")? {
        Value::Null => None,
        Value::String(details) if details.is_empty() => {
            return Err("details is an empty string (write null; Checkmk rejects \"\")".into())
        }
        Value::String(details) => Some(details.clone()),
        _ => return Err("details is neither a string nor null".into()),
    };
    let Value::Array(entries) = field(&object, "metrics")? else {
        return Err("metrics is not a list".into());
    };
    let mut metrics: Vec<ParsedMetric> = Vec::with_capacity(entries.len());
    for entry in entries {
        let metric = metric(entry)?;
        if metrics.iter().any(|m| m.name == metric.name) {
            return Err(format!("duplicate metric {:?}", metric.name));
        }
        metrics.push(metric);
    }
    Ok(ParsedWatchpost {
        service: service.to_string(),
        labels,
        environment: environment.to_string(),
        state,
        summary: summary.to_string(),
        details,
        metrics,
    })
}

fn field<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a Value, String> {
    object
        .get(key)
        .ok_or_else(|| format!("missing key {key:?}"))
}

fn string<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    field(object, key)?
        .as_str()
        .ok_or_else(|| format!("{key} is not a string"))
}

/// `{name, value, levels?: {warning, critical}, boundaries?: {lower, upper}}`.
fn metric(entry: &Value) -> Result<ParsedMetric, String> {
    let Value::Object(object) = entry else {
        return Err("a metric is not an object".into());
    };
    let name = string(object, "name").map_err(|e| format!("metric: {e}"))?;
    validate_metric_name(name)?;
    let value = match field(object, "value") {
        Ok(value) => number(value, name, "value")?,
        Err(_) => return Err(format!("metric {name:?} has no value")),
    };
    let levels = pair(object, name, "levels", ["warning", "critical"])?;
    let boundaries = pair(object, name, "boundaries", ["lower", "upper"])?;
    Ok(ParsedMetric {
        name: name.to_string(),
        value,
        upper: levels,
        lower: (None, None),
        min: boundaries.0,
        max: boundaries.1,
    })
}

/// An optional `{first: number|null, second: number|null}`; both keys must be there.
fn pair(
    object: &Map<String, Value>,
    name: &str,
    key: &str,
    keys: [&str; 2],
) -> Result<(Option<f64>, Option<f64>), String> {
    let Some(value) = object.get(key) else {
        return Ok((None, None));
    };
    let Value::Object(inner) = value else {
        return Err(format!("{key} of metric {name:?} is not an object"));
    };
    let mut out = [None, None];
    for (slot, inner_key) in out.iter_mut().zip(keys) {
        let what = format!("{key}.{inner_key}");
        *slot = match inner.get(inner_key) {
            None => return Err(format!("{what} of metric {name:?} is missing")),
            Some(Value::Null) => None,
            Some(value) => Some(number(value, name, &what)?),
        };
    }
    Ok((out[0], out[1]))
}

fn number(value: &Value, name: &str, what: &str) -> Result<f64, String> {
    value
        .as_f64()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{what} of metric {name:?} is not a finite number: {value}"))
}
