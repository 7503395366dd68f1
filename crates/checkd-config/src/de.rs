//! serde's `Deserializer` over a [`Node`] of the tree: the raw structs are built from
//! subtrees, and every problem carries the position and key path of the node it is about.
//!
//! Scalars are read by the type asked for (a plain `123` is a string where a string is
//! wanted), as YAML 1.2's core schema says where the type is open (`deserialize_any`).
//! Problems go to a [`Context`] the caller owns, so one file's stage 1 reports all of them:
//!
//! - A struct's unknown keys are all reported at once, each at its key.
//! - An enum with data is written as a mapping tagged by `type` (`{type: tcp, port: 5432}`):
//!   the variant is the `type`, its settings the other keys. A key that another kind takes
//!   (the caller's `misplaced`) is reported and skipped, so the rest is still checked.
//! - [`Unit`] entries recover: a problem inside one is reported and the
//!   entry becomes `Unit::Failed`, the next one is read as if nothing happened. The protocol:
//!   `Unit` asks for a newtype struct named [`UNIT`]; this deserializer answers with
//!   `visit_enum`, whose variant access reports its own errors before returning them, so the
//!   visitor may drop them. Any other deserializer answers `visit_newtype_struct` and errors
//!   travel as usual.
//!
//! It deliberately knows no checkd types: the raw structs and their messages live in `raw`.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::keypath::{join_index, join_key};
use crate::suggest::closest;
use crate::tree::{Kind, Node, Pos, Problem};

/// The newtype name of [`Unit`], see the module comment.
pub(crate) const UNIT: &str = "checkd::Unit";

/// The key that names the variant of a tagged enum.
const TAG: &str = "type";

/// `(enum, variant, key)` → the message for a key that another variant takes.
pub(crate) type Misplaced = dyn Fn(&str, &str, &str) -> Option<String>;

/// An independently deserialized entry. `Failed` means its problem is already reported and
/// stage 2 must stay silent about it (no cascade of "unknown datasource" and the like).
/// Units may nest (a check and its `expect`): the innermost one that fails is skipped.
#[derive(Debug)]
pub enum Unit<T> {
    Ok(T),
    Failed,
}

impl<T: Default> Default for Unit<T> {
    fn default() -> Self {
        Unit::Ok(T::default())
    }
}

impl<T> Unit<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Unit::Ok(value) => Some(value),
            Unit::Failed => None,
        }
    }
}

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for Unit<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(UNIT, UnitVisitor(PhantomData))
    }
}

struct UnitVisitor<T>(PhantomData<T>);

impl<'de, T: de::Deserialize<'de>> Visitor<'de> for UnitVisitor<T> {
    type Value = Unit<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an entry")
    }

    /// Any deserializer: the entry or its error.
    fn visit_newtype_struct<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Unit<T>, D::Error> {
        T::deserialize(deserializer).map(Unit::Ok)
    }

    /// The tree's deserializer ([`UNIT`]): its error is already reported.
    fn visit_enum<A: de::EnumAccess<'de>>(self, access: A) -> Result<Unit<T>, A::Error> {
        let ((), variant) = de::EnumAccess::variant::<()>(access)?;
        let value = de::VariantAccess::newtype_variant::<T>(variant);
        Ok(value.map_or(Unit::Failed, Unit::Ok))
    }
}

/// A `Unit` is written as what it wraps.
impl<T: schemars::JsonSchema> schemars::JsonSchema for Unit<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// Where one file's deserialization puts its problems.
pub(crate) struct Context<'a> {
    problems: RefCell<Vec<Problem>>,
    misplaced: &'a Misplaced,
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

