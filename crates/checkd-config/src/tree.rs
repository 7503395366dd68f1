//! A YAML file parsed once into a tree whose every node knows where it starts: stage 1
//! deserializes entries from their subtrees (`de`) and stage 2 finds positions by key path
//! (`source`). Anchors, aliases and merge keys (`<<: *base`) are resolved here, so nothing
//! after this module knows they existed.
//!
//! It deliberately knows no checkd types and no serde: only YAML's shape and positions.

use std::borrow::Cow;
use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span, Tag};

use crate::keypath::{join_index, join_key};

/// Nesting deeper than this is refused: no config needs it, and it bounds every recursion
/// over the tree (deserializing, cloning an alias, dropping).
pub(crate) const MAX_DEPTH: usize = 128;

/// A 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, column: 1 };
}

/// How a scalar is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|`
    Literal,
    /// `>`
    Folded,
}

/// One node: a scalar, a list or a mapping, and where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Node<'t> {
    pub pos: Pos,
    pub kind: Kind<'t>,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind<'t> {
    /// `text` after escapes and folding. Only a `plain` scalar (no quotes, no block style, no
    /// `!!str` tag) can mean null, a boolean or a number. `style` is how the file spells it,
    /// which a place inside the text needs (`spelling`).
    Scalar {
        text: Cow<'t, str>,
        plain: bool,
        style: Style,
    },
    Seq(Vec<Node<'t>>),
    /// Keys in document order, merged keys after the mapping's own; no key twice.
    Map(Vec<(Node<'t>, Node<'t>)>),
}

impl<'t> Node<'t> {
    /// The scalar text, for a scalar.
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The key node and value under `key`, for a mapping.
    pub fn entry(&self, key: &str) -> Option<&(Node<'t>, Node<'t>)> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(k, _)| k.scalar() == Some(key)),
            _ => None,
        }
    }

    /// A plain `null`, `~` or nothing at all.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true, .. }
            if matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL"))
    }

    fn count(&self) -> usize {
        match &self.kind {
            Kind::Scalar { .. } => 1,
            Kind::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            Kind::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
        }
    }
}

/// A problem found while building the tree or deserializing from it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Problem {
    pub pos: Pos,
    pub path: String,
    pub message: String,
}

/// The tree of a file and what went wrong building it. After a syntax error `root` holds
/// everything before it (so the entries before the error are still checked) and
/// `syntax_error` is set.
#[derive(Debug)]
pub(crate) struct Parsed<'t> {
    pub root: Option<Node<'t>>,
    pub problems: Vec<Problem>,
    pub syntax_error: bool,
}

/// Parses `text` (one YAML document) into a tree.
pub(crate) fn parse(text: &str) -> Parsed<'_> {
    let mut builder = Builder {
        // Aliases may repeat subtrees, but not without bound ("billion laughs").
        budget: 4 * text.len() + 10_000,
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0;
    let mut syntax_error = false;
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(pair) => pair,
            Err(err) => {
                let marker = err.marker();
                let pos = Pos {
                    line: marker.line().max(1),
                    column: marker.col() + 1,
                };
                builder.problem(pos, lower_first(&err.info()));
                syntax_error = true;
                break;
            }
        };
        let pos = start(&span);
        let done = match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    builder.problem(pos, "a file holds one YAML document; found a second");
                    syntax_error = true;
                    true
                } else {
                    false
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == ScalarStyle::Plain;
                let plain = match tag.as_deref() {
                    None => plain,
                    Some(tag) => match core_tag(tag) {
                        Some("str") => false,
                        Some(_) => plain,
                        None => {
                            builder.unsupported_tag(pos, tag);
                            plain
                        }
                    },
                };
                let node = Node {
                    pos,
                    kind: Kind::Scalar {
                        text,
                        plain,
                        style: match style {
                            ScalarStyle::SingleQuoted => Style::SingleQuoted,
                            ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                            ScalarStyle::Literal => Style::Literal,
                            ScalarStyle::Folded => Style::Folded,
                            _ => Style::Plain,
                        },
                    },
                };
                builder.value(node, anchor)
            }
            Event::Alias(id) => match builder.anchors.get(&id).cloned() {
                Some(node) => builder.alias(node),
                None => {
                    builder.problem(pos, "unknown alias");
                    false
                }
            },
            Event::SequenceStart(_, anchor, tag) => {
                builder.check_collection_tag(pos, tag.as_deref(), "seq");
                builder.open(pos, anchor, Kind::Seq(Vec::new()))
            }
            Event::MappingStart(_, anchor, tag) => {
                builder.check_collection_tag(pos, tag.as_deref(), "map");
                builder.open(pos, anchor, Kind::Map(Vec::new()))
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close(),
            _ => false,
        };
        if done {
            break;
        }
    }
    if syntax_error {
        builder.close_all();
    }
    Parsed {
        root: builder.root,
        problems: builder.problems,
        syntax_error: syntax_error || builder.fatal,
    }
}

