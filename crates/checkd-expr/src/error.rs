//! The two kinds of failure: a [`Problem`] found at load, and an [`EvalError`] of one run, with
//! cel's `ExecutionError`s turned into one lower-case line a service's reason can carry.
//!
//! Not the place that decides what a failure means for a service (UNKNOWN, CRIT): the
//! datasource crate does that with the message.

use cel::common::types::{Kind, Type};
use cel::objects::Value as CelValue;
use cel::ExecutionError;

/// A problem found at load: `offset` counts characters from the start of the source text.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub offset: usize,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(offset: usize, message: impl Into<String>) -> Problem {
        Problem {
            offset,
            message: message.into(),
        }
    }
}

/// Why an evaluation failed, for a service's reason: lower-case, one line, never a panic.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub message: String,
    /// The run's step budget ran out: the expression was stopped, not wrong.
    pub stopped: bool,
}

impl EvalError {
    pub(crate) fn new(message: impl Into<String>) -> EvalError {
        EvalError {
            message: one_line(&message.into()),
            stopped: false,
        }
    }

    pub(crate) fn budget(limit: u64) -> EvalError {
        EvalError {
            stopped: true,
            ..EvalError::new(format!(
                "expression stopped after {limit} steps (the run's budget)"
            ))
        }
    }
}

/// The function name our own errors carry: their message is shown as it is.
const OWN: &str = "@";

/// An error of our own functions and values, whose message is complete as it is.
pub(crate) fn own(message: impl Into<String>) -> ExecutionError {
    ExecutionError::FunctionError {
        function: OWN.to_owned(),
        message: message.into(),
    }
}

/// A type's name as people know it: `timestamp`, not `google.protobuf.Timestamp`.
pub(crate) fn type_name(t: &Type) -> &str {
    match t.kind() {
        Kind::Timestamp => "timestamp",
        Kind::Duration => "duration",
        Kind::NullType => "null",
        _ => t.name(),
    }
}

fn type_name_text(name: &str) -> &str {
    match name {
        "google.protobuf.Timestamp" => "timestamp",
        "google.protobuf.Duration" => "duration",
        "null_type" => "null",
        other => other,
    }
}

fn value_type(v: &CelValue) -> &'static str {
    match v {
        CelValue::List(_) => "list",
        CelValue::Map(_) => "map",
        CelValue::Function(..) => "function",
        CelValue::Int(_) => "int",
        CelValue::UInt(_) => "uint",
        CelValue::Float(_) => "double",
        CelValue::String(_) => "string",
        CelValue::Bytes(_) => "bytes",
        CelValue::Bool(_) => "bool",
        CelValue::Duration(_) => "duration",
        CelValue::Timestamp(_) => "timestamp",
        CelValue::Opaque(_) => "opaque",
        CelValue::Struct(_) => "message",
        CelValue::Null => "null",
    }
}

/// A scalar as it was written; anything else by its type.
fn value_text(v: &CelValue) -> String {
    match v {
        CelValue::Int(i) => i.to_string(),
        CelValue::UInt(u) => format!("{u}u"),
        CelValue::Float(d) => crate::value::format_double(*d),
        CelValue::Bool(b) => b.to_string(),
        CelValue::Null => "null".to_owned(),
        CelValue::String(s) => format!("{:?}", s.as_str()),
        CelValue::Duration(d) => crate::value::format_duration(*d),
        CelValue::Timestamp(t) => crate::value::format_timestamp(t),
        other => value_type(other).to_owned(),
    }
}

/// The operator a cel function name stands for, as it is written.
fn operator(function: &str) -> Option<&'static str> {
    Some(match function {
        "_+_" | "add" => "+",
        "_-_" | "sub" => "-",
        "_*_" | "mul" => "*",
        "_/_" | "div" => "/",
        "_%_" | "rem" => "%",
        "-_" | "neg" => "-",
        "!_" => "!",
        "_==_" | "@eq" => "==",
        "_!=_" | "@ne" => "!=",
        "_<_" => "<",
        "_<=_" => "<=",
        "_>_" => ">",
        "_>=_" => ">=",
        "_&&_" => "&&",
        "_||_" => "||",
        "_?_:_" => "?:",
        "@in" => "in",
        _ => return None,
    })
}

