//! Our functions on top of CEL's standard library: `sum`, `min`, `max`, `avg`, `flatten`,
//! `distinct`, `capture`, `captures`, `epoch`, `seconds`; the cached `matches` the compiler
//! substitutes for the standard one; and the `==`/`!=` that compare our lists and maps with
//! cel's in either order.
//!
//! Each is linear in its input (`distinct` hashes rather than comparing pairs), so one call
//! cannot do more than its arguments' size of work; iterating a list of the response through
//! them costs the run's steps like any iteration. No function here reads a clock, the
//! environment or a file.
//!
//! Regexes are Rust's `regex` crate (linear time, no backreferences), compiled with a size limit
//! and kept in one bounded cache for the process, so `matches` and `capture` do not compile
//! their pattern on every evaluation; a literal pattern is compiled, and refused if invalid,
//! at load.

use cel::common::types::{
    CelBool, CelDouble, CelDuration, CelInt, CelList, CelString, CelTimestamp, CelUInt, Kind,
};
use cel::common::value::{CowVal, Val};
use cel::ExecutionError;
use regex::{Regex, RegexBuilder};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, RwLock};

use crate::error::{own, type_name};

type Args<'b, 'v> = Vec<CowVal<'b, 'v>>;
type Out<'b, 'v> = Result<CowVal<'b, 'v>, ExecutionError>;

fn arg<'x, 'b, 'v>(
    args: &'x [CowVal<'b, 'v>],
    i: usize,
) -> Result<&'x (dyn Val + 'v), ExecutionError> {
    args.get(i)
        .map(|a| a.as_ref())
        .ok_or(ExecutionError::invalid_argument_count(i + 1, args.len()))
}

fn string<'x>(args: &'x [CowVal<'_, '_>], i: usize) -> Result<&'x str, ExecutionError> {
    let value = arg(args, i)?;
    value
        .downcast_ref::<CelString>()
        .map(|s| s.inner())
        .ok_or_else(|| ExecutionError::UnexpectedType {
            got: type_name(value.get_type()).to_owned(),
            want: "string".to_owned(),
        })
}

/// The elements of the list argument, each as it is handed out (charged when ours).
fn elements<'x, 'v>(
    function: &str,
    args: &'x [CowVal<'_, 'v>],
) -> Result<Vec<&'x (dyn Val + 'v)>, ExecutionError> {
    let list = arg(args, 0)?;
    let iterable = (list.get_type().kind() == Kind::List)
        .then(|| list.as_iterable())
        .flatten()
        .ok_or_else(|| {
            own(format!(
                "{function} takes a list, not {}",
                type_name(list.get_type())
            ))
        })?;
    let mut out = Vec::new();
    let mut it = iterable.iter();
    while let Some(item) = it.next() {
        out.push(item);
    }
    Ok(out)
}

fn not_a_number(function: &str, position: usize, v: &dyn Val) -> ExecutionError {
    own(format!(
        "{function}: element {position} is a {}, not a number",
        type_name(v.get_type())
    ))
}

/// `sum(list)`: an int when every element is an int (overflow is an error), else a double.
pub(crate) fn sum<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let mut int: i64 = 0;
    let mut double: Option<f64> = None;
    for (position, item) in elements("sum", &args)?.into_iter().enumerate() {
        let whole = if let Some(i) = item.downcast_ref::<CelInt>() {
            Some(*i.inner())
        } else if let Some(u) = item.downcast_ref::<CelUInt>() {
            match (i64::try_from(*u.inner()), double.as_mut()) {
                (Ok(i), _) => Some(i),
                (Err(_), Some(acc)) => {
                    *acc += *u.inner() as f64;
                    None
                }
                (Err(_), None) => return Err(own("sum: int overflow")),
            }
        } else if let Some(d) = item.downcast_ref::<CelDouble>() {
            *double.get_or_insert(int as f64) += *d.inner();
            None
        } else {
            return Err(not_a_number("sum", position, item));
        };
        if let Some(i) = whole {
            match double.as_mut() {
                Some(acc) => *acc += i as f64,
                None => int = int.checked_add(i).ok_or_else(|| own("sum: int overflow"))?,
            }
        }
    }
    Ok(match double {
        Some(d) => CowVal::owned(CelDouble::from(d)),
        None => CowVal::owned(CelInt::from(int)),
    })
}

