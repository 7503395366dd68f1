//! The response's lists and maps as CEL values: [`List`] and [`Map`] keep their elements behind
//! an `Arc`, and iterating them costs the run's steps.
//!
//! Why our own containers rather than cel's `DefaultList`/`DefaultMap`: the interpreter clones
//! an element into a comprehension's variable on every step (`clone_as_boxed`), and cloning a
//! `DefaultMap` copies it deeply (a worker object: about 2 µs); cloning ours bumps a reference
//! count. And only our iterator can charge the budget.
//!
//! What this is not: the interpreter's own lists and maps (`[1, 2]`, `{"a": 1}`, what `map()`
//! builds) stay cel's; the load-time bounds keep those small. [`equal`] compares any two
//! values, ours or cel's, with CEL's equality.

use cel::common::traits::{
    self, Adder, Container, Divider, Indexer, Iterable, Modder, Multiplier, Sizer, Subtractor,
};
use cel::common::types::{
    CelDouble, CelInt, CelList, CelString, CelUInt, Kind, Type, LIST_TYPE, MAP_TYPE,
};
use cel::common::value::{CowVal, Val};
use cel::objects::Value as CelValue;
use cel::ExecutionError;
use std::fmt;
use std::sync::Arc;

use crate::budget::Budget;

/// Hands out a list's elements, one step each; ends early when the budget is spent.
struct Elements<'b, 'a> {
    budget: &'b Budget,
    inner: std::slice::Iter<'b, Box<dyn Val + 'a>>,
}

impl<'b, 'a: 'w, 'w> traits::Iterator<'b, 'w> for Elements<'b, 'a> {
    fn next(&mut self) -> Option<&'b (dyn Val + 'w)> {
        let item = self.inner.next()?;
        self.budget.take().then_some(item.as_ref())
    }
}

/// Hands out a map's keys, one step each; ends early when the budget is spent.
struct Keys<'b, 'a> {
    budget: &'b Budget,
    inner: std::slice::Iter<'b, (CelString<'a>, Box<dyn Val + 'a>)>,
}

impl<'b, 'a: 'w, 'w> traits::Iterator<'b, 'w> for Keys<'b, 'a> {
    fn next(&mut self) -> Option<&'b (dyn Val + 'w)> {
        let (key, _) = self.inner.next()?;
        self.budget.take().then_some(key as &(dyn Val + 'w))
    }
}

/// A JSON array (or any list of the response): its elements behind an `Arc`.
#[derive(Clone)]
pub(crate) struct List<'a>(Arc<ListInner<'a>>);

struct ListInner<'a> {
    budget: Arc<Budget>,
    items: Vec<Box<dyn Val + 'a>>,
}

impl fmt::Debug for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "List(len {})", self.0.items.len())
    }
}

impl<'a> List<'a> {
    pub(crate) fn new(budget: &Arc<Budget>, items: Vec<Box<dyn Val + 'a>>) -> List<'a> {
        List(Arc::new(ListInner {
            budget: Arc::clone(budget),
            items,
        }))
    }
}

/// A JSON object (or another map of the response: headers, env): its entries in document order
/// behind an `Arc`, looked up by a linear scan when small, else through an index sorted by key.
#[derive(Clone)]
pub(crate) struct Map<'a>(Arc<MapInner<'a>>);

struct MapInner<'a> {
    budget: Arc<Budget>,
    entries: Vec<(CelString<'a>, Box<dyn Val + 'a>)>,
    /// Positions in `entries` sorted by key; empty for small maps.
    sorted: Vec<u32>,
}

/// Up to this many entries, a scan is faster than a binary search.
const SCAN_ENTRIES: usize = 8;

impl fmt::Debug for Map<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Map(len {})", self.0.entries.len())
    }
}

impl<'a> Map<'a> {
    /// A map of `entries`; of repeated keys the last one is kept, in the place of the first.
    pub(crate) fn new(
        budget: &Arc<Budget>,
        mut entries: Vec<(CelString<'a>, Box<dyn Val + 'a>)>,
    ) -> Map<'a> {
        let mut order: Vec<u32> = (0..entries.len() as u32).collect();
        order.sort_by(|a, b| key_of(&entries, *a).cmp(key_of(&entries, *b)));
        let repeated = order
            .windows(2)
            .any(|pair| key_of(&entries, pair[0]) == key_of(&entries, pair[1]));
        if repeated {
            entries = last_of_each_key(entries, &order);
            order = (0..entries.len() as u32).collect();
            order.sort_by(|a, b| key_of(&entries, *a).cmp(key_of(&entries, *b)));
        }
        if entries.len() <= SCAN_ENTRIES {
            order = Vec::new();
        }
        Map(Arc::new(MapInner {
            budget: Arc::clone(budget),
            entries,
            sorted: order,
        }))
    }

    fn get(&self, key: &str) -> Option<&(dyn Val + 'a)> {
        let inner = &*self.0;
        let found = if inner.sorted.is_empty() {
            inner.entries.iter().find(|(k, _)| k.inner() == key)
        } else {
            inner
                .sorted
                .binary_search_by(|at| key_of(&inner.entries, *at).cmp(key))
                .ok()
                .and_then(|i| inner.sorted.get(i))
                .and_then(|at| inner.entries.get(*at as usize))
        };
        found.map(|(_, value)| value.as_ref())
    }
}