impl<'a> Context<'a> {
    pub fn new(misplaced: &'a Misplaced) -> Context<'a> {
        Context {
            problems: RefCell::new(Vec::new()),
            misplaced,
        }
    }

    pub fn into_problems(self) -> Vec<Problem> {
        self.problems.into_inner()
    }

    fn push(&self, problem: Problem) {
        self.problems.borrow_mut().push(problem);
    }
}

/// Deserializes `T` from `node`, the root of a file. `Err` is a problem no `Unit` caught;
/// the others are in `cx`.
pub(crate) fn from_node<'de, T: de::Deserialize<'de>>(
    node: &'de Node<'de>,
    cx: &Context<'_>,
) -> Result<T, Option<Problem>> {
    let de = De {
        node,
        path: Path::Root,
        cx,
        variant: None,
    };
    T::deserialize(de).map_err(|err| match err {
        Error::At(problem) => Some(problem),
        Error::Loose(message) => Some(Problem {
            pos: node.pos,
            path: String::new(),
            message,
        }),
        Error::Reported => None,
    })
}

/// A key path on the stack, rendered only for a problem.
#[derive(Clone, Copy, Debug)]
enum Path<'p> {
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(parent, key) => join_key(&parent.render(), key),
            Path::Index(parent, index) => join_index(&parent.render(), *index),
        }
    }
}

/// A deserialization problem.
#[derive(Debug)]
pub(crate) enum Error {
    /// Raised by a visitor; the node it came from gives it its place.
    Loose(String),
    At(Problem),
    /// Already in the context; nothing more to say.
    Reported,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Loose(message) => f.write_str(message),
            Error::At(problem) => f.write_str(&problem.message),
            Error::Reported => f.write_str("reported"),
        }
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Loose(msg.to_string())
    }

    fn invalid_type(unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Error::Loose(format!("expected {expected}, found {}", found(&unexpected)))
    }

    fn invalid_value(unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Error::invalid_type(unexpected, expected)
    }

    fn invalid_length(len: usize, expected: &dyn de::Expected) -> Self {
        Error::Loose(format!("expected {expected}, found {len} entries"))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Error::Loose(unknown_name("value", variant, expected))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Error::Loose(unknown_name("key", field, expected))
    }

    fn missing_field(field: &'static str) -> Self {
        Error::Loose(format!("missing required key `{field}`"))
    }

    fn duplicate_field(field: &'static str) -> Self {
        Error::Loose(format!("duplicate key `{field}`"))
    }
}

/// `unknown key `x``, with the closest expected name or the names expected.
pub(crate) fn unknown_name(what: &str, name: &str, expected: &[&str]) -> String {
    match (closest(name, expected.iter().copied()), expected) {
        (Some(best), _) => format!("unknown {what} `{name}`, did you mean `{best}`?"),
        (None, []) => format!("unknown {what} `{name}`, nothing is allowed here"),
        (None, [only]) => format!("unknown {what} `{name}`, expected `{only}`"),
        (None, list) => format!(
            "unknown {what} `{name}`, expected one of: {}",
            list.join(", ")
        ),
    }
}

/// serde's description of a value, as our messages quote it: `"ok"`, `700`, `a list`.
fn found(unexpected: &de::Unexpected<'_>) -> String {
    use de::Unexpected as U;
    match unexpected {
        U::Bool(b) => b.to_string(),
        U::Unsigned(n) => n.to_string(),
        U::Signed(n) => n.to_string(),
        U::Float(n) => n.to_string(),
        U::Char(c) => format!("{:?}", c.to_string()),
        U::Str(s) => format!("{s:?}"),
        U::Bytes(_) => "bytes".to_string(),
        U::Unit | U::Option => "null".to_string(),
        U::Seq => "a list".to_string(),
        U::Map => "a mapping".to_string(),
        other => other.to_string(),
    }
}

/// A node as our messages quote it.
fn describe(node: &Node<'_>) -> String {
    match &node.kind {
        Kind::Seq(_) => "a list".to_string(),
        Kind::Map(_) => "a mapping".to_string(),
        Kind::Scalar { .. } if node.is_null() => "null".to_string(),
        Kind::Scalar {
            text, plain: true, ..
        } if bool_of(text).is_some() || int_of(text).is_some() || float_of(text).is_some() => {
            text.to_string()
        }
        Kind::Scalar { text, .. } => format!("{text:?}"),
    }
}