/// Our internal names for functions the user wrote under another.
fn public_name(function: &str) -> &str {
    match function {
        "@matches" => "matches",
        other => other,
    }
}

/// cel's error, said in one lower-case line.
pub(crate) fn from_execution(error: ExecutionError) -> EvalError {
    let message = match error {
        ExecutionError::NoSuchKey(key) => format!("no such key: {key}"),
        ExecutionError::DivisionByZero(_) => "division by zero".to_owned(),
        ExecutionError::RemainderByZero(_) => "modulo by zero".to_owned(),
        ExecutionError::Overflow("negate", operand, _) => {
            format!("overflow: -({})", value_text(&operand))
        }
        ExecutionError::Overflow(op, lhs, rhs) => {
            let op = operator(op).unwrap_or(op);
            format!("overflow: {} {op} {}", value_text(&lhs), value_text(&rhs))
        }
        ExecutionError::IndexOutOfBounds(index) => {
            format!("index out of bounds: {}", value_text(&index))
        }
        ExecutionError::UndeclaredReference(name) => format!("unknown name `{name}`"),
        ExecutionError::UnsupportedBinaryOperator(op, lhs, rhs) => {
            let (left, right) = (value_type(&lhs), value_type(&rhs));
            let op = operator(op).unwrap_or(op);
            let hint = match (left, right) {
                ("int" | "uint", "double") | ("double", "int" | "uint") | ("int", "uint")
                | ("uint", "int") => {
                    " (CEL does not mix number types in arithmetic: convert with double(x) or int(x))"
                }
                _ => "",
            };
            format!("cannot apply `{op}` to {left} and {right}{hint}")
        }
        ExecutionError::ValuesNotComparable(lhs, rhs) => {
            format!(
                "cannot compare {} and {}",
                value_type(&lhs),
                value_type(&rhs)
            )
        }
        ExecutionError::NoSuchOverload(overload) => {
            let function = overload.function();
            let types: Vec<&str> = overload
                .argument_types()
                .iter()
                .map(|t| type_name_text(t))
                .collect();
            match (function, operator(function)) {
                ("_[_]", _) => format!("cannot index {}", types.join(" with ")),
                ("_._", _) => format!(
                    "cannot select a field of {}",
                    types.first().copied().unwrap_or("this value")
                ),
                (_, Some(op)) => format!("cannot apply `{op}` to {}", types.join(" and ")),
                (_, None) if overload.is_member_function() => {
                    let (receiver, args) = types.split_first().unwrap_or((&"?", &[]));
                    format!(
                        "`{}` cannot be called on {receiver} with ({})",
                        public_name(function),
                        args.join(", ")
                    )
                }
                (_, None) => format!(
                    "`{}` cannot be called with ({})",
                    public_name(function),
                    types.join(", ")
                ),
            }
        }
        ExecutionError::UnexpectedType { got, want } => {
            let want = match want.as_str() {
                "iterable" => "a list or a map",
                other => other,
            };
            format!("expected {want}, found {}", type_name_text(&got))
        }
        ExecutionError::FunctionError { function, message } => {
            if function == OWN {
                message
            } else if function == "duration" && message.starts_with("Parsing Error") {
                // cel shows its parser's internals here
                "duration: not a duration like \"1h30m\" or \"2.5s\"".to_owned()
            } else {
                format!("{}: {message}", public_name(&function))
            }
        }
        ExecutionError::InvalidArgumentCount { expected, actual } => {
            format!("expected {expected} arguments, found {actual}")
        }
        ExecutionError::DuplicateKey(key) => {
            format!("repeated key {} in a map literal", value_text(&key))
        }
        ExecutionError::UnsupportedKeyType(key) => {
            format!("{} cannot be a map key", value_type(&key))
        }
        other => other.to_string(),
    };
    EvalError::new(lower_first(&message))
}

/// The message on one line.
fn one_line(message: &str) -> String {
    if message.contains(['\n', '\r']) {
        message.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        message.to_owned()
    }
}

/// Lower-cases a leading capital unless it starts an acronym ("RFC").
pub(crate) fn lower_first(message: &str) -> String {
    let mut chars = message.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_ascii_uppercase() && !second.is_uppercase() => {
            let mut out = String::with_capacity(message.len());
            out.push(first.to_ascii_lowercase());
            out.push_str(&message[first.len_utf8()..]);
            out
        }
        _ => message.to_owned(),
    }
}