fn key_of<'e>(entries: &'e [(CelString<'_>, Box<dyn Val + '_>)], at: u32) -> &'e str {
    entries.get(at as usize).map_or("", |(k, _)| k.inner())
}

/// Keeps, of each run of equal keys in `order`, the last entry's value at the first entry's place.
fn last_of_each_key<'a>(
    entries: Vec<(CelString<'a>, Box<dyn Val + 'a>)>,
    order: &[u32],
) -> Vec<(CelString<'a>, Box<dyn Val + 'a>)> {
    let mut slots: Vec<Option<(CelString<'a>, Box<dyn Val + 'a>)>> =
        entries.into_iter().map(Some).collect();
    let mut run_start = 0;
    while run_start < order.len() {
        let key = slots[order[run_start] as usize]
            .as_ref()
            .map(|(k, _)| k.inner().to_owned())
            .unwrap_or_default();
        let mut run_end = run_start + 1;
        while run_end < order.len()
            && slots[order[run_end] as usize]
                .as_ref()
                .is_some_and(|(k, _)| k.inner() == key)
        {
            run_end += 1;
        }
        // entries keep their document order within a run, as the sort is stable
        let first = order[run_start] as usize;
        let last = order[run_end - 1] as usize;
        if first != last {
            let value = slots[last].take().map(|(_, v)| v);
            for at in &order[run_start + 1..run_end] {
                slots[*at as usize] = None;
            }
            if let (Some(slot), Some(value)) = (slots[first].as_mut(), value) {
                slot.1 = value;
            }
        }
        run_start = run_end;
    }
    slots.into_iter().flatten().collect()
}

/// An error naming the types, for the arithmetic operators our containers refuse: without them
/// the interpreter would report the operator unsupported, and name our container `null`, as it
/// cannot convert it into its own value type.
fn refuse(operator: &str, lhs: &dyn Val, rhs: &dyn Val) -> ExecutionError {
    crate::error::own(format!(
        "cannot apply `{operator}` to {} and {}",
        crate::error::type_name(lhs.get_type()),
        crate::error::type_name(rhs.get_type())
    ))
}