/// YAML 1.2 core schema booleans.
fn bool_of(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// YAML 1.2 core schema integers: decimal with an optional sign, `0o` octal, `0x` hex.
fn int_of(text: &str) -> Option<i128> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(octal) = digits.strip_prefix("0o") {
        (8, octal)
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// YAML 1.2 core schema floats, including `.inf`, `-.inf` and `.nan`.
fn float_of(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    match unsigned {
        ".inf" | ".Inf" | ".INF" if text.starts_with('-') => return Some(f64::NEG_INFINITY),
        ".inf" | ".Inf" | ".INF" => return Some(f64::INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    // Rust also reads `inf`, `nan` and `infinity`, which YAML keeps as strings.
    let numeral = unsigned
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        && unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    numeral.then(|| text.parse().ok()).flatten()
}

/// Deserializes from one node.
#[derive(Clone, Copy)]
struct De<'de, 'p> {
    node: &'de Node<'de>,
    path: Path<'p>,
    cx: &'p Context<'p>,
    /// Inside a variant of a tagged enum: the enum's name and the variant, whose `type` key
    /// is skipped and whose siblings' keys are "misplaced" rather than unknown.
    variant: Option<(&'static str, &'de str)>,
}

impl<'de, 'p> De<'de, 'p> {
    fn child<'q>(&self, node: &'de Node<'de>, path: Path<'q>) -> De<'de, 'q>
    where
        'p: 'q,
    {
        De {
            node,
            path,
            cx: self.cx,
            variant: None,
        }
    }

    fn problem(&self, pos: Pos, message: String) -> Problem {
        Problem {
            pos,
            path: self.path.render(),
            message,
        }
    }

    /// An error placed at this node.
    fn fail<T>(&self, message: impl Into<String>) -> Result<T, Error> {
        Err(Error::At(self.problem(self.node.pos, message.into())))
    }

    fn expected<T>(&self, what: &str) -> Result<T, Error> {
        self.fail(format!("expected {what}, found {}", describe(self.node)))
    }

    /// Gives a visitor's error this node's place.
    fn place(&self, err: Error) -> Error {
        match err {
            Error::Loose(message) => Error::At(self.problem(self.node.pos, message)),
            other => other,
        }
    }

    fn plain(&self) -> Option<&'de str> {
        match &self.node.kind {
            Kind::Scalar {
                text, plain: true, ..
            } => Some(text),
            _ => None,
        }
    }

    fn int<T: TryFrom<i128>>(&self, what: &str) -> Result<T, Error> {
        match self.plain().and_then(int_of) {
            Some(n) => T::try_from(n).or_else(|_| self.expected(what)),
            None => self.expected(what),
        }
    }

    fn float(&self) -> Result<f64, Error> {
        let text = self.plain();
        match text.and_then(|t| int_of(t).map(|n| n as f64).or_else(|| float_of(t))) {
            Some(n) => Ok(n),
            None => self.expected("a number"),
        }
    }

    fn string(&self) -> Result<&'de str, Error> {
        match &self.node.kind {
            Kind::Scalar { .. } if self.node.is_null() => self.expected("a string"),
            Kind::Scalar { text, .. } => Ok(text),
            _ => self.expected("a string"),
        }
    }

    /// The entries of a struct's mapping that its fields take; every unknown key is reported.
    fn fields(
        &self,
        entries: &'de [(Node<'de>, Node<'de>)],
        fields: &[&str],
    ) -> Result<Vec<&'de (Node<'de>, Node<'de>)>, Error> {
        let mut kept = Vec::with_capacity(entries.len());
        let mut unknown = false;
        for entry in entries {
            let key = entry.0.scalar().unwrap_or("?");
            if fields.contains(&key) {
                kept.push(entry);
                continue;
            }
            let misplaced = match self.variant {
                Some(_) if key == TAG => continue,
                Some((name, variant)) => (self.cx.misplaced)(name, variant, key),
                None => None,
            };
            let path = Path::Key(&self.path, key);
            let message = match misplaced {
                Some(message) => message,
                None => {
                    unknown = true;
                    unknown_name("key", key, fields)
                }
            };
            self.cx.push(Problem {
                pos: entry.0.pos,
                path: path.render(),
                message,
            });
        }
        if unknown {
            Err(Error::Reported)
        } else {
            Ok(kept)
        }
    }

    fn map(&self, entries: Vec<&'de (Node<'de>, Node<'de>)>) -> MapAccess<'de, 'p> {
        MapAccess {
            entries: entries.into_iter(),
            value: None,
            path: self.path,
            cx: self.cx,
        }
    }
}