fn start(span: &Span) -> Pos {
    Pos {
        line: span.start.line().max(1),
        column: span.start.col() + 1,
    }
}

/// `str` for `!!str`, … ; `None` for a tag outside the YAML core schema.
fn core_tag(tag: &Tag) -> Option<&str> {
    tag.is_yaml_core_schema().then(|| tag.suffix())
}

fn lower_first(message: &str) -> String {
    crate::messages::lower_first(message)
}

/// A collection being built.
#[derive(Debug)]
struct Frame<'t> {
    node: Node<'t>,
    anchor: usize,
    /// The key path of this collection, for problems inside it.
    path: String,
    /// A mapping's key waiting for its value.
    key: Option<Node<'t>>,
    /// A mapping's `<<` values, merged when it closes.
    merges: Vec<Node<'t>>,
}

#[derive(Debug, Default)]
struct Builder<'t> {
    stack: Vec<Frame<'t>>,
    anchors: HashMap<usize, Node<'t>>,
    root: Option<Node<'t>>,
    problems: Vec<Problem>,
    /// Nodes left to create; aliases count their whole subtree.
    budget: usize,
    /// A problem that makes the rest of the document unreadable (depth, budget).
    fatal: bool,
}

impl<'t> Builder<'t> {
    fn path(&self) -> String {
        self.stack
            .last()
            .map(|f| f.path.clone())
            .unwrap_or_default()
    }

    fn problem(&mut self, pos: Pos, message: impl Into<String>) {
        let path = self.path();
        self.problems.push(Problem {
            pos,
            path,
            message: message.into(),
        });
    }

    /// Reported at the value the tag is on.
    fn unsupported_tag(&mut self, pos: Pos, tag: &Tag) {
        let message = format!("unsupported tag `{}{}`", tag.handle(), tag.suffix());
        let path = self.child_path();
        self.problems.push(Problem { pos, path, message });
    }

    fn check_collection_tag(&mut self, pos: Pos, tag: Option<&Tag>, expected: &str) {
        if let Some(tag) = tag {
            if core_tag(tag) != Some(expected) {
                self.unsupported_tag(pos, tag);
            }
        }
    }

    /// The key path a new child of the innermost collection gets.
    fn child_path(&self) -> String {
        let Some(frame) = self.stack.last() else {
            return String::new();
        };
        match (&frame.node.kind, &frame.key) {
            (Kind::Seq(items), _) => join_index(&frame.path, items.len()),
            (Kind::Map(_), Some(key)) => join_key(&frame.path, key.scalar().unwrap_or("?")),
            (Kind::Map(_), None) => frame.path.clone(),
            (Kind::Scalar { .. }, _) => frame.path.clone(),
        }
    }

    fn spend(&mut self, nodes: usize) -> bool {
        match self.budget.checked_sub(nodes) {
            Some(left) => {
                self.budget = left;
                true
            }
            None => {
                let pos = self.stack.last().map_or(Pos::START, |f| f.node.pos);
                self.problem(
                    pos,
                    "the document expands to too many values (check its aliases)",
                );
                self.fatal = true;
                false
            }
        }
    }

    /// Starts a collection; `true` when the document cannot be read further.
    fn open(&mut self, pos: Pos, anchor: usize, kind: Kind<'t>) -> bool {
        if self.stack.len() >= MAX_DEPTH {
            self.problem(pos, format!("nested more than {MAX_DEPTH} levels deep"));
            self.fatal = true;
            return true;
        }
        if !self.spend(1) {
            return true;
        }
        let path = self.child_path();
        self.stack.push(Frame {
            node: Node { pos, kind },
            anchor,
            path,
            key: None,
            merges: Vec::new(),
        });
        false
    }

    fn close(&mut self) -> bool {
        let Some(frame) = self.stack.pop() else {
            return false;
        };
        let mut node = frame.node;
        if !frame.merges.is_empty() {
            self.merge(&mut node, frame.merges, &frame.path);
        }
        self.value(node, frame.anchor)
    }

    /// Closes every open collection, after a syntax error: a key without its value is dropped.
    fn close_all(&mut self) {
        while let Some(frame) = self.stack.last_mut() {
            frame.key = None;
            self.close();
        }
    }

    fn alias(&mut self, node: Node<'t>) -> bool {
        if !self.spend(node.count()) {
            return true;
        }
        self.value(node, 0)
    }

