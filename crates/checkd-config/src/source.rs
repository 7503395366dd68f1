//! One YAML file: its text and its tree, and diagnostics placed by key path
//! (`checks[2].expect.status`), so stage 1 and stage 2 report positions the same way.
//!
//! It deliberately does not parse (`tree` does) or deserialize (`de` does).

use std::path::PathBuf;

use crate::diagnostics::Diagnostic;
use crate::keypath::parent_path;
use crate::tree::{Kind, Node, Parsed, Pos};

/// A loaded YAML file: its text and its tree.
#[derive(Debug)]
pub(crate) struct SourceFile<'t> {
    /// The path as shown in diagnostics.
    pub display: PathBuf,
    pub text: &'t str,
    parsed: Parsed<'t>,
}

impl<'t> SourceFile<'t> {
    /// Parses `text` into its tree; its problems are stage 1's to report.
    pub fn new(display: PathBuf, text: &'t str) -> SourceFile<'t> {
        SourceFile {
            display,
            text,
            parsed: crate::tree::parse(text),
        }
    }

    pub fn parsed(&self) -> &Parsed<'t> {
        &self.parsed
    }

    /// The key node and the value at `path` (`checks[2].expect.status`); the key is `None`
    /// for a list item and for the root. A key may itself hold `.` or `[`: the longest key
    /// that fits wins.
    fn find(&self, path: &str) -> Option<(Option<&Node<'t>>, &Node<'t>)> {
        let mut node = self.parsed.root.as_ref()?;
        let mut key = None;
        let mut rest = path;
        let mut first = true;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('[') {
                let (index, after) = after.split_once(']')?;
                let Kind::Seq(items) = &node.kind else {
                    return None;
                };
                node = items.get(index.parse::<usize>().ok()?)?;
                key = None;
                rest = after;
                first = false;
                continue;
            }
            let wanted = if first { rest } else { rest.strip_prefix('.')? };
            first = false;
            let Kind::Map(entries) = &node.kind else {
                return None;
            };
            let fits = |k: &str| {
                wanted == k
                    || (wanted.starts_with(k) && matches!(wanted.as_bytes()[k.len()], b'.' | b'['))
            };
            let (k, v) = entries
                .iter()
                .filter(|(k, _)| k.scalar().is_some_and(fits))
                .max_by_key(|(k, _)| k.scalar().map_or(0, str::len))?;
            rest = &wanted[k.scalar().map_or(0, str::len)..];
            key = Some(k);
            node = v;
        }
        Some((key, node))
    }

    /// Whether a scalar (key or value) under `path` satisfies `test`.
    pub fn any_scalar(&self, path: &str, test: &dyn Fn(&str) -> bool) -> bool {
        fn walk(node: &Node<'_>, test: &dyn Fn(&str) -> bool) -> bool {
            match &node.kind {
                Kind::Scalar { text, .. } => test(text),
                Kind::Seq(items) => items.iter().any(|item| walk(item, test)),
                Kind::Map(entries) => entries.iter().any(|(k, v)| walk(k, test) || walk(v, test)),
            }
        }
        self.find(path).is_some_and(|(_, node)| walk(node, test))
    }

    /// Where the value under exactly `path` starts, if the file has one.
    pub fn value_pos(&self, path: &str) -> Option<Pos> {
        self.find(path).map(|(_, value)| value.pos)
    }

    /// A diagnostic at `pos` in this file.
    pub fn diag_at(&self, pos: Pos, path: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.display.clone(),
            line: pos.line,
            column: pos.column,
            path: one_line(path),
            message: one_line(&message.into()),
        }
    }

    /// A diagnostic at the value under `path` (or the closest enclosing value that exists).
    pub fn diag(&self, path: &str, message: impl Into<String>) -> Diagnostic {
        self.diag_at(self.pos(path), path, message)
    }

    /// A diagnostic at the key of `path` (for "this key does not belong here").
    pub fn diag_key(&self, path: &str, message: impl Into<String>) -> Diagnostic {
        let pos = match self.find(path) {
            Some((Some(key), _)) => key.pos,
            _ => self.pos(path),
        };
        self.diag_at(pos, path, message)
    }

    /// A diagnostic at character `offset` inside the string `value` found under `path`, when
    /// the source spells the string on one line without escapes before that point; otherwise
    /// at the start of the value.
    pub fn diag_in(
        &self,
        path: &str,
        value: &str,
        offset: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        let pos = match self.find(path) {
            Some((_, node)) => match &node.kind {
                Kind::Scalar { style, .. } => {
                    crate::spelling::place(self.text, node.pos, *style, value, offset)
                        .unwrap_or(node.pos)
                }
                _ => node.pos,
            },
            None => self.pos(path),
        };
        self.diag_at(pos, path, message)
    }

    /// Where the value under `path` starts; falls back to enclosing values, then 1:1.
    pub fn pos(&self, path: &str) -> Pos {
        let mut path = path;
        loop {
            if let Some(pos) = self.value_pos(path) {
                return pos;
            }
            match parent_path(path) {
                Some(parent) => path = parent,
                None => return Pos::START,
            }
        }
    }

    /// Whether the file has a value exactly at `path`.
    pub fn has_value(&self, path: &str) -> bool {
        self.find(path).is_some()
    }
}

/// Keys and values quoted in messages may hold line breaks (`"a\nb"` in YAML); a diagnostic
/// stays one line.
fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\r' => "\\r".to_string(),
            '\t' => "\\t".to_string(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}
