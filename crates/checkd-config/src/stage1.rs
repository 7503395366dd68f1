//! Stage 1 for one file: its tree → raw structs, so that one broken entry does not hide the
//! problems in the next ones.
//!
//! The raw structs wrap independent entries (each check, environment, datasource, section,
//! and within a check its `request`, `expect`, metrics and `foreach`) in `de::Unit`: a
//! problem inside one is reported and the entry becomes `Unit::Failed`, and the file is still
//! read to its end. The file is parsed once, whatever it holds.
//!
//! It deliberately does not validate values (stage 2 does) or know YAML's syntax (`tree`).

use serde::de::DeserializeOwned;

use crate::de::{self, Context};
use crate::diagnostics::Diagnostic;
use crate::source::SourceFile;
use crate::tree::{Pos, Problem};

/// Stage 1 for one file: deserializes `T` from its tree, reporting every problem it can
/// reach. `None` when the file cannot be used at all.
pub(crate) fn parse<T: DeserializeOwned>(
    src: &SourceFile<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    if src
        .text
        .lines()
        .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'))
    {
        diags.push(src.diag_at(Pos::START, "", "the file is empty"));
        return None;
    }
    let parsed = src.parsed();
    let report = |problem: &Problem| src.diag_at(problem.pos, &problem.path, &problem.message);
    diags.extend(parsed.problems.iter().map(report));
    let root = parsed.root.as_ref()?;
    let cx = Context::new(&crate::raw::misplaced);
    let result = de::from_node::<T>(root, &cx);
    diags.extend(cx.into_problems().iter().map(report));
    match result {
        // After a syntax error the tree ends early: its entries were checked, but what
        // follows the error is missing, so stage 2 would only guess.
        Ok(_) if parsed.syntax_error => None,
        Ok(value) => Some(value),
        Err(problem) => {
            diags.extend(problem.as_ref().map(report));
            None
        }
    }
}
