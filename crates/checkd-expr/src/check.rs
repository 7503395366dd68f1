//! The load-time walk over a parsed expression: the bounds (depth, comprehension nesting),
//! unknown names (comprehension variables respected) and unknown functions, each reported at
//! its place with the closest known name when one is near.
//!
//! It only reads the tree. It never descends past the depth bound, so a hostile expression
//! cannot make it recurse deeply; what to change in the tree is `compile.rs`'s business.

use cel::common::ast::{EntryExpr, Expr, IdedExpr, SourceInfo};

use crate::compile::{Text, MAX_DEPTH, MAX_NESTING};
use crate::error::Problem;
use crate::language::{self, Style};
use crate::names::Names;

/// The problems of `ast`, in no particular order, and the bound names it uses.
pub(crate) fn check(
    ast: &IdedExpr,
    info: &SourceInfo,
    text: &Text<'_>,
    names: &Names,
) -> (Vec<Problem>, Vec<String>) {
    let mut checker = Checker {
        info,
        text,
        names,
        scope: Vec::new(),
        problems: Vec::new(),
        used: Vec::new(),
        too_deep: false,
    };
    checker.walk(ast, 1, 0);
    (checker.problems, checker.used)
}

struct Checker<'a> {
    info: &'a SourceInfo,
    text: &'a Text<'a>,
    names: &'a Names,
    /// The comprehension variables in scope, innermost last.
    scope: Vec<&'a str>,
    problems: Vec<Problem>,
    /// The bound names used (not comprehension variables), each once.
    used: Vec<String>,
    too_deep: bool,
}

impl<'a> Checker<'a> {
    fn offset(&self, e: &IdedExpr) -> usize {
        self.info
            .offset_for(e.id)
            .map_or(0, |(start, _)| self.text.char_offset(start as usize))
    }

    /// Where the name of a call or macro starts: the node sits at its `(`.
    fn name_offset(&self, e: &IdedExpr) -> usize {
        self.info
            .offset_for(e.id)
            .map_or(0, |(start, _)| self.text.name_before(start as usize))
    }

    fn walk(&mut self, e: &'a IdedExpr, depth: usize, nesting: usize) {
        if depth > MAX_DEPTH {
            if !self.too_deep {
                self.too_deep = true;
                self.problems.push(Problem::new(
                    self.offset(e),
                    format!("the expression is nested deeper than {MAX_DEPTH} levels"),
                ));
            }
            return;
        }
        let next = depth + 1;
        match &e.expr {
            Expr::Ident(name) => self.ident(e, name),
            Expr::Select(select) => self.walk(&select.operand, next, nesting),
            Expr::Call(call) => {
                let args = self.call(e, &call.func_name, call.target.as_deref(), call.args.len());
                if let Some(target) = &call.target {
                    if !self.is_unknown_namespace(target, &call.func_name) {
                        self.walk(target, next, nesting);
                    }
                }
                if args == Args::Check {
                    for arg in &call.args {
                        self.walk(arg, next, nesting);
                    }
                }
            }
            Expr::Comprehension(c) => {
                self.walk(&c.iter_range, next, nesting);
                self.walk(&c.accu_init, next, nesting);
                let inner = nesting + 1;
                if inner > MAX_NESTING {
                    self.problems.push(Problem::new(
                        self.name_offset(e),
                        format!(
                            "comprehensions are nested more than {MAX_NESTING} deep: each one \
                             multiplies the work by the length of its list"
                        ),
                    ));
                }
                let outer = self.scope.len();
                self.scope.push(&c.iter_var);
                if let Some(second) = &c.iter_var2 {
                    self.scope.push(second);
                }
                self.scope.push(&c.accu_var);
                self.walk(&c.loop_cond, next, inner);
                self.walk(&c.loop_step, next, inner);
                self.walk(&c.result, next, inner);
                self.scope.truncate(outer);
            }
            Expr::List(list) => {
                for element in &list.elements {
                    self.walk(element, next, nesting);
                }
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        self.walk(&entry.key, next, nesting);
                        self.walk(&entry.value, next, nesting);
                    }
                }
            }
            Expr::Struct(s) => self.problems.push(Problem::new(
                self.offset(e),
                format!(
                    "message literals (`{}{{…}}`) are not supported",
                    s.type_name
                ),
            )),
            Expr::Literal(_) => {}
            // the parser leaves one only beside an error it reports; never let one through,
            // as evaluating it panics
            Expr::Unspecified => self.problems.push(Problem::new(
                self.offset(e),
                "syntax error: incomplete expression",
            )),
        }
    }

    fn ident(&mut self, e: &IdedExpr, name: &str) {
        if self.scope.contains(&name) || language::TYPES.contains(&name) {
            return;
        }
        if self.names.contains(name) {
            if !self.used.iter().any(|u| u == name) {
                self.used.push(name.to_owned());
            }
            return;
        }
        let candidates = self
            .names
            .iter()
            .chain(self.scope.iter().copied())
            .filter(|c| !c.starts_with('@'));
        let message = match suggest(name, candidates) {
            Some(near) => format!("unknown name `{name}`, did you mean `{near}`?"),
            None => format!("unknown name `{name}`"),
        };
        self.problems.push(Problem::new(self.offset(e), message));
    }

    /// A method call whose target spells a name nothing binds, like `math.abs(x)`, is a call of
    /// an unknown (namespaced) function: reported once, by `call`.
    fn is_unknown_namespace(&self, target: &IdedExpr, function: &str) -> bool {
        let known_method = language::function(function).is_some_and(|(s, _)| s.method())
            || language::macro_(function).is_some();
        !known_method
            && qualified_root(target)
                .is_some_and(|root| !self.names.contains(root) && !self.scope.contains(&root))
    }

    /// Reports a call of an unknown function, or of a known one written wrongly; says whether
    /// its arguments are worth checking (not those of a macro, whose variable is no name).
    fn call(
        &mut self,
        e: &IdedExpr,
        function: &str,
        target: Option<&IdedExpr>,
        args: usize,
    ) -> Args {
        if is_operator(function) {
            return Args::Check;
        }
        let method = target.is_some();
        let at = self.name_offset(e);
        if let Some((style, arities, usage)) = language::macro_(function) {
            // a macro call the parser left as it was has the wrong arguments or style
            if method == (style == Style::Method) && arities.contains(&args) {
                return Args::Check;
            }
            let message = format!("`{function}` is written {usage}");
            self.problems.push(Problem::new(at, message));
            return Args::Skip;
        }
        if let Some((style, usage)) = language::function(function) {
            if (method && style.method()) || (!method && style.global()) {
                return Args::Check;
            }
            let message = if method {
                format!("`{function}` is a function, not a method: write {usage}")
            } else {
                format!("`{function}` is a method: write {usage}")
            };
            self.problems.push(Problem::new(at, message));
            return Args::Check;
        }
        if let Some(target) = target.filter(|t| self.is_unknown_namespace(t, function)) {
            if let Some(prefix) = qualified_name(target) {
                // reported where the qualified name starts
                let message = format!("unknown function `{prefix}.{function}`");
                self.problems
                    .push(Problem::new(self.offset(leftmost(target)), message));
                return Args::Check;
            }
        }
        let candidates = language::FUNCTIONS
            .iter()
            .filter(|(_, style, _)| {
                if method {
                    style.method()
                } else {
                    style.global()
                }
            })
            .map(|(name, _, _)| *name)
            .chain(
                language::MACROS
                    .iter()
                    .filter(|(_, style, _, _)| (*style == Style::Method) == method)
                    .map(|(name, _, _, _)| *name),
            );
        let near = suggest(function, candidates);
        let message = match near {
            Some(near) => format!("unknown function `{function}`, did you mean `{near}`?"),
            None => format!("unknown function `{function}`"),
        };
        self.problems.push(Problem::new(at, message));
        // a misspelt macro's first argument is its variable
        if near.and_then(language::macro_).is_some() {
            Args::Skip
        } else {
            Args::Check
        }
    }
}

