//! Which host, service and metric names Checkmk accepts, and how checkd makes any name fit.

/// The longest piggyback host name Checkmk accepts, in characters.
pub const MAX_HOST_NAME_CHARS: usize = 240;

/// Characters Checkmk keeps in a piggyback host name; it replaces every other one with `_`.
pub(crate) fn is_host_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Characters a metric name may hold. Space, `:`, `/` and `\` break Checkmk's metric handling,
/// and `|`, `=` and `;` are the metrics field's own separators, so checkd keeps to this set.
pub(crate) fn is_metric_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Characters a service name may hold inside its double quotes.
pub(crate) fn is_service_name_char(c: char) -> bool {
    !matches!(c, '"' | '\'' | ';' | '$') && !c.is_control()
}

/// Checks a piggyback host name against Checkmk's rules: only `A-Z a-z 0-9 - _ .`, starting
/// with a letter, a digit or `_`, at most [`MAX_HOST_NAME_CHARS`] characters.
///
/// Checkmk silently drops the data of a host whose name breaks these rules (after replacing
/// odd characters with `_`), so the config loader checks every host name with this.
pub fn validate_host_name(name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err("host name is empty".to_string());
    };
    let mut odd: Vec<char> = Vec::new();
    for c in name.chars().filter(|c| !is_host_name_char(*c)) {
        if !odd.contains(&c) {
            odd.push(c);
        }
    }
    if !odd.is_empty() {
        let list: Vec<String> = odd.iter().map(|c| format!("{c:?}")).collect();
        return Err(format!(
            "host name contains {}, which Checkmk replaces with '_' (allowed: A-Z a-z 0-9 - _ .)",
            list.join(", ")
        ));
    }
    if !(first.is_ascii_alphanumeric() || first == '_') {
        return Err(format!(
            "host name starts with {first:?}; it must start with a letter, a digit or '_'"
        ));
    }
    let length = name.chars().count();
    if length > MAX_HOST_NAME_CHARS {
        return Err(format!(
            "host name is {length} characters long; Checkmk accepts at most {MAX_HOST_NAME_CHARS}"
        ));
    }
    Ok(())
}

/// Makes any text a valid piggyback host name the way Checkmk would read it: every character
/// outside `A-Z a-z 0-9 - _ .` becomes `_` and the name is cut to [`MAX_HOST_NAME_CHARS`].
///
/// Where Checkmk would still drop the result, checkd goes one step further so the name is
/// always valid: an empty name becomes `_`, and a leading `-` or `.` becomes `_`.
pub fn coerce_host_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(MAX_HOST_NAME_CHARS));
    push_host_name(&mut out, name);
    out
}

/// Appends [`coerce_host_name`]`(name)` to `buf` without an intermediate allocation.
pub(crate) fn push_host_name(buf: &mut String, name: &str) {
    let mut chars = name.chars().take(MAX_HOST_NAME_CHARS);
    match chars.next() {
        None => buf.push('_'),
        Some(first) if first.is_ascii_alphanumeric() || first == '_' => buf.push(first),
        Some(_) => buf.push('_'),
    }
    buf.extend(chars.map(|c| if is_host_name_char(c) { c } else { '_' }));
}

/// Checks a service name: non-empty, without `"` (it ends the quoted name), `'` (it breaks
/// service discovery), `;` or `$` (the monitoring core rejects or mangles them) and without
/// line breaks or other control characters.
pub fn validate_service_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("service name is empty".to_string());
    }
    match name.chars().find(|c| !is_service_name_char(*c)) {
        None => Ok(()),
        Some('"') => Err("service name contains '\"', which ends the quoted name".to_string()),
        Some('\'') => {
            Err("service name contains \"'\", which breaks service discovery".to_string())
        }
        Some(c @ (';' | '$')) => Err(format!(
            "service name contains {c:?}, which the monitoring core rejects or mangles"
        )),
        Some('\n' | '\r') => Err("service name contains a line break".to_string()),
        Some(c) => Err(format!("service name contains the control character {c:?}")),
    }
}

/// Checks a metric name: non-empty, only `A-Z a-z 0-9 - _ .`.
pub fn validate_metric_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("metric name is empty".to_string());
    }
    match name.chars().find(|c| !is_metric_name_char(*c)) {
        None => Ok(()),
        Some(c) => Err(format!(
            "metric name {name:?} contains {c:?} (allowed: A-Z a-z 0-9 - _ .)"
        )),
    }
}

/// The characters of a metric name as checkd writes it: odd characters become `_`, and an
/// empty name becomes `_`.
pub(crate) fn metric_name_chars(name: &str) -> impl Iterator<Item = char> + '_ {
    name.chars()
        .map(|c| if is_metric_name_char(c) { c } else { '_' })
        .chain(name.is_empty().then_some('_'))
}

/// The characters of a service name as checkd writes it: odd characters become `_`, and an
/// empty name becomes `_`.
pub(crate) fn service_name_chars(name: &str) -> impl Iterator<Item = char> + '_ {
    name.chars()
        .map(|c| if is_service_name_char(c) { c } else { '_' })
        .chain(name.is_empty().then_some('_'))
}
