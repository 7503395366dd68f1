//! Compiling an expression once, at load: the length bound, cel's parser (syntax errors turned
//! into character offsets and plain words), the checks of `check.rs`, the condition check, and
//! two substitutions in the tree: `matches` by our cached one (its literal pattern compiled and
//! checked now), and `==`/`!=` between operands that may be lists or maps by ours, which compare
//! the response's lists with the expression's in either order.
//!
//! An [`Expr`] holds the checked tree, not a cel `Program`: evaluating the tree is what a
//! `Program` does, and owning it is what lets us change it. Evaluation is `run.rs`.

use cel::common::ast::{CallExpr, EntryExpr, Expr as Node, IdedExpr, LiteralValue, SourceInfo};
use cel::ParseErrors;
use std::fmt;
use std::sync::Arc;

use crate::check;
use crate::error::Problem;
use crate::functions;
use crate::language::{self, LANGUAGE};
use crate::names::Names;

/// The longest source accepted, in characters: cel's parser recurses once per operator of a
/// chain like `1 + 1 + …`, so the length bounds its stack (4096 needs under 1 MiB unoptimised).
pub(crate) const MAX_SOURCE_CHARS: usize = 4096;
/// The deepest syntax tree accepted: evaluation recurses once per level.
pub(crate) const MAX_DEPTH: usize = 64;
/// The most comprehensions (`all`, `map`, …) nested in one another's body: each multiplies the
/// work by the length of its list.
pub(crate) const MAX_NESTING: usize = 2;

/// A compiled expression: Send + Sync, cheap to clone (Arc inside).
#[derive(Clone)]
pub struct Expr {
    inner: Arc<Compiled>,
}

struct Compiled {
    source: String,
    ast: IdedExpr,
    /// The bound names it uses.
    used: Vec<String>,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expr")
            .field("source", &self.source())
            .finish()
    }
}

impl Expr {
    /// Compiles `source`, which may use `names`; every problem found, in source order.
    pub fn compile(source: &str, names: &Names) -> Result<Expr, Vec<Problem>> {
        compile(source, names, false)
    }

    /// Also refuses a source whose result is certainly not a boolean (literal, arithmetic,
    /// list, map, size(...) at the root).
    pub fn condition(source: &str, names: &Names) -> Result<Expr, Vec<Problem>> {
        compile(source, names, true)
    }

    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Whether it uses the bound `name` (`body`, `item`, a `let` value), so a run can skip what
    /// no expression looks at.
    pub fn uses(&self, name: &str) -> bool {
        self.inner.used.iter().any(|u| u == name)
    }

    pub(crate) fn ast(&self) -> &IdedExpr {
        &self.inner.ast
    }
}

fn compile(source: &str, names: &Names, condition: bool) -> Result<Expr, Vec<Problem>> {
    let length = source.chars().count();
    if length > MAX_SOURCE_CHARS {
        return Err(vec![Problem::new(
            0,
            format!(
                "the expression is {length} characters long; at most {MAX_SOURCE_CHARS} are allowed"
            ),
        )]);
    }
    if source.trim().is_empty() {
        return Err(vec![Problem::new(0, "the expression is empty")]);
    }
    let text = Text { source };
    let (mut ast, info) = LANGUAGE
        .parser()
        .parse_with_source_info(source)
        .map_err(|errors| syntax_problems(&text, errors))?;
    let (mut problems, used) = check::check(&ast, &info, &text, names);
    // beyond the depth bound nothing else walks the tree
    if problems
        .iter()
        .all(|p| !p.message.contains("nested deeper"))
    {
        if condition {
            if let Some(what) = not_boolean(&ast) {
                problems.push(Problem::new(
                    text.start(),
                    format!("a condition must be a boolean, but this is {what}"),
                ));
            }
        }
        rewrite(&mut ast, &info, &text, &mut problems);
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.offset);
        problems.dedup();
        return Err(problems);
    }
    Ok(Expr {
        inner: Arc::new(Compiled {
            source: source.to_owned(),
            ast,
            used,
        }),
    })
}

