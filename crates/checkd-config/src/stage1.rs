//! Stage 1 for one file: text → raw structs, so that one broken entry does not hide the
//! problems in the next ones.
//!
//! serde stops at the first error, so the raw structs wrap independent entries (each check,
//! environment, datasource, section, and within a check its `request`, `expect`, metrics and
//! `foreach`) in [`Unit`]. When a pass fails inside a unit, the next pass skips that unit
//! (deserializing it as `IgnoredAny`) and goes on, until a pass succeeds or fails outside any
//! unit. One pass per broken unit, so a healthy file costs one.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer};
use serde_saphyr::{MessageFormatter, UserMessageFormatter};

use crate::diagnostics::Diagnostic;
use crate::messages::humanize;
use crate::source::{join_index, join_key, Pos, SourceFile};

/// An independently deserialized entry. `Failed` means its error was reported by an earlier pass
/// and stage 2 must stay silent about it (no cascade of "unknown datasource" and the like).
/// Units may nest (a check and its `expect`): the innermost one that fails is skipped.
#[derive(Debug)]
pub enum Unit<T> {
    Ok(T),
    Failed,
}

impl<T: Default> Default for Unit<T> {
    fn default() -> Self {
        Unit::Ok(T::default())
    }
}

impl<T> Unit<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Unit::Ok(value) => Some(value),
            Unit::Failed => None,
        }
    }
}

#[derive(Default)]
struct UnitPass {
    /// Units (numbered in document order) whose errors are already reported.
    skip: BTreeSet<usize>,
    next: usize,
    failed: Option<usize>,
}

thread_local! {
    static UNIT_PASS: RefCell<Option<UnitPass>> = const { RefCell::new(None) };
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Unit<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let slot = UNIT_PASS.with(|pass| {
            pass.borrow_mut().as_mut().map(|pass| {
                let ordinal = pass.next;
                pass.next += 1;
                (ordinal, pass.skip.contains(&ordinal))
            })
        });
        match slot {
            Some((_, true)) => {
                IgnoredAny::deserialize(deserializer)?;
                Ok(Unit::Failed)
            }
            Some((ordinal, false)) => {
                T::deserialize(deserializer).map(Unit::Ok).inspect_err(|_| {
                    UNIT_PASS.with(|pass| {
                        if let Some(pass) = pass.borrow_mut().as_mut() {
                            pass.failed.get_or_insert(ordinal);
                        }
                    });
                })
            }
            None => T::deserialize(deserializer).map(Unit::Ok),
        }
    }
}

/// Clears a thread-local slot when dropped, so a panic cannot leave a stale pass behind.
struct Reset(&'static std::thread::LocalKey<RefCell<Option<UnitPass>>>);

impl Drop for Reset {
    fn drop(&mut self) {
        self.0.with(|slot| slot.borrow_mut().take());
    }
}

pub(crate) fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    options
}

/// Stage 1 for one file: records positions, then deserializes `T`, reporting every error it
/// can reach. `None` when the file cannot be used at all.
pub(crate) fn parse<T: DeserializeOwned>(
    src: &SourceFile,
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
    let mut reported: Vec<(Pos, String)> = Vec::new();
    let mut skip = BTreeSet::new();
    loop {
        UNIT_PASS.with(|pass| {
            *pass.borrow_mut() = Some(UnitPass {
                skip: skip.clone(),
                ..UnitPass::default()
            })
        });
        let reset = Reset(&UNIT_PASS);
        let mut error_path = String::new();
        let result =
            serde_saphyr::with_deserializer_from_str_with_options(&src.text, options(), |de| {
                serde_path_to_error::deserialize::<_, T>(de).map_err(|err| {
                    error_path = render_path(err.path());
                    err.into_inner()
                })
            });
        let failed = UNIT_PASS.with(|pass| pass.borrow().as_ref().and_then(|pass| pass.failed));
        drop(reset);
        let err = match result {
            Ok(value) => return Some(value),
            Err(err) => err,
        };
        let diagnostic = serde_diagnostic(src, &err, &error_path);
        let key = (
            Pos {
                line: diagnostic.line,
                column: diagnostic.column,
            },
            diagnostic.message.clone(),
        );
        if reported.contains(&key) {
            return None;
        }
        reported.push(key);
        diags.push(diagnostic);
        match failed {
            Some(unit) if !skip.contains(&unit) => {
                // Units are numbered in document order, so skipped units numbered after this
                // one lie inside it; once it is skipped whole they are never visited, and
                // dropping them keeps the numbering of the units after it aligned.
                skip.retain(|&other| other < unit);
                skip.insert(unit);
            }
            _ => return None,
        }
    }
}

fn render_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out = join_index(&out, *index),
            Segment::Map { key } => out = join_key(&out, key),
            Segment::Enum { variant } => out = join_key(&out, variant),
            Segment::Unknown => {}
        }
    }
    out
}

fn serde_diagnostic(src: &SourceFile, err: &serde_saphyr::Error, path: &str) -> Diagnostic {
    let raw = UserMessageFormatter.format_message(err).into_owned();
    // Errors raised by visitors (`invalid type: …`) carry the position of the key before the
    // value, and `missing field` the end of the mapping: the recorded value position is the
    // better place. Syntax errors keep the parser's position.
    let by_path = ["invalid type: ", "invalid value: ", "missing field "]
        .iter()
        .any(|prefix| raw.starts_with(prefix))
        .then(|| src.value_pos(path))
        .flatten();
    let pos = by_path
        .or_else(|| err.location().and_then(Pos::from_location))
        .unwrap_or_else(|| src.pos(path));
    src.diag_at(pos, path, humanize(&raw, src, pos))
}
