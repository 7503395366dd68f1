//! The language itself: one immutable cel `Env` for the process (the standard library without
//! the optional syntax, plus our functions), and the table of every function, method and macro
//! it has, which the load-time check knows names by.
//!
//! The table is ours because cel has no public "is this function declared" query; a test checks
//! that the `Env` knows every entry in the style the table gives, and that what we leave out of
//! the standard `Env` (the optional library) is unknown to the table. What is not here: the
//! names an expression may use (`Names`).

use cel::common::functions::Function;
use cel::common::types::{
    DOUBLE_TYPE, DURATION_TYPE, DYN_TYPE, INT_TYPE, LIST_TYPE, STRING_TYPE, UINT_TYPE,
};
use cel::{DeclarationError, Env};
use std::sync::{Arc, LazyLock};

use crate::functions;

/// The language every expression is compiled and evaluated with.
pub(crate) static LANGUAGE: LazyLock<Arc<Env>> = LazyLock::new(|| {
    // `build` cannot fail (a test makes sure); were it to, the standard library alone still
    // evaluates, and our functions report themselves unknown instead of panicking
    Arc::new(build().unwrap_or_else(|_| Env::stdlib().with_optional_support(false)))
});

/// The standard library, without the optional syntax, and ours.
pub(crate) fn build() -> Result<Env, DeclarationError> {
    let mut env = Env::stdlib().with_optional_support(false);
    let lists: [(&str, Function); 6] = [
        ("sum", functions::sum),
        ("min", functions::min),
        ("max", functions::max),
        ("avg", functions::avg),
        ("flatten", functions::flatten),
        ("distinct", functions::distinct),
    ];
    for (name, f) in lists {
        env.add_overload(name, &format!("{name}_list"), vec![LIST_TYPE], f)?;
        env.add_member_overload(name, &format!("list_{name}"), LIST_TYPE, vec![], f)?;
    }
    let regexes: [(&str, Function); 3] = [
        (MATCHES, functions::matches),
        ("capture", functions::capture),
        ("captures", functions::captures),
    ];
    for (name, f) in regexes {
        env.add_overload(
            name,
            &format!("{name}_string"),
            vec![STRING_TYPE, STRING_TYPE],
            f,
        )?;
        env.add_member_overload(
            name,
            &format!("string_{name}"),
            STRING_TYPE,
            vec![STRING_TYPE],
            f,
        )?;
    }
    env.add_overload("epoch", "epoch_int", vec![INT_TYPE], functions::epoch)?;
    env.add_overload("epoch", "epoch_uint", vec![UINT_TYPE], functions::epoch)?;
    env.add_overload("epoch", "epoch_double", vec![DOUBLE_TYPE], functions::epoch)?;
    env.add_overload(
        "seconds",
        "seconds_duration",
        vec![DURATION_TYPE],
        functions::seconds,
    )?;
    env.add_overload(
        EQUALS,
        "eq_dyn",
        vec![DYN_TYPE, DYN_TYPE],
        functions::equals,
    )?;
    env.add_overload(
        NOT_EQUALS,
        "ne_dyn",
        vec![DYN_TYPE, DYN_TYPE],
        functions::not_equals,
    )?;
    Ok(env)
}

/// Our `matches`, with a cached regex; the compiler renames calls of `matches` to it. An `@`
/// cannot be written in CEL, so no expression can call it by this name.
pub(crate) const MATCHES: &str = "@matches";
/// Our `==` and `!=`, for operands that may be lists or maps.
pub(crate) const EQUALS: &str = "@eq";
pub(crate) const NOT_EQUALS: &str = "@ne";

/// How a function is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// `f(x)`
    Global,
    /// `x.f()`
    Method,
    /// `x.f()` and `f(x)`
    Both,
}

impl Style {
    pub(crate) fn global(self) -> bool {
        matches!(self, Style::Global | Style::Both)
    }

    pub(crate) fn method(self) -> bool {
        matches!(self, Style::Method | Style::Both)
    }
}

