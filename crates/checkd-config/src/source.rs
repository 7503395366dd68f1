//! One YAML file: its text and where every key and value sits in it, looked up by key path
//! (`checks[2].expect.status`), so stage 1 and stage 2 report positions the same way.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_saphyr::Location;

use crate::diagnostics::Diagnostic;

/// A 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, column: 1 };

    pub fn from_location(location: Location) -> Option<Pos> {
        let (line, column) = (location.line() as usize, location.column() as usize);
        (line > 0 && column > 0).then_some(Pos { line, column })
    }
}

/// Positions by key path. A config of 10,000 checks has some 300,000 nodes, so the paths are
/// not kept: each is stored as its 64-bit FNV-1a hash, which the recorder computes segment by
/// segment without building the string. A collision could only move a diagnostic.
#[derive(Debug, Default)]
pub(crate) struct PathIndex(HashMap<u64, Pos>);

impl PathIndex {
    pub fn get(&self, path: &str) -> Option<Pos> {
        self.0.get(&PathHash::of(path).0).copied()
    }

    pub fn contains(&self, path: &str) -> bool {
        self.0.contains_key(&PathHash::of(path).0)
    }

    /// Keeps the first position recorded for a path.
    pub fn insert(&mut self, path: PathHash, pos: Pos) {
        self.0.entry(path.0).or_insert(pos);
    }
}

/// FNV-1a over the bytes of a key path, fed in pieces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PathHash(u64);

impl PathHash {
    pub const EMPTY: PathHash = PathHash(0xcbf2_9ce4_8422_2325);

    pub fn of(path: &str) -> PathHash {
        PathHash::EMPTY.with(path)
    }

    #[must_use]
    pub fn with(self, piece: &str) -> PathHash {
        let mut hash = self.0;
        for byte in piece.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        PathHash(hash)
    }
}

/// Where every key and value of a file starts.
#[derive(Debug, Default)]
pub(crate) struct Positions {
    /// Where the value under each key path starts.
    pub values: PathIndex,
    /// Where the key of each key path starts.
    pub keys: PathIndex,
}

/// A loaded YAML file and, once something asks, the positions of everything in it.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// The path as shown in diagnostics.
    pub display: PathBuf,
    pub text: String,
    /// Recorded on first use: a second parse of the file that a healthy check file never
    /// needs (it was a third of loading 10,000 checks).
    positions: OnceLock<Positions>,
}

impl SourceFile {
    pub fn new(display: PathBuf, text: String) -> SourceFile {
        SourceFile {
            display,
            text,
            positions: OnceLock::new(),
        }
    }

    pub fn positions(&self) -> &Positions {
        self.positions
            .get_or_init(|| crate::positions::record_positions(&self.text))
    }

    /// Where the value under exactly `path` starts, if the file has one.
    pub fn value_pos(&self, path: &str) -> Option<Pos> {
        self.positions().values.get(path)
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
        let pos = self
            .positions()
            .keys
            .get(path)
            .unwrap_or_else(|| self.pos(path));
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
        let start = self.pos(path);
        let pos = match self.value_pos(path) {
            Some(p) => self.offset_pos(p, value, offset).unwrap_or(p),
            None => start,
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
        self.positions().values.contains(path)
    }

    /// `file:line` of the value under `path`, for "first defined at …" notes.
    pub fn place(&self, path: &str) -> String {
        format!("{}:{}", self.display.display(), self.pos(path).line)
    }

    fn offset_pos(&self, start: Pos, value: &str, offset: usize) -> Option<Pos> {
        let line = self.text.lines().nth(start.line - 1)?;
        let rest: Vec<char> = line.chars().skip(start.column - 1).collect();
        let prefix: Vec<char> = value.chars().take(offset).collect();
        let (quote, body) = match rest.first() {
            Some('"') => (1, &rest[1..]),
            Some('\'') => (1, &rest[1..]),
            _ => (0, &rest[..]),
        };
        // The source must spell the prefix character for character (no escapes, no folding).
        let spelled = body.len() >= prefix.len() && body[..prefix.len()] == prefix[..];
        let escaped = quote == 1 && prefix.iter().any(|c| *c == '\\' || *c == '\'');
        (spelled && !escaped).then_some(Pos {
            line: start.line,
            column: start.column + quote + offset,
        })
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

/// The path one level up: `a.b[2]` → `a.b`, `a.b` → `a`, `a` → `` and `` → none.
fn parent_path(path: &str) -> Option<&str> {
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
