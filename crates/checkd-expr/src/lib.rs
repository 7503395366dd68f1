//! Expressions in checks: [CEL](https://github.com/google/cel-spec), the Common Expression
//! Language, compiled once at load, evaluated per run over one HTTP response, and never able to
//! hang or crash the daemon.
//!
//! An [`Expr`] (or a [`Template`] of text with `{expr}` parts) is compiled from its source and
//! the [`Names`] it may use; everything that can be known at load is a [`Problem`] with a
//! character offset into that source: syntax, unknown names and functions, the bounds below, and
//! a condition that can never be a boolean. A run converts the response once into a [`Run`]
//! (the body parsed as JSON when it is JSON, its arrays and objects shared, not copied), and
//! every expression of the check is evaluated in a [`Scope`] of it: a failing evaluation is an
//! [`EvalError`] with a one-line reason, never a panic.
//!
//! # The language
//!
//! CEL's standard library and macros (`has`, `all`, `exists`, `exists_one`, `map`, `filter`)
//! over the names `status` (int), `headers` (a map of lower-case names; repeated headers joined
//! with `", "`), `body` (the JSON value, else the text), `text` (the body as text), `elapsed` (a
//! duration), `now` (a timestamp: the run's, never the clock), `env.name` and `env.vars`, plus
//! the names a check binds (`item`, `index`, `let` values). On top of it, ours: `sum`, `min`,
//! `max`, `avg`, `flatten`, `distinct` (each also as a method: `list.sum()`), `capture`,
//! `captures`, `epoch` and `seconds`; see the `functions` module. The optional syntax (`a.?b`)
//! and CEL's extension libraries are left out: `lists.range` builds lists of any length, and the
//! strings extension's `indexOf`/`replace` are quadratic on long strings.
//!
//! JSON numbers: an integer is a CEL `int` (one beyond `i64` a `uint`), anything else a
//! `double`. CEL does not mix `int` and `double` in arithmetic (`body.failed * 100.0` is an
//! error when `failed` is an int): convert with `double(x)`. Comparisons do mix them (`1 < 1.5`).
//!
//! # Why it always terminates
//!
//! CEL has no loops and no recursion: the only iteration is a macro over a list or a map. On top
//! of that, three bounds are checked at load (source at most 4096 characters, syntax tree at
//! most 64 levels deep, comprehensions nested at most 2 deep) and one at run time: every element
//! handed out by iterating a list or map of the response costs a step of the run's budget, and
//! an evaluation that runs out is discarded. Lists the interpreter builds itself (`[1, 2]`,
//! the result of `map()` over such a list) are not counted: their length is bounded by the
//! source length, and iterating them two comprehensions deep by its square.
//!
//! What the budget does not count is the work inside one step: comparing or scanning a long
//! string costs its length, so a nested comprehension that scans a long string in every step
//! costs up to (budget × string length). The body size limit of the datasource bounds that
//! string.
//!
//! # What this crate is not
//!
//! It knows no YAML, no HTTP and no services: the config crate places a [`Problem`] at
//! `file:line:col`, the datasource crate fills a [`Response`] and turns values and errors into
//! states. It does no IO, reads no process environment and no clock.

mod budget;
mod check;
mod compile;
mod error;
mod functions;
mod json;
mod language;
mod names;
mod run;
mod shared;
mod template;
mod value;

pub use compile::Expr;
pub use error::{EvalError, Problem};
pub use names::Names;
pub use run::{Items, Response, Run, Scope};
pub use template::Template;
pub use value::Value;