/// Every function and method of the language, and how it is written. Macros are below.
pub(crate) const FUNCTIONS: &[(&str, Style, &str)] = &[
    // the standard library
    ("bool", Style::Global, "bool(x)"),
    ("bytes", Style::Global, "bytes(x)"),
    ("contains", Style::Method, "s.contains(t)"),
    ("double", Style::Global, "double(x)"),
    ("duration", Style::Global, "duration(\"30m\")"),
    ("dyn", Style::Global, "dyn(x)"),
    ("endsWith", Style::Method, "s.endsWith(t)"),
    ("getDate", Style::Method, "t.getDate()"),
    ("getDayOfMonth", Style::Method, "t.getDayOfMonth()"),
    ("getDayOfWeek", Style::Method, "t.getDayOfWeek()"),
    ("getDayOfYear", Style::Method, "t.getDayOfYear()"),
    ("getFullYear", Style::Method, "t.getFullYear()"),
    ("getHours", Style::Method, "t.getHours()"),
    ("getMilliseconds", Style::Method, "t.getMilliseconds()"),
    ("getMinutes", Style::Method, "t.getMinutes()"),
    ("getMonth", Style::Method, "t.getMonth()"),
    ("getSeconds", Style::Method, "t.getSeconds()"),
    ("int", Style::Global, "int(x)"),
    ("matches", Style::Both, "s.matches(regex)"),
    ("size", Style::Both, "size(x)"),
    ("startsWith", Style::Method, "s.startsWith(t)"),
    ("string", Style::Global, "string(x)"),
    (
        "timestamp",
        Style::Global,
        "timestamp(\"2024-01-01T00:00:00Z\")",
    ),
    ("type", Style::Global, "type(x)"),
    ("uint", Style::Global, "uint(x)"),
    // ours
    ("avg", Style::Both, "avg(list)"),
    ("capture", Style::Both, "capture(s, regex)"),
    ("captures", Style::Both, "captures(s, regex)"),
    ("distinct", Style::Both, "distinct(list)"),
    ("epoch", Style::Global, "epoch(seconds)"),
    ("flatten", Style::Both, "flatten(list)"),
    ("max", Style::Both, "max(list)"),
    ("min", Style::Both, "min(list)"),
    ("seconds", Style::Global, "seconds(duration)"),
    ("sum", Style::Both, "sum(list)"),
];

/// The macros, the arguments they take, and how they are written. The parser expands a call
/// with these arguments; a call left as it was has the wrong ones.
pub(crate) const MACROS: &[(&str, Style, &[usize], &str)] = &[
    ("has", Style::Global, &[1], "has(body.field)"),
    ("all", Style::Method, &[2], "list.all(x, condition)"),
    ("exists", Style::Method, &[2], "list.exists(x, condition)"),
    (
        "exists_one",
        Style::Method,
        &[2],
        "list.exists_one(x, condition)",
    ),
    (
        "existsOne",
        Style::Method,
        &[2],
        "list.existsOne(x, condition)",
    ),
    ("filter", Style::Method, &[2], "list.filter(x, condition)"),
    (
        "map",
        Style::Method,
        &[2, 3],
        "list.map(x, value) or list.map(x, condition, value)",
    ),
];

/// The identifiers that name a type (`type(x) == string`).
pub(crate) const TYPES: &[&str] = &[
    "bool",
    "bytes",
    "double",
    "int",
    "list",
    "map",
    "null_type",
    "string",
    "type",
    "uint",
];

pub(crate) fn function(name: &str) -> Option<(Style, &'static str)> {
    FUNCTIONS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, style, usage)| (*style, *usage))
}

pub(crate) fn macro_(name: &str) -> Option<(Style, &'static [usize], &'static str)> {
    MACROS
        .iter()
        .find(|(n, _, _, _)| *n == name)
        .map(|(_, style, arities, usage)| (*style, *arities, *usage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cel::{Context, ExecutionError};

    /// What the interpreter says to `source`: an undeclared function is the only failure that
    /// matters here (wrong arguments are fine).
    fn declared(source: &str) -> bool {
        let env = Arc::new(build().expect("our declarations are unique"));
        let ast = env.parser().parse(source).expect(source);
        let ctx = Context::with_env(env);
        !matches!(
            cel::Value::resolve_val(&ast, &ctx),
            Err(ExecutionError::UndeclaredReference(_))
        )
    }

    #[test]
    fn the_language_builds() {
        assert!(build().is_ok());
    }

    #[test]
    fn every_function_of_the_table_is_declared_in_its_styles() {
        for (name, style, _) in FUNCTIONS {
            // `matches` is the standard one here; the compiler's `@matches` cannot be parsed,
            // and the integration tests call it in both styles
            assert_eq!(
                declared(&format!("{name}('x', 'y')")),
                style.global(),
                "{name}(…)"
            );
            assert_eq!(
                declared(&format!("'x'.{name}('y')")),
                style.method(),
                "x.{name}(…)"
            );
        }
    }

    #[test]
    fn the_functions_we_leave_out_are_not_in_the_table() {
        for name in [
            "optional.of",
            "optional.none",
            "hasValue",
            "orValue",
            "value",
            "or",
            "lists.range",
            "base64.encode",
        ] {
            assert!(function(name).is_none() && macro_(name).is_none(), "{name}");
        }
    }
}
