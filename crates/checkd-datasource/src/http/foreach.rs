//! `foreach`: one service per element of a JSON array, named by a suffix template.

use std::collections::HashSet;

use checkd_model::plan::{Foreach, Job, JsonPath};
use checkd_model::{format_number, Partial, ServiceResult, State};
use serde_json::Value;

use super::json::{self, Document};
use super::judge::{judge, service};
use super::HttpResponse;

/// The item services, in array order. A missing array or one of the wrong kind is a CRIT
/// partial on the base service (`base`) and no items.
pub(super) fn items(
    job: &Job,
    spec: &Foreach,
    document: &Value,
    response: &HttpResponse,
    base: &mut Vec<Partial>,
) -> Vec<ServiceResult> {
    let name = json::name(&spec.path, "response");
    let items = match spec.path.lookup(document) {
        Some(Value::Array(items)) => items,
        Some(other) => {
            let text = format!("{name} is {}, expected an array", json::kind(other));
            base.push(Partial::new(State::Crit, text));
            return Vec::new();
        }
        None => {
            base.push(Partial::new(State::Crit, format!("no value at {name}")));
            return Vec::new();
        }
    };
    // The base service's name is taken too: an empty suffix must not shadow it.
    let mut taken = HashSet::from([job.service.clone()]);
    let mut services = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let mut partials = Vec::new();
        let suffix = suffix(&spec.suffix, item, index, &mut partials);
        let name = unique(format!("{}{suffix}", job.service), index, &mut taken);
        let item_document = Document::new(Some(Ok(item)));
        judge(
            &spec.expect.json,
            &spec.metrics,
            &item_document,
            "item",
            response,
            &mut partials,
        );
        services.push(service(job, name, &partials, spec.ok_summary.as_deref()));
    }
    services
}

/// Fills `${item.FIELD}`, `${item}` and `${index}`; anything else stays as written. A value
/// that cannot name the item is replaced by its index and explained in a CRIT partial.
fn suffix(template: &str, item: &Value, index: usize, partials: &mut Vec<Partial>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            rest = &rest[start..];
            break;
        };
        let placeholder = &after[..end];
        match fill(placeholder, item, index, partials) {
            Some(text) => out.push_str(&text),
            None => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn fill(
    placeholder: &str,
    item: &Value,
    index: usize,
    partials: &mut Vec<Partial>,
) -> Option<String> {
    let (found, what, missing) = match placeholder {
        "index" => return Some(index.to_string()),
        "item" => (Some(item), format!("item {index}"), String::new()),
        _ => {
            let field = placeholder.strip_prefix("item.")?;
            let path = JsonPath::parse(field).ok()?;
            let missing = format!("no value at {field} in item {index}");
            (
                path.lookup(item),
                format!("{field} of item {index}"),
                missing,
            )
        }
    };
    let problem = match found {
        Some(value) => match scalar(value) {
            Some(text) => return Some(text),
            None => format!("{what} is {}, expected a scalar", json::kind(value)),
        },
        None => missing,
    };
    partials.push(Partial::new(
        State::Crit,
        format!("{problem} (needed for the service name)"),
    ));
    Some(index.to_string())
}

/// A string, number or boolean as it reads in a service name.
fn scalar(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number
            .as_f64()
            .map_or_else(|| number.to_string(), format_number),
        Value::Bool(flag) => flag.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => return None,
    };
    // A line break in a service name would break the Checkmk output.
    Some(
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    )
}

/// `name`, or `name #<index>` when an earlier service already has that name.
fn unique(mut name: String, index: usize, taken: &mut HashSet<String>) -> String {
    while taken.contains(&name) {
        name = format!("{name} #{index}");
    }
    taken.insert(name.clone());
    name
}