/// The source, for turning cel's positions into character offsets.
pub(crate) struct Text<'s> {
    source: &'s str,
}

impl Text<'_> {
    /// The characters before byte `byte` (cel's node offsets count bytes).
    pub(crate) fn char_offset(&self, byte: usize) -> usize {
        let mut end = byte.min(self.source.len());
        while !self.source.is_char_boundary(end) {
            end -= 1;
        }
        self.source[..end].chars().count()
    }

    /// The offset of line `line`, column `column` (both from 1; the column counts characters,
    /// or bytes when `bytes`).
    fn line_column(&self, line: isize, column: isize, bytes: bool) -> usize {
        let mut start = 0;
        for (number, text) in self.source.split_inclusive('\n').enumerate() {
            if number as isize + 1 == line {
                let column = usize::try_from(column - 1).unwrap_or(0);
                let within = if bytes {
                    Text { source: text }.char_offset(column)
                } else {
                    column.min(text.chars().count())
                };
                return self.char_offset(start) + within;
            }
            start += text.len();
        }
        self.source.chars().count()
    }

    /// Where the identifier that ends just before byte `paren` (a call's `(`) starts.
    pub(crate) fn name_before(&self, paren: usize) -> usize {
        let before = self
            .source
            .get(..paren.min(self.source.len()))
            .unwrap_or("");
        let trimmed = before.trim_end();
        let name_start = trimmed
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
            .last()
            .map_or(trimmed.len(), |(i, _)| i);
        self.char_offset(name_start)
    }

    /// Where the expression starts: its first character that is not white space.
    fn start(&self) -> usize {
        self.source
            .chars()
            .take_while(|c| c.is_whitespace())
            .count()
    }
}

/// cel's parse errors as problems: the first syntax error (later ones are mostly its echo),
/// and every other error (a macro's, a literal's).
fn syntax_problems(text: &Text<'_>, errors: ParseErrors) -> Vec<Problem> {
    if let Some(e) = errors
        .errors
        .iter()
        .find(|e| e.msg.contains("Recursion limit"))
    {
        return vec![Problem::new(
            text.line_column(e.pos.0, e.pos.1, false),
            format!("the expression is nested deeper than {MAX_DEPTH} levels"),
        )];
    }
    let mut problems = Vec::new();
    let mut syntax = false;
    for e in &errors.errors {
        // the macros place their errors by bytes, the grammar by characters
        let by_bytes = matches!(
            e.msg.as_str(),
            "argument must be a simple name" | "invalid argument to has() macro"
        ) || e.msg.starts_with("macro '");
        let offset = text.line_column(e.pos.0, e.pos.1, by_bytes);
        if let Some(rest) = e.msg.strip_prefix("Syntax error: ") {
            if !syntax {
                syntax = true;
                problems.push(Problem::new(offset, syntax_message(rest)));
            }
        } else if !internal(&e.msg) {
            problems.push(Problem::new(offset, other_message(&e.msg)));
        }
    }
    if problems.is_empty() {
        // only the parser's own bookkeeping complained: say where, at least
        let offset = errors
            .errors
            .first()
            .map_or(0, |e| text.line_column(e.pos.0, e.pos.1, false));
        problems.push(Problem::new(offset, "syntax error"));
    }
    problems
}

/// The parser's notes about its own state after an error ("No `X`!", "Incomplete Y!").
fn internal(message: &str) -> bool {
    message.starts_with("No `") || message.starts_with("Incomplete")
}