#[derive(PartialEq, Eq)]
enum Args {
    Check,
    Skip,
}

/// cel's names for operators, which no expression can spell as a call.
pub(crate) fn is_operator(function: &str) -> bool {
    function.starts_with('@')
        || matches!(
            function,
            "_?_:_"
                | "_&&_"
                | "_||_"
                | "!_"
                | "_-_"
                | "_+_"
                | "_*_"
                | "_/_"
                | "_%_"
                | "_==_"
                | "_!=_"
                | "_>=_"
                | "_<=_"
                | "_>_"
                | "_<_"
                | "-_"
                | "_[_]"
                | "_[?_]"
                | "_?._"
        )
}

/// `a.b.c` as text, when `e` is a name with field selections on it. The chain can be as long
/// as the source allows, so this walks it in a loop, as the two below do.
fn qualified_name(e: &IdedExpr) -> Option<String> {
    let mut fields = Vec::new();
    let mut at = e;
    loop {
        match &at.expr {
            Expr::Ident(name) => {
                fields.push(name.as_str());
                fields.reverse();
                return Some(fields.join("."));
            }
            Expr::Select(s) if !s.test => {
                fields.push(&s.field);
                at = &s.operand;
            }
            _ => return None,
        }
    }
}

/// The first name of `a.b.c`.
fn qualified_root(e: &IdedExpr) -> Option<&str> {
    let mut at = e;
    loop {
        match &at.expr {
            Expr::Ident(name) => return Some(name),
            Expr::Select(s) if !s.test => at = &s.operand,
            _ => return None,
        }
    }
}

/// The innermost operand of a selection chain: where `a.b.c` starts.
fn leftmost(e: &IdedExpr) -> &IdedExpr {
    let mut at = e;
    while let Expr::Select(s) = &at.expr {
        at = &s.operand;
    }
    at
}

/// The candidate closest to `name`, if it is close: an edit or two for a short name, three for
/// a long one.
pub(crate) fn suggest<'c>(
    name: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    let most = match name.chars().count() {
        0..=3 => 1,
        4..=8 => 2,
        _ => 3,
    };
    candidates
        .filter(|c| *c != name)
        .map(|c| (distance(name, c), c))
        .filter(|(d, _)| *d <= most)
        .min()
        .map(|(_, c)| c)
}

/// Optimal string alignment distance over characters: an insertion, a deletion, a change or a
/// swap of neighbours is one edit.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggestion_is_the_closest_name_within_a_few_edits() {
        let names = ["body", "status", "headers", "now", "item"];
        let cases = [
            ("bdoy", Some("body")),
            ("Body", Some("body")),
            ("bodyy", Some("body")),
            ("stauts", Some("status")),
            ("header", Some("headers")),
            ("nwo", Some("now")),
            ("nme", None),
            ("x", None),
            ("body", None),
            ("itemz", Some("item")),
            ("completely", None),
        ];
        for (name, expected) in cases {
            assert_eq!(suggest(name, names.iter().copied()), expected, "{name}");
        }
    }

    #[test]
    fn distance_counts_a_swap_as_one_edit() {
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("é", "e"), 1);
    }
}
