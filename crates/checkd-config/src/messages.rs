//! Other libraries' wording turned into ours: lower-case, no trailing period.
//!
//! It deliberately holds no message of its own: each lives where its problem is found.

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
