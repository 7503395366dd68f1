//! Key paths as diagnostics show them: `checks[2].expect.status`.
//!
//! It deliberately holds only the spelling; finding a path in a file is `source`'s job.

/// The path one level up: `a.b[2]` → `a.b`, `a.b` → `a`, `a` → `` and `` → none.
pub(crate) fn parent_path(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// Appends a map key to a key path.
pub(crate) fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Appends a sequence index to a key path.
pub(crate) fn join_index(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}