/// The `Val` accessors of the arithmetic operators, each handing out the refusing impl below.
macro_rules! refusing_arithmetic {
    () => {
        fn as_subtractor<'b, 'w>(&'b self) -> Option<&'b (dyn Subtractor + 'w)>
        where
            Self: 'w,
        {
            Some(self)
        }

        fn as_multiplier<'b, 'w>(&'b self) -> Option<&'b (dyn Multiplier + 'w)>
        where
            Self: 'w,
        {
            Some(self)
        }

        fn as_divider<'b, 'w>(&'b self) -> Option<&'b (dyn Divider + 'w)>
        where
            Self: 'w,
        {
            Some(self)
        }

        fn as_modder<'b, 'w>(&'b self) -> Option<&'b (dyn Modder + 'w)>
        where
            Self: 'w,
        {
            Some(self)
        }
    };
}

/// An operator trait whose method always refuses, saying which types met.
macro_rules! refuse_operator {
    ($container:ident, $trait:ident, $method:ident, $symbol:literal) => {
        impl $trait for $container<'_> {
            fn $method<'b, 'w>(
                &'b self,
                rhs: &(dyn Val + 'w),
            ) -> Result<CowVal<'b, 'w>, ExecutionError>
            where
                Self: 'w,
            {
                Err(refuse($symbol, self, rhs))
            }
        }
    };
}

impl<'a> Val for List<'a> {
    fn get_type(&self) -> &Type {
        &LIST_TYPE
    }

    fn cel_type() -> &'static Type {
        &LIST_TYPE
    }

    fn as_adder<'b, 'w>(&'b self) -> Option<&'b (dyn Adder + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    refusing_arithmetic!();

    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }

    fn as_indexer<'b, 'w>(&'b self) -> Option<&'b (dyn Indexer + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_iterable<'b, 'w>(&'b self) -> Option<&'b (dyn Iterable + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        Some(self)
    }

    fn equals(&self, other: &dyn Val) -> bool {
        equal(self, other)
    }

    fn clone_as_boxed<'w>(&self) -> Box<dyn Val + 'w>
    where
        Self: 'w,
    {
        Box::new(self.clone())
    }
}

impl<'a> Indexer for List<'a> {
    fn get<'b, 'w>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        let position = if let Some(i) = idx.downcast_ref::<CelInt>() {
            Some(*i.inner())
        } else if let Some(u) = idx.downcast_ref::<CelUInt>() {
            Some(i64::try_from(*u.inner()).unwrap_or(i64::MAX))
        } else if let Some(d) = idx.downcast_ref::<CelDouble>() {
            let d = *d.inner();
            // a whole double indexes like the int it is (CEL's numeric index rule)
            (d.fract() == 0.0 && d.abs() < 9.0e15).then_some(d as i64)
        } else {
            return Err(ExecutionError::UnexpectedType {
                got: idx.get_type().name().to_owned(),
                want: "int".to_owned(),
            });
        };
        let Some(position) = position else {
            return Err(ExecutionError::UnexpectedType {
                got: idx.get_type().name().to_owned(),
                want: "int".to_owned(),
            });
        };
        usize::try_from(position)
            .ok()
            .and_then(|i| self.0.items.get(i))
            .map(|v| CowVal::Borrowed(v.as_ref() as &(dyn Val + 'w)))
            .ok_or(ExecutionError::IndexOutOfBounds(CelValue::Int(position)))
    }

    fn steal<'w>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'w>, ExecutionError>
    where
        Self: 'w,
    {
        self.get(idx).map(CowVal::into_owned)
    }
}

impl<'a> Iterable for List<'a> {
    fn iter<'b, 'w>(&'b self) -> Box<dyn traits::Iterator<'b, 'w> + 'b>
    where
        Self: 'w,
    {
        Box::new(Elements {
            budget: &self.0.budget,
            inner: self.0.items.iter(),
        })
    }
}

impl Sizer for List<'_> {
    fn size(&self) -> CelInt {
        CelInt::from(self.0.items.len() as i64)
    }
}

impl Container for List<'_> {
    fn contains(&self, value: &dyn Val) -> Result<bool, ExecutionError> {
        for item in &self.0.items {
            if !self.0.budget.take() {
                return Ok(false);
            }
            if equal(item.as_ref(), value) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl Adder for List<'_> {
    fn add<'b, 'w>(&'b self, rhs: &(dyn Val + 'w)) -> Result<CowVal<'b, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        let right = (rhs.get_type().kind() == Kind::List)
            .then(|| rhs.as_iterable())
            .flatten()
            .ok_or_else(|| refuse("+", self, rhs))?;
        let mut items: Vec<Box<dyn Val + 'w>> = Vec::with_capacity(self.0.items.len());
        for item in &self.0.items {
            if !self.0.budget.take() {
                break;
            }
            items.push(item.clone_as_boxed());
        }
        let mut more = right.iter();
        while let Some(item) = more.next() {
            items.push(item.clone_as_boxed());
        }
        Ok(CowVal::owned(CelList::from(items)))
    }
}

impl<'a> Val for Map<'a> {
    fn get_type(&self) -> &Type {
        &MAP_TYPE
    }

    fn cel_type() -> &'static Type {
        &MAP_TYPE
    }

    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }

    fn as_indexer<'b, 'w>(&'b self) -> Option<&'b (dyn Indexer + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_iterable<'b, 'w>(&'b self) -> Option<&'b (dyn Iterable + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        Some(self)
    }

    fn as_adder<'b, 'w>(&'b self) -> Option<&'b (dyn Adder + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    refusing_arithmetic!();

    fn equals(&self, other: &dyn Val) -> bool {
        equal(self, other)
    }

    fn clone_as_boxed<'w>(&self) -> Box<dyn Val + 'w>
    where
        Self: 'w,
    {
        Box::new(self.clone())
    }
}

refuse_operator!(Map, Adder, add, "+");
refuse_operator!(List, Subtractor, sub, "-");
refuse_operator!(Map, Subtractor, sub, "-");
refuse_operator!(List, Multiplier, mul, "*");
refuse_operator!(Map, Multiplier, mul, "*");
refuse_operator!(List, Divider, div, "/");
refuse_operator!(Map, Divider, div, "/");
refuse_operator!(List, Modder, modulo, "%");
refuse_operator!(Map, Modder, modulo, "%");

impl<'a> Indexer for Map<'a> {
    fn get<'b, 'w>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        let key =
            idx.downcast_ref::<CelString>()
                .ok_or_else(|| ExecutionError::UnexpectedType {
                    got: idx.get_type().name().to_owned(),
                    want: "string".to_owned(),
                })?;
        self.get(key.inner())
            .map(|v| CowVal::Borrowed(v as &(dyn Val + 'w)))
            .ok_or_else(|| ExecutionError::no_such_key(key.inner()))
    }

    fn steal<'w>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'w>, ExecutionError>
    where
        Self: 'w,
    {
        Indexer::get(&*self, idx).map(CowVal::into_owned)
    }
}

impl<'a> Iterable for Map<'a> {
    fn iter<'b, 'w>(&'b self) -> Box<dyn traits::Iterator<'b, 'w> + 'b>
    where
        Self: 'w,
    {
        Box::new(Keys {
            budget: &self.0.budget,
            inner: self.0.entries.iter(),
        })
    }
}

impl Sizer for Map<'_> {
    fn size(&self) -> CelInt {
        CelInt::from(self.0.entries.len() as i64)
    }
}

impl Container for Map<'_> {
    fn contains(&self, key: &dyn Val) -> Result<bool, ExecutionError> {
        Ok(key
            .downcast_ref::<CelString>()
            .is_some_and(|key| self.get(key.inner()).is_some()))
    }
}

/// CEL equality between any two values, ours or the interpreter's, in either order: lists
/// element by element, maps key by key, anything else by the left value's own `equals` (which
/// for the built-in scalars is symmetric and compares numbers across int, uint and double).
///
/// cel's own lists and maps only equal their own kind, so `[1] == body.list` would be false;
/// `==` and `!=` are compiled to this where an operand may be a list or a map.
pub(crate) fn equal(a: &dyn Val, b: &dyn Val) -> bool {
    match (a.get_type().kind(), b.get_type().kind()) {
        (Kind::List, Kind::List) => {
            let (Some(left), Some(right)) = (a.as_iterable(), b.as_iterable()) else {
                return false;
            };
            if size(a) != size(b) {
                return false;
            }
            let (mut left, mut right) = (left.iter(), right.iter());
            loop {
                match (left.next(), right.next()) {
                    (None, None) => return true,
                    (Some(x), Some(y)) if equal(x, y) => {}
                    _ => return false,
                }
            }
        }
        (Kind::Map, Kind::Map) => {
            let (Some(keys), Some(left), Some(right)) =
                (a.as_iterable(), a.as_indexer(), b.as_indexer())
            else {
                return false;
            };
            if size(a) != size(b) {
                return false;
            }
            let mut keys = keys.iter();
            while let Some(key) = keys.next() {
                match (left.get(key), right.get(key)) {
                    (Ok(x), Ok(y)) if equal(x.as_ref(), y.as_ref()) => {}
                    _ => return false,
                }
            }
            true
        }
        (Kind::List | Kind::Map, _) | (_, Kind::List | Kind::Map) => false,
        _ => a.equals(b),
    }
}

fn size(v: &dyn Val) -> Option<i64> {
    v.as_sizer().map(|s| *s.size().inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(map: &Map<'_>) -> Vec<String> {
        map.0
            .entries
            .iter()
            .map(|(k, _)| k.inner().to_owned())
            .collect()
    }

    fn int(map: &Map<'_>, key: &str) -> Option<i64> {
        map.get(key)
            .and_then(|v| v.downcast_ref::<CelInt>().map(|i| *i.inner()))
    }

    #[test]
    fn a_repeated_key_keeps_the_last_value_in_the_first_place() {
        let budget = Arc::new(Budget::new(u64::MAX));
        for size in [3, 20] {
            let mut entries: Vec<(CelString<'_>, Box<dyn Val>)> = (0..size)
                .map(|i| {
                    (
                        CelString::from(format!("k{i:02}")),
                        Box::new(CelInt::from(i)) as Box<dyn Val>,
                    )
                })
                .collect();
            entries.insert(1, (CelString::from("dup"), Box::new(CelInt::from(-1))));
            entries.push((CelString::from("dup"), Box::new(CelInt::from(-2))));
            entries.push((CelString::from("k00"), Box::new(CelInt::from(-3))));
            let map = Map::new(&budget, entries);
            let found = keys(&map);
            assert_eq!(found.len(), size as usize + 1, "{found:?}");
            assert_eq!(&found[..2], ["k00", "dup"]);
            assert_eq!(
                (int(&map, "dup"), int(&map, "k00"), int(&map, "k01")),
                (Some(-2), Some(-3), Some(1))
            );
            assert_eq!(int(&map, "nope"), None);
        }
    }
}
