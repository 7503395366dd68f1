//! Problems found while loading, each pointing at a file, a position and a key path.

use std::fmt;
use std::path::PathBuf;

/// One problem in the configuration, e.g.
/// `checks/orders.yaml:14:7: checks[2].expect.status: expected an integer 100–599, found "ok"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The file as the user named it (relative paths stay relative).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Key path of the offending value, e.g. `checks[2].expect.status`; empty for the whole file.
    pub path: String,
    /// Lower-case, no trailing period.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found, sorted by file, line and column. `Display` prints one per line.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Sorts by file, line and column (keeping the order of problems at the same position) and
    /// drops exact repeats, which arise when one broken datasource serves many checks.
    pub(crate) fn finish(mut list: Vec<Diagnostic>) -> Diagnostics {
        list.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        let mut seen = std::collections::HashSet::new();
        list.retain(|diagnostic| seen.insert(diagnostic.to_string()));
        Diagnostics(list)
    }
}

/// Collects problems found in several places (test files, and their cases checked against a
/// plan) into one sorted list, as [`crate::load`] returns them.
impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Diagnostics::finish(iter.into_iter().collect())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
