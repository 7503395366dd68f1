//! [`Template`]: text with `{expr}` parts, for summaries, details and name suffixes. `{{` and
//! `}}` are literal braces. An expression part ends at the `}` that closes its `{`: braces of
//! map literals inside it are balanced, and braces inside its string literals (any of CEL's
//! quotes, raw or not) are skipped. A part that begins with a map literal needs a space after
//! its brace (`{ {"a": 1}.a }`), as `{{` is a literal brace.
//!
//! Rendering is `Scope::render`; this module only splits and compiles.

use std::fmt;
use std::sync::Arc;

use crate::compile::Expr;
use crate::error::Problem;
use crate::names::Names;

/// Text with `{expr}` parts; `{{` and `}}` are literal braces. Braces inside an expression
/// (map literals) and inside its string literals are balanced/skipped correctly.
#[derive(Clone)]
pub struct Template {
    inner: Arc<Inner>,
}

struct Inner {
    source: String,
    parts: Vec<Part>,
}

pub(crate) enum Part {
    Text(String),
    Expr(Expr),
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Template")
            .field("source", &self.source())
            .finish()
    }
}

impl Template {
    /// Compiles every expression part; the problems' offsets count characters of the whole
    /// template text.
    pub fn compile(source: &str, names: &Names) -> Result<Template, Vec<Problem>> {
        let mut parts = Vec::new();
        let mut problems = Vec::new();
        let mut text = String::new();
        let chars: Vec<char> = source.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            match (chars[i], chars.get(i + 1)) {
                ('{', Some('{')) | ('}', Some('}')) => {
                    text.push(chars[i]);
                    i += 2;
                }
                ('}', _) => {
                    problems.push(Problem::new(
                        i,
                        "a `}` without its `{`: write `}}` for a brace",
                    ));
                    i += 1;
                }
                ('{', _) => {
                    let start = i + 1;
                    let Some(end) = expression_end(&chars, start) else {
                        problems.push(Problem::new(
                            i,
                            "a `{` that is never closed: write `{{` for a brace",
                        ));
                        break;
                    };
                    let inner: String = chars[start..end].iter().collect();
                    if inner.trim().is_empty() {
                        problems.push(Problem::new(i, "an empty `{}`: write `{{}}` for braces"));
                    } else {
                        match Expr::compile(&inner, names) {
                            Ok(expr) => {
                                if !text.is_empty() {
                                    parts.push(Part::Text(std::mem::take(&mut text)));
                                }
                                parts.push(Part::Expr(expr));
                            }
                            Err(found) => problems.extend(found.into_iter().map(|p| Problem {
                                offset: p.offset + start,
                                message: p.message,
                            })),
                        }
                    }
                    i = end + 1;
                }
                (c, _) => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template {
            inner: Arc::new(Inner {
                source: source.to_owned(),
                parts,
            }),
        })
    }

    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// No expression parts.
    pub fn is_plain(&self) -> bool {
        self.inner.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// The text without its expressions: what every rendering contains.
    pub fn literal(&self) -> String {
        self.parts()
            .iter()
            .filter_map(|part| match part {
                Part::Text(text) => Some(text.as_str()),
                Part::Expr(_) => None,
            })
            .collect()
    }

    /// Whether one of its expressions uses the bound `name`.
    pub fn uses(&self, name: &str) -> bool {
        self.parts().iter().any(|part| match part {
            Part::Expr(expr) => expr.uses(name),
            Part::Text(_) => false,
        })
    }

    pub(crate) fn parts(&self) -> &[Part] {
        &self.inner.parts
    }
}

/// The position of the `}` that closes an expression starting at `start`, if any.
fn expression_end(chars: &[char], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            '"' | '\'' => i = string_end(chars, i)?,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The position of the last quote of the string literal whose first quote is at `open`: single
/// or triple quoted, raw (`r"…"`, `rb'…'`) when a prefix says so.
fn string_end(chars: &[char], open: usize) -> Option<usize> {
    let quote = chars[open];
    let raw = prefix_is_raw(chars, open);
    let triple = chars.get(open + 1) == Some(&quote) && chars.get(open + 2) == Some(&quote);
    let mut i = if triple { open + 3 } else { open + 1 };
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && !raw {
            i += 2;
            continue;
        }
        if c == quote {
            if !triple {
                return Some(i);
            }
            if chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote) {
                return Some(i + 2);
            }
        }
        i += 1;
    }
    None
}

/// Whether the letters right before a quote are a string prefix with an `r` in it: one or two
/// of `r`, `R`, `b`, `B` not preceded by another identifier character.
fn prefix_is_raw(chars: &[char], open: usize) -> bool {
    let is_prefix = |c: &char| matches!(c, 'r' | 'R' | 'b' | 'B');
    let is_ident = |c: &char| c.is_alphanumeric() || *c == '_';
    let mut start = open;
    while start > 0 && open - start < 2 && is_prefix(&chars[start - 1]) {
        start -= 1;
    }
    if start == open || (start > 0 && is_ident(&chars[start - 1])) {
        return false;
    }
    chars[start..open].iter().any(|c| matches!(c, 'r' | 'R'))
}