/// `avg(list)`: the mean of the numbers, a double; an empty list is an error.
pub(crate) fn avg<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let items = elements("avg", &args)?;
    if items.is_empty() {
        return Err(own("avg of an empty list"));
    }
    let mut total = 0.0;
    for (position, item) in items.iter().enumerate() {
        total += number(*item).ok_or_else(|| not_a_number("avg", position, *item))?;
    }
    Ok(CowVal::owned(CelDouble::from(total / items.len() as f64)))
}

fn number(v: &dyn Val) -> Option<f64> {
    if let Some(i) = v.downcast_ref::<CelInt>() {
        Some(*i.inner() as f64)
    } else if let Some(u) = v.downcast_ref::<CelUInt>() {
        Some(*u.inner() as f64)
    } else {
        v.downcast_ref::<CelDouble>().map(|d| *d.inner())
    }
}

fn extreme<'b, 'v>(function: &str, args: Args<'b, 'v>, wanted: std::cmp::Ordering) -> Out<'b, 'v> {
    let items = elements(function, &args)?;
    let mut best: Option<&(dyn Val + 'v)> = None;
    for item in items {
        let better = match best {
            None => true,
            Some(current) => {
                let comparer = item.as_comparer().ok_or_else(|| {
                    own(format!(
                        "{function}: cannot order {}",
                        type_name(item.get_type())
                    ))
                })?;
                let ordering = comparer.compare(current).map_err(|_| {
                    own(format!(
                        "{function}: cannot compare {} and {}",
                        type_name(item.get_type()),
                        type_name(current.get_type())
                    ))
                })?;
                ordering == wanted
            }
        };
        if better {
            best = Some(item);
        }
    }
    best.map(|v| CowVal::Owned(v.clone_as_boxed()))
        .ok_or_else(|| own(format!("{function} of an empty list")))
}

/// `min(list)`: the smallest element (numbers of any type, strings, timestamps, durations).
pub(crate) fn min<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    extreme("min", args, std::cmp::Ordering::Less)
}

/// `max(list)`: the largest element.
pub(crate) fn max<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    extreme("max", args, std::cmp::Ordering::Greater)
}

/// `flatten(list)`: the elements of the nested lists in place of them, one level deep; other
/// elements stay as they are.
pub(crate) fn flatten<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let mut out: Vec<Box<dyn Val + 'v>> = Vec::new();
    for item in elements("flatten", &args)? {
        match (item.get_type().kind(), item.as_iterable()) {
            (Kind::List, Some(inner)) => {
                let mut it = inner.iter();
                while let Some(x) = it.next() {
                    out.push(x.clone_as_boxed());
                }
            }
            _ => out.push(item.clone_as_boxed()),
        }
    }
    Ok(CowVal::owned(CelList::from(out)))
}

/// `distinct(list)`: the elements without repeats (CEL equality: `1 == 1.0`), first ones kept.
pub(crate) fn distinct<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let mut seen = HashSet::new();
    let mut out: Vec<Box<dyn Val + 'v>> = Vec::new();
    for item in elements("distinct", &args)? {
        if seen.insert(identity(item)) {
            out.push(item.clone_as_boxed());
        }
    }
    Ok(CowVal::owned(CelList::from(out)))
}

