//! [`Names`]: the names an expression may use, checked at load.
//!
//! Only the names: what they are bound to is the run's business (`run.rs`). A name is just
//! text here; one that is not an identifier can never be written, which does no harm.

use std::collections::BTreeSet;

/// Names an expression may use. `Names::response()` = status, headers, body, text, elapsed,
/// now, env.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Names {
    names: BTreeSet<String>,
}

/// What a run binds at its root, in the order the docs list them.
pub(crate) const RESPONSE: [&str; 7] =
    ["status", "headers", "body", "text", "elapsed", "now", "env"];

impl Names {
    /// The names of an HTTP run: status, headers, body, text, elapsed, now, env.
    pub fn response() -> Names {
        Names {
            names: RESPONSE.iter().map(|name| (*name).to_owned()).collect(),
        }
    }

    /// These names and `name`, e.g. "item", "index", "key", or a `let` name.
    pub fn with(&self, name: &str) -> Names {
        let mut names = self.names.clone();
        names.insert(name.to_owned());
        Names { names }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}