macro_rules! integers {
    ($($method:ident $visit:ident $ty:ty, $what:expr;)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let n: $ty = self.int($what)?;
            visitor.$visit(n).map_err(|e| self.place(e))
        })*
    };
}

impl<'de> de::Deserializer<'de> for De<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let result = match &self.node.kind {
            Kind::Seq(items) => visitor.visit_seq(SeqAccess::new(self, items)),
            Kind::Map(entries) => visitor.visit_map(self.map(entries.iter().collect())),
            Kind::Scalar { .. } if self.node.is_null() => visitor.visit_unit(),
            Kind::Scalar {
                text, plain: true, ..
            } => {
                if let Some(b) = bool_of(text) {
                    visitor.visit_bool(b)
                } else if let Some(n) = int_of(text) {
                    match (i64::try_from(n), u64::try_from(n)) {
                        (Ok(n), _) => visitor.visit_i64(n),
                        (_, Ok(n)) => visitor.visit_u64(n),
                        _ => visitor.visit_i128(n),
                    }
                } else if let Some(n) = float_of(text) {
                    // `.nan` and `.inf` too: the visitor judges (JSON values refuse them).
                    visitor.visit_f64(n)
                } else {
                    visitor.visit_borrowed_str(text)
                }
            }
            Kind::Scalar { text, .. } => visitor.visit_borrowed_str(text),
        };
        result.map_err(|e| self.place(e))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.plain().and_then(bool_of) {
            Some(b) => visitor.visit_bool(b).map_err(|e| self.place(e)),
            None => self.expected("true or false"),
        }
    }

    integers! {
        deserialize_i8 visit_i8 i8, "an integer -128–127";
        deserialize_i16 visit_i16 i16, "an integer -32768–32767";
        deserialize_i32 visit_i32 i32, "an integer";
        deserialize_i64 visit_i64 i64, "an integer";
        deserialize_i128 visit_i128 i128, "an integer";
        deserialize_u8 visit_u8 u8, "an integer 0–255";
        deserialize_u16 visit_u16 u16, "an integer 0–65535";
        deserialize_u32 visit_u32 u32, "a non-negative integer";
        deserialize_u64 visit_u64 u64, "a non-negative integer";
        deserialize_u128 visit_u128 u128, "a non-negative integer";
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        #[allow(clippy::cast_possible_truncation)] // f32 fields take what fits
        let n = self.float()? as f32;
        visitor.visit_f32(n).map_err(|e| self.place(e))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let n = self.float()?;
        visitor.visit_f64(n).map_err(|e| self.place(e))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let text = self.string()?;
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c).map_err(|e| self.place(e)),
            _ => self.expected("a single character"),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let text = self.string()?;
        visitor.visit_borrowed_str(text).map_err(|e| self.place(e))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        self.fail("bytes are not supported here")
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.node.is_null() {
            visitor.visit_none().map_err(|e| self.place(e))
        } else {
            visitor.visit_some(self).map_err(|e| self.place(e))
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.node.is_null() {
            visitor.visit_unit().map_err(|e| self.place(e))
        } else {
            self.expected("null")
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == UNIT {
            return visitor.visit_enum(UnitAccess(self));
        }
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| self.place(e))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Seq(items) => visitor
                .visit_seq(SeqAccess::new(self, items))
                .map_err(|e| self.place(e)),
            _ => self.expected("a list"),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Map(entries) => visitor
                .visit_map(self.map(entries.iter().collect()))
                .map_err(|e| self.place(e)),
            _ => self.expected("a mapping"),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Map(entries) => {
                let kept = self.fields(entries, fields)?;
                visitor.visit_map(self.map(kept)).map_err(|e| self.place(e))
            }
            _ => self.expected("a mapping"),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node.kind {
            Kind::Scalar { .. } => visitor
                .visit_enum(ScalarEnum(self))
                .map_err(|e| self.place(e)),
            Kind::Map(_) => match self.node.entry(TAG) {
                Some(tag) => visitor
                    .visit_enum(TaggedEnum {
                        de: self,
                        name,
                        tag,
                    })
                    .map_err(|e| self.place(e)),
                None => self.fail(format!(
                    "missing required key `{TAG}`: one of {}",
                    variants.join(", ")
                )),
            },
            Kind::Seq(_) => self.expected(&format!("one of {}", variants.join(", "))),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

struct SeqAccess<'de, 'p> {
    de: De<'de, 'p>,
    items: std::iter::Enumerate<std::slice::Iter<'de, Node<'de>>>,
}

impl<'de, 'p> SeqAccess<'de, 'p> {
    fn new(de: De<'de, 'p>, items: &'de [Node<'de>]) -> Self {
        SeqAccess {
            de,
            items: items.iter().enumerate(),
        }
    }
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'de, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some((index, item)) = self.items.next() else {
            return Ok(None);
        };
        let child = self.de.child(item, Path::Index(&self.de.path, index));
        seed.deserialize(child).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAccess<'de, 'p> {
    entries: std::vec::IntoIter<&'de (Node<'de>, Node<'de>)>,
    value: Option<&'de (Node<'de>, Node<'de>)>,
    path: Path<'p>,
    cx: &'p Context<'p>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'de, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(entry);
        let key = entry.0.scalar().unwrap_or("?");
        let de = De {
            node: &entry.0,
            path: Path::Key(&self.path, key),
            cx: self.cx,
            variant: None,
        };
        seed.deserialize(de).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        let entry = self
            .value
            .take()
            .ok_or_else(|| Error::Loose("a value without its key".to_string()))?;
        let key = entry.0.scalar().unwrap_or("?");
        let de = De {
            node: &entry.1,
            path: Path::Key(&self.path, key),
            cx: self.cx,
            variant: None,
        };
        seed.deserialize(de)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A unit variant written as a scalar: `state: warn`.
struct ScalarEnum<'de, 'p>(De<'de, 'p>);

impl<'de, 'p> de::EnumAccess<'de> for ScalarEnum<'de, 'p> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let value = seed.deserialize(self.0)?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for ScalarEnum<'de, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, Error> {
        self.0
            .fail(format!("expected a mapping with `{TAG}` and its settings"))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        self.0.expected("a list")
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        self.0.expected("a mapping")
    }
}

/// A variant with data written as a mapping tagged by `type`: `{type: tcp, port: 5432}`.
struct TaggedEnum<'de, 'p> {
    de: De<'de, 'p>,
    name: &'static str,
    tag: &'de (Node<'de>, Node<'de>),
}

impl<'de, 'p> de::EnumAccess<'de> for TaggedEnum<'de, 'p> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let tag = self.de.child(&self.tag.1, Path::Key(&self.de.path, TAG));
        let value = seed.deserialize(tag)?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for TaggedEnum<'de, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match &self.de.node.kind {
            Kind::Map(entries) if entries.len() == 1 => Ok(()),
            _ => self.de.fail("this kind takes no other keys"),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        let variant = self.tag.1.scalar().unwrap_or_default();
        let de = De {
            variant: Some((self.name, variant)),
            ..self.de
        };
        seed.deserialize(de)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        self.de.expected("a list")
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let variant = self.tag.1.scalar().unwrap_or_default();
        let de = De {
            variant: Some((self.name, variant)),
            ..self.de
        };
        de::Deserializer::deserialize_struct(de, "", fields, visitor)
    }
}

/// The `Unit` protocol's access: its one variant reports its own errors.
struct UnitAccess<'de, 'p>(De<'de, 'p>);

impl<'de, 'p> de::EnumAccess<'de> for UnitAccess<'de, 'p> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let value = seed.deserialize(().into_deserializer())?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitAccess<'de, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Err(Error::Loose("a unit is a newtype".to_string()))
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        let de = self.0;
        seed.deserialize(de).map_err(|err| {
            match de.place(err) {
                Error::At(problem) => de.cx.push(problem),
                Error::Loose(_) | Error::Reported => {}
            }
            Error::Reported
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(Error::Loose("a unit is a newtype".to_string()))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        Err(Error::Loose("a unit is a newtype".to_string()))
    }
}