/// ANTLR's message in plain words, without its list of expected tokens.
fn syntax_message(message: &str) -> String {
    let quoted = |rest: &str| {
        let token = rest.split('\'').nth(1).unwrap_or("").to_owned();
        if token == "<EOF>" || token.is_empty() {
            "end of the expression".to_owned()
        } else {
            format!("`{token}`")
        }
    };
    if let Some(rest) = message.strip_prefix("mismatched input ") {
        format!("syntax error: unexpected {}", quoted(rest))
    } else if let Some(rest) = message.strip_prefix("extraneous input ") {
        format!("syntax error: unexpected {}", quoted(rest))
    } else if let Some(rest) = message.strip_prefix("token recognition error at: ") {
        let text = rest.strip_prefix('\'').unwrap_or(rest);
        let text = text.strip_suffix('\'').unwrap_or(text);
        match text.chars().next() {
            Some('"' | '\'') => {
                "syntax error: a string is not closed, or has an invalid escape".to_owned()
            }
            Some(c) => format!("syntax error: unexpected character `{c}`"),
            None => "syntax error".to_owned(),
        }
    } else if let Some(rest) = message.strip_prefix("no viable alternative at input ") {
        let input = rest.trim_matches('\'');
        format!("syntax error at `{input}`")
    } else if let Some(rest) = message.strip_prefix("missing ") {
        let (what, at) = rest.split_once(" at ").unwrap_or((rest, ""));
        format!(
            "syntax error: missing {} before {}",
            what.trim_matches('\''),
            quoted(at)
        )
    } else {
        format!("syntax error: {}", crate::error::lower_first(message))
    }
}

fn other_message(message: &str) -> String {
    match message {
        "argument must be a simple name" => {
            "the variable of a macro must be a simple name, like `x` in list.all(x, x > 0)"
                .to_owned()
        }
        "invalid argument to has() macro" => {
            "has() takes a field selection, like has(body.field)".to_owned()
        }
        m if m.starts_with("unsupported syntax") => {
            let syntax = m.trim_start_matches("unsupported syntax").trim();
            format!("the optional syntax {syntax} is not supported: test with has() instead")
        }
        m => crate::error::lower_first(m),
    }
}

/// What the root of a condition certainly is when it is not a boolean; `None` when it is one or
/// may be one (a field, an index, a function of ours that gives any type).
fn not_boolean(e: &IdedExpr) -> Option<String> {
    let what = match &e.expr {
        Node::Literal(literal) => match literal {
            LiteralValue::Boolean(_) => return None,
            LiteralValue::Int(_) => "an int",
            LiteralValue::UInt(_) => "a uint",
            LiteralValue::Double(_) => "a double",
            LiteralValue::String(_) => "a string",
            LiteralValue::Bytes(_) => "bytes",
            LiteralValue::Null => "null",
        },
        Node::List(_) => "a list",
        Node::Map(_) => "a map",
        Node::Struct(_) => "a message",
        Node::Comprehension(c) => match &c.accu_init.expr {
            // `map` and `filter` build a list; `all`, `exists` and `exists_one` give a boolean
            Node::List(_) => "a list (`map` and `filter` give lists)",
            _ => return None,
        },
        Node::Call(call) => return call_not_boolean(call),
        _ => return None,
    };
    Some(what.to_owned())
}

fn call_not_boolean(call: &CallExpr) -> Option<String> {
    let gives = |kind: &str| Some(format!("`{}(…)`, which gives {kind}", call.func_name));
    match call.func_name.as_str() {
        "_+_" | "_-_" | "_*_" | "_/_" | "_%_" | "-_" => {
            Some("arithmetic, which gives a number (compare it: `… > 0`)".to_owned())
        }
        "_?_:_" => match (call.args.get(1), call.args.get(2)) {
            (Some(yes), Some(no)) => not_boolean(yes).and(not_boolean(no)),
            _ => None,
        },
        "size" | "int" | "getDate" | "getDayOfMonth" | "getDayOfWeek" | "getDayOfYear"
        | "getFullYear" | "getHours" | "getMilliseconds" | "getMinutes" | "getMonth"
        | "getSeconds" => gives("an int"),
        "uint" => gives("a uint"),
        "double" | "avg" | "seconds" => gives("a double"),
        "string" | "capture" => gives("a string"),
        "bytes" => gives("bytes"),
        "duration" => gives("a duration"),
        "timestamp" | "epoch" => gives("a timestamp"),
        "type" => gives("a type"),
        "flatten" | "distinct" | "captures" => gives("a list"),
        "sum" => gives("a number"),
        _ => None,
    }
}