/// What a value equals, as a hashable key: numbers by their numeric value (so `1`, `1u` and
/// `1.0` are one), anything else by its kind and its text.
#[derive(Hash, PartialEq, Eq)]
enum Identity {
    Whole(i128),
    Double(u64),
    Other(&'static str, String),
}

fn identity(v: &dyn Val) -> Identity {
    let whole = |d: f64| (d.fract() == 0.0 && d.abs() < 1.0e30).then_some(d as i128);
    if let Some(i) = v.downcast_ref::<CelInt>() {
        Identity::Whole(i128::from(*i.inner()))
    } else if let Some(u) = v.downcast_ref::<CelUInt>() {
        Identity::Whole(i128::from(*u.inner()))
    } else if let Some(d) = v.downcast_ref::<CelDouble>() {
        let d = *d.inner();
        match whole(d) {
            Some(w) => Identity::Whole(w),
            None => Identity::Double(d.to_bits()),
        }
    } else {
        let kind = match v.get_type().kind() {
            Kind::String => "string",
            Kind::List => "list",
            Kind::Map => "map",
            _ => "other",
        };
        let value = canonical(crate::value::from_val(v));
        Identity::Other(
            kind,
            format!("{}:{value}", crate::error::type_name(v.get_type())),
        )
    }
}

/// `value` with every map's entries sorted, so equal maps print alike. Numbers already do:
/// `1`, `1u` and `1.0` all print `1`.
fn canonical(value: crate::Value) -> crate::Value {
    use crate::Value;
    match value {
        Value::List(items) => Value::List(items.into_iter().map(canonical).collect()),
        Value::Map(entries) => {
            let mut entries: Vec<_> = entries
                .into_iter()
                .map(|(k, v)| (k, canonical(v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(entries)
        }
        other => other,
    }
}

/// The process-wide cache of compiled regexes, by pattern; cleared when it is full. A lock
/// rather than a per-thread cache: evaluations run on any worker thread.
static REGEXES: LazyLock<RwLock<HashMap<String, Arc<Regex>>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// How many patterns the cache keeps: each is a few KiB compiled.
const CACHED_REGEXES: usize = 1024;

/// The compiled regex size (`RegexBuilder::size_limit`): far above any pattern a check needs,
/// far below what would make compiling one slow.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// `pattern` compiled, from the cache when it is there; the error says why it is invalid.
pub(crate) fn regex(pattern: &str) -> Result<Arc<Regex>, String> {
    if let Ok(cache) = REGEXES.read() {
        if let Some(found) = cache.get(pattern) {
            return Ok(Arc::clone(found));
        }
    }
    let compiled = RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map(Arc::new)
        .map_err(|e| {
            let text = e.to_string();
            // the parser's message ends with "error: <why>"; the rest draws the pattern
            let why = text
                .rsplit_once("error: ")
                .map_or(text.as_str(), |(_, why)| why);
            let why = why.trim().trim_end_matches('.');
            format!(
                "invalid regex /{pattern}/: {}",
                crate::error::lower_first(why)
            )
        })?;
    if let Ok(mut cache) = REGEXES.write() {
        if cache.len() >= CACHED_REGEXES {
            cache.clear();
        }
        cache.insert(pattern.to_owned(), Arc::clone(&compiled));
    }
    Ok(compiled)
}

fn regex_arg(args: &[CowVal<'_, '_>], i: usize) -> Result<Arc<Regex>, ExecutionError> {
    regex(string(args, i)?).map_err(own)
}

/// `matches` with a cached regex: the compiler calls this instead of the standard one, which
/// compiles its pattern on every call.
pub(crate) fn matches<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let re = regex_arg(&args, 1)?;
    Ok(CowVal::owned(CelBool::from(re.is_match(string(&args, 0)?))))
}

/// The text of a match's first group, or of the whole match when the regex has no group.
fn group<'t>(re: &Regex, captures: &regex::Captures<'t>) -> &'t str {
    let wanted = usize::from(re.captures_len() > 1);
    captures.get(wanted).map_or("", |m| m.as_str())
}

/// A string cut from the argument: borrowing the response's bytes when the argument does.
fn part_of<'v>(source: &CelString<'v>, part: &str) -> CelString<'v> {
    match source.as_borrowed() {
        Some(whole) => {
            let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize);
            start
                .and_then(|start| whole.get(start..start + part.len()))
                .map_or_else(|| CelString::from(part.to_owned()), CelString::from)
        }
        None => CelString::from(part.to_owned()),
    }
}