    /// A finished value: the root, the next item of a list, or a mapping's key or value.
    fn value(&mut self, node: Node<'t>, anchor: usize) -> bool {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        if matches!(node.kind, Kind::Scalar { .. }) && !self.spend(1) {
            return true;
        }
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return false;
        };
        let problem = match &mut frame.node.kind {
            Kind::Seq(items) => {
                items.push(node);
                None
            }
            Kind::Map(entries) => match frame.key.take() {
                None => {
                    let complex = node.scalar().is_none();
                    let pos = node.pos;
                    frame.key = Some(node);
                    complex.then(|| Problem {
                        pos,
                        path: frame.path.clone(),
                        message: "a mapping key must be a plain value, not a list or mapping"
                            .to_string(),
                    })
                }
                Some(key) => match key.scalar() {
                    // A list or mapping as key: already reported.
                    None => None,
                    Some("<<") if matches!(key.kind, Kind::Scalar { plain: true, .. }) => {
                        frame.merges.push(node);
                        None
                    }
                    Some(name) if entries.iter().any(|(k, _)| k.scalar() == Some(name)) => {
                        Some(Problem {
                            pos: key.pos,
                            path: join_key(&frame.path, name),
                            message: format!("duplicate key `{name}`"),
                        })
                    }
                    Some(_) => {
                        entries.push((key, node));
                        None
                    }
                },
            },
            Kind::Scalar { .. } => None,
        };
        self.problems.extend(problem);
        false
    }

    /// Adds the entries of `<<` values that the mapping does not give itself; earlier merge
    /// values win over later ones.
    fn merge(&mut self, node: &mut Node<'t>, merges: Vec<Node<'t>>, path: &str) {
        let mut sources = Vec::new();
        let mut wrong = Vec::new();
        for merge in merges {
            match merge.kind {
                Kind::Map(entries) => sources.push(entries),
                Kind::Seq(items) => {
                    for item in items {
                        match item.kind {
                            Kind::Map(entries) => sources.push(entries),
                            _ => wrong.push(item.pos),
                        }
                    }
                }
                Kind::Scalar { .. } => wrong.push(merge.pos),
            }
        }
        for pos in wrong {
            self.problems.push(Problem {
                pos,
                path: join_key(path, "<<"),
                message: "`<<` merges a mapping or a list of mappings".to_string(),
            });
        }
        let Kind::Map(own) = &mut node.kind else {
            return;
        };
        for entries in sources {
            for (key, value) in entries {
                if !own.iter().any(|(k, _)| k.scalar() == key.scalar()) {
                    own.push((key, value));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(node: &Node<'_>) -> String {
        match &node.kind {
            Kind::Scalar { text, plain, .. } => {
                format!(
                    "{}:{}{}",
                    node.pos.line,
                    node.pos.column,
                    if *plain {
                        format!(" {text}")
                    } else {
                        format!(" {text:?}")
                    }
                )
            }
            Kind::Seq(items) => format!(
                "{}:{} [{}]",
                node.pos.line,
                node.pos.column,
                items.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            Kind::Map(entries) => format!(
                "{}:{} {{{}}}",
                node.pos.line,
                node.pos.column,
                entries
                    .iter()
                    .map(|(k, v)| format!("{} = {}", k.scalar().unwrap_or("?"), show(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn tree(text: &str) -> String {
        let parsed = parse(text);
        let mut out = parsed.root.as_ref().map(show).unwrap_or_default();
        for p in &parsed.problems {
            out.push_str(&format!(
                "\n{}:{}: {}: {}",
                p.pos.line, p.pos.column, p.path, p.message
            ));
        }
        out
    }

    #[test]
    fn nodes_know_where_they_start() {
        assert_eq!(
            tree("a: 1\nb:\n  - x\n  - 'y'\nc: {d: ~}\n"),
            "1:1 {a = 1:4 1, b = 3:3 [3:5 x, 4:5 \"y\"], c = 5:4 {d = 5:8 ~}}"
        );
    }

    #[test]
    fn merge_keys_add_what_the_mapping_does_not_give() {
        let text = "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n";
        assert_eq!(
            tree(text),
            "1:1 {base = 1:10 {x = 1:14 1, y = 1:20 2}, use = 3:3 {y = 4:6 3, x = 1:14 1}}"
        );
    }

    #[test]
    fn duplicate_keys_are_problems_and_the_first_stays() {
        assert_eq!(
            tree("a:\n  b: 1\n  b: 2\n"),
            "1:1 {a = 2:3 {b = 2:6 1}}\n3:3: a.b: duplicate key `b`"
        );
    }

    #[test]
    fn a_syntax_error_keeps_what_came_before() {
        let got = tree("checks:\n  - name: A\n    x: 1\n   y: 2\n");
        assert_eq!(
            got,
            "1:1 {checks = 2:3 [2:5 {name = 2:11 A, x = 3:8 1}]}\n4:4: checks: while parsing a block collection, did not find expected '-' indicator"
        );
    }

    #[test]
    fn alias_bombs_stop_at_the_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let parsed = parse(&text);
        assert!(parsed.syntax_error);
        assert!(
            parsed.problems[0].message.contains("too many values"),
            "{:?}",
            parsed.problems
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(MAX_DEPTH + 5) + &"]".repeat(MAX_DEPTH + 5);
        let parsed = parse(&text);
        assert!(
            parsed.problems[0].message.contains("nested more than"),
            "{:?}",
            parsed.problems
        );
    }
}