/// The substitutions (see the module doc), and the check of every literal regex.
fn rewrite(e: &mut IdedExpr, info: &SourceInfo, text: &Text<'_>, problems: &mut Vec<Problem>) {
    match &mut e.expr {
        Node::Call(call) => {
            let method = call.target.is_some();
            let pattern_at = if method { 0 } else { 1 };
            match call.func_name.as_str() {
                "matches" => {
                    call.func_name = language::MATCHES.to_owned();
                    check_pattern(call.args.get(pattern_at), info, text, problems);
                }
                "capture" | "captures" => {
                    check_pattern(call.args.get(pattern_at), info, text, problems);
                }
                "_==_" | "_!=_" if !call.args.iter().any(is_scalar_literal) => {
                    call.func_name = if call.func_name == "_==_" {
                        language::EQUALS
                    } else {
                        language::NOT_EQUALS
                    }
                    .to_owned();
                }
                _ => {}
            }
            if let Some(target) = &mut call.target {
                rewrite(target, info, text, problems);
            }
            for arg in &mut call.args {
                rewrite(arg, info, text, problems);
            }
        }
        Node::Select(select) if !select.test => {
            // `a.b` is evaluated as the qualified name "a.b", looked up in every scope, then as
            // "a" with the field "b": a join and several misses per evaluation. No name we bind
            // has a dot, so `a["b"]`, which looks up "a" once, means the same and is faster.
            let mut operand = std::mem::take(&mut select.operand);
            rewrite(&mut operand, info, text, problems);
            let field = std::mem::take(&mut select.field);
            let field = IdedExpr {
                id: e.id,
                expr: Node::Literal(LiteralValue::String(field.into())),
            };
            e.expr = Node::Call(CallExpr {
                func_name: "_[_]".to_owned(),
                target: None,
                args: vec![*operand, field],
            });
        }
        Node::Select(select) => rewrite(&mut select.operand, info, text, problems),
        Node::Comprehension(c) => {
            for part in [
                &mut c.iter_range,
                &mut c.accu_init,
                &mut c.loop_cond,
                &mut c.loop_step,
                &mut c.result,
            ] {
                rewrite(part, info, text, problems);
            }
        }
        Node::List(list) => {
            for element in &mut list.elements {
                rewrite(element, info, text, problems);
            }
        }
        Node::Map(map) => {
            for entry in &mut map.entries {
                if let EntryExpr::MapEntry(entry) = &mut entry.expr {
                    rewrite(&mut entry.key, info, text, problems);
                    rewrite(&mut entry.value, info, text, problems);
                }
            }
        }
        Node::Ident(_) | Node::Literal(_) | Node::Struct(_) | Node::Unspecified => {}
    }
}

/// A literal that is neither a list nor a map: comparing with one, cel's `==` is right.
fn is_scalar_literal(e: &IdedExpr) -> bool {
    matches!(e.expr, Node::Literal(_))
}

/// Compiles a literal pattern now (warming the cache), so an invalid one is a load error.
fn check_pattern(
    pattern: Option<&IdedExpr>,
    info: &SourceInfo,
    text: &Text<'_>,
    problems: &mut Vec<Problem>,
) {
    let Some(e) = pattern else { return };
    let Node::Literal(LiteralValue::String(pattern)) = &e.expr else {
        return;
    };
    if let Err(message) = functions::regex(pattern.inner()) {
        let offset = info
            .offset_for(e.id)
            .map_or(0, |(start, _)| text.char_offset(start as usize));
        problems.push(Problem::new(offset, message));
    }
}