fn haystack<'x, 'v>(args: &'x [CowVal<'_, 'v>]) -> Result<&'x CelString<'v>, ExecutionError> {
    let value = arg(args, 0)?;
    value
        .downcast_ref::<CelString>()
        .ok_or_else(|| ExecutionError::UnexpectedType {
            got: type_name(value.get_type()).to_owned(),
            want: "string".to_owned(),
        })
}

/// `capture(string, regex)`: the first group of the first match (the whole match when the regex
/// has no group); no match is an error.
pub(crate) fn capture<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let re = regex_arg(&args, 1)?;
    let text = haystack(&args)?;
    let captures = re
        .captures(text.inner())
        .ok_or_else(|| own(format!("no match for /{}/", re.as_str())))?;
    Ok(CowVal::owned(part_of(text, group(&re, &captures))))
}

/// `captures(string, regex)`: the first group (or the whole match) of every match, in order.
pub(crate) fn captures<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let re = regex_arg(&args, 1)?;
    let text = haystack(&args)?;
    let found: Vec<Box<dyn Val + 'v>> = re
        .captures_iter(text.inner())
        .map(|c| Box::new(part_of(text, group(&re, &c))) as Box<dyn Val + 'v>)
        .collect();
    Ok(CowVal::owned(CelList::from(found)))
}

/// The range of CEL timestamps, 0001-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z, in seconds.
const FIRST_SECOND: i64 = -62_135_596_800;
const LAST_SECOND: i64 = 253_402_300_799;

/// `epoch(int|uint|double)`: seconds since 1970-01-01T00:00:00Z as a timestamp.
pub(crate) fn epoch<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let value = arg(&args, 0)?;
    let out_of_range = || {
        own(format!(
            "epoch: {} is out of range",
            crate::value::from_val(value)
        ))
    };
    let (seconds, nanos) = if let Some(i) = value.downcast_ref::<CelInt>() {
        (*i.inner(), 0)
    } else if let Some(u) = value.downcast_ref::<CelUInt>() {
        (i64::try_from(*u.inner()).map_err(|_| out_of_range())?, 0)
    } else if let Some(d) = value.downcast_ref::<CelDouble>() {
        let d = *d.inner();
        if !d.is_finite() || d < FIRST_SECOND as f64 || d > LAST_SECOND as f64 + 1.0 {
            return Err(out_of_range());
        }
        let whole = d.floor();
        let nanos = ((d - whole) * 1e9).round().min(999_999_999.0) as u32;
        (whole as i64, nanos)
    } else {
        return Err(own(format!(
            "epoch takes a number of seconds, not {}",
            type_name(value.get_type())
        )));
    };
    if !(FIRST_SECOND..=LAST_SECOND).contains(&seconds) {
        return Err(out_of_range());
    }
    let t = chrono::DateTime::from_timestamp(seconds, nanos).ok_or_else(out_of_range)?;
    Ok(CowVal::owned(CelTimestamp::from(t.fixed_offset())))
}

/// `seconds(duration)`: the duration in seconds, a double (`getSeconds()` truncates to an int).
pub(crate) fn seconds<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let value = arg(&args, 0)?;
    let d = value.downcast_ref::<CelDuration>().ok_or_else(|| {
        own(format!(
            "seconds takes a duration, not {}",
            type_name(value.get_type())
        ))
    })?;
    Ok(CowVal::owned(CelDouble::from(duration_seconds(d.inner()))))
}

pub(crate) fn duration_seconds(d: &chrono::Duration) -> f64 {
    d.num_seconds() as f64 + f64::from(d.subsec_nanos()) / 1e9
}

/// `a == b` where either may be a list or a map, ours or cel's.
pub(crate) fn equals<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let same = crate::shared::equal(arg(&args, 0)?, arg(&args, 1)?);
    Ok(CowVal::owned(CelBool::from(same)))
}

/// `a != b`, the same way.
pub(crate) fn not_equals<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let same = crate::shared::equal(arg(&args, 0)?, arg(&args, 1)?);
    Ok(CowVal::owned(CelBool::from(!same)))
}
