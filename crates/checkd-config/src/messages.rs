//! serde's and the YAML parser's wording turned into ours: lower-case, "expected X, found Y",
//! and the closest key for a misspelled one.

use crate::source::{Pos, SourceFile};
use crate::suggest::closest;

pub(crate) fn humanize(raw: &str, src: &SourceFile, pos: Pos) -> String {
    let message = raw.trim().trim_end_matches('.');
    let unknown_key = message.strip_prefix("unknown field `").map(|m| ("key", m));
    let unknown_value = message
        .strip_prefix("unknown variant `")
        .map(|m| ("value", m));
    if let Some((what, rest)) = unknown_key.or(unknown_value) {
        if let Some((name, rest)) = rest.split_once("`, ") {
            return unknown_name(what, name, rest);
        }
    }
    if let Some(field) = message.strip_prefix("missing field ") {
        return format!("missing required key {field}");
    }
    let invalid = message
        .strip_prefix("invalid type: ")
        .or(message.strip_prefix("invalid value: "));
    if let Some((unexpected, expected)) = invalid.and_then(|m| m.rsplit_once(", expected ")) {
        return format!("expected {expected}, found {}", found(unexpected));
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key ") {
        return format!(
            "duplicate key {}",
            rest.trim_end_matches(" is not allowed here")
        );
    }
    let expected = match message {
        "expected string scalar" | "null is not allowed here" => Some("a string"),
        "invalid boolean" | "invalid boolean (true or false expected)" => Some("true or false"),
        "invalid floating point" | "invalid f64" | "invalid f32" => Some("a number"),
        m if m.starts_with("invalid u") || m.starts_with("invalid i") => Some("an integer"),
        "expected mapping start" => Some("a mapping"),
        "expected sequence start" => Some("a list"),
        _ => None,
    };
    match expected {
        Some(expected) => format!("expected {expected}, found {}", sniff(src, pos)),
        None if message == "unexpected end of file" => "unexpected end of file".to_string(),
        None => lower_first(message),
    }
}

/// `unknown key `x`` with the closest expected name, or the expected names. `rest` is serde's
/// `expected one of `a`, `b``, `expected `a`` or `there are no fields`.
fn unknown_name(what: &str, name: &str, rest: &str) -> String {
    let expected: Vec<&str> = match rest
        .strip_prefix("expected one of ")
        .or(rest.strip_prefix("expected "))
    {
        Some(list) => list.split(", ").map(|k| k.trim_matches('`')).collect(),
        None => Vec::new(),
    };
    match (closest(name, expected.iter().copied()), expected.as_slice()) {
        (Some(best), _) => format!("unknown {what} `{name}`, did you mean `{best}`?"),
        (None, []) => format!("unknown {what} `{name}`, nothing is allowed here"),
        (None, [only]) => format!("unknown {what} `{name}`, expected `{only}`"),
        (None, list) => format!(
            "unknown {what} `{name}`, expected one of: {}",
            list.join(", ")
        ),
    }
}

/// serde's description of an unexpected value, shortened: `string "ok"` → `"ok"`.
fn found(unexpected: &str) -> String {
    for prefix in [
        "string ",
        "integer ",
        "floating point ",
        "boolean ",
        "char ",
    ] {
        if let Some(rest) = unexpected.strip_prefix(prefix) {
            return rest.trim_matches('`').to_string();
        }
    }
    match unexpected {
        "sequence" => "a list".to_string(),
        "map" => "a mapping".to_string(),
        "unit value" | "null" | "Option value" => "null".to_string(),
        other => other.to_string(),
    }
}

/// What the source shows at `pos`, described for "found …" (the YAML parser's own messages
/// do not say what they found).
fn sniff(src: &SourceFile, pos: Pos) -> String {
    let Some(line) = src.text.lines().nth(pos.line.saturating_sub(1)) else {
        return "nothing".to_string();
    };
    let rest: String = line.chars().skip(pos.column.saturating_sub(1)).collect();
    let before: String = line.chars().take(pos.column.saturating_sub(1)).collect();
    let mut rest = rest.trim_end();
    // An empty value is reported at the colon before it.
    if let Some(after) = rest.strip_prefix(':') {
        rest = after.trim_start();
    }
    match rest.chars().next() {
        None | Some('#') | Some('~') => return "null".to_string(),
        Some('[') => return "a list".to_string(),
        Some('{') => return "a mapping".to_string(),
        Some('-') if rest.len() == 1 || rest.starts_with("- ") => return "a list".to_string(),
        Some('"') => {
            let mut escaped = false;
            for (i, c) in rest.char_indices().skip(1) {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => return rest[..=i].to_string(),
                    _ => escaped = false,
                }
            }
            return rest.to_string();
        }
        Some('\'') => {
            let inner = rest[1..].split('\'').next().unwrap_or("");
            return format!("{inner:?}");
        }
        _ => {}
    }
    let in_flow = before.contains('[') || before.contains('{');
    let mut text = rest.split(" #").next().unwrap_or(rest);
    if in_flow {
        text = text.split([',', ']', '}']).next().unwrap_or(text);
    }
    let text = text.trim();
    if text.contains(": ") || text.ends_with(':') {
        return "a mapping".to_string();
    }
    let plain_literal = matches!(text, "null" | "true" | "false")
        || text.parse::<f64>().is_ok()
        || text.starts_with(".inf")
        || text.starts_with("-.inf")
        || text == ".nan";
    if plain_literal {
        text.to_string()
    } else {
        format!("{text:?}")
    }
}

/// Lower-cases the start of every `: `-separated part: `Invalid pattern: Pattern must …` →
/// `invalid pattern: pattern must …` (words in capitals, like `URL`, stay).
pub(crate) fn lower_parts(message: &str) -> String {
    message
        .split(": ")
        .map(lower_first)
        .collect::<Vec<_>>()
        .join(": ")
}

pub(crate) fn lower_first(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) if !chars.as_str().starts_with(|c: char| c.is_uppercase()) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => message.to_string(),
    }
}
