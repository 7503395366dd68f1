//! Position recording: one pass over the document with [`Spanned`] notes where every key and
//! value starts, under its key path. Stage 2 looks positions up by the path it validates, so the
//! raw structs stay plain data.

use std::cell::RefCell;

use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer};
use serde_saphyr::{Location, Spanned};

use crate::source::{PathHash, PathIndex, Pos, Positions};
use crate::stage1::options;

thread_local! {
    static RECORDER: RefCell<Option<Recorder>> = const { RefCell::new(None) };
}

#[derive(Default)]
struct Recorder {
    path: Vec<String>,
    values: PathIndex,
    keys: PathIndex,
}

impl Recorder {
    fn current(&self) -> PathHash {
        self.path
            .iter()
            .fold(PathHash::EMPTY, |hash, segment| hash.with(segment))
    }
}

fn with_recorder(f: impl FnOnce(&mut Recorder)) {
    RECORDER.with(|slot| {
        if let Some(recorder) = slot.borrow_mut().as_mut() {
            f(recorder);
        }
    });
}

fn record(location: Location, key: bool) {
    if let Some(pos) = Pos::from_location(location) {
        with_recorder(|r| {
            let path = r.current();
            let index = if key { &mut r.keys } else { &mut r.values };
            index.insert(path, pos);
        });
    }
}

/// Where every value and key of `text` starts. A document that does not parse keeps the
/// positions of everything before the error, which covers every entry stage 1 could
/// deserialize.
pub(crate) fn record_positions(text: &str) -> Positions {
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            RECORDER.with(|slot| slot.borrow_mut().take());
        }
    }
    RECORDER.with(|slot| *slot.borrow_mut() = Some(Recorder::default()));
    let clear = Clear;
    // Pass NaN and infinities on (the typed pass still rejects them where a value is inferred).
    let mut options = options();
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
    let result = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        Spanned::<Walk>::deserialize(de)
    });
    if let Ok(root) = result {
        record(root.referenced, false);
    }
    let recorder = RECORDER
        .with(|slot| slot.borrow_mut().take())
        .unwrap_or_default();
    drop(clear);
    Positions {
        values: recorder.values,
        keys: recorder.keys,
    }
}

/// Visits any YAML node, recording the positions of its children.
struct Walk;

impl<'de> Deserialize<'de> for Walk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WalkVisitor)
    }
}

struct WalkVisitor;

impl<'de> de::Visitor<'de> for WalkVisitor {
    type Value = Walk;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_i128<E>(self, _: i128) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_u128<E>(self, _: u128) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_str<E>(self, _: &str) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_unit<E>(self) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_none<E>(self) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Walk, D::Error> {
        Walk::deserialize(deserializer)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Walk, D::Error> {
        Walk::deserialize(deserializer)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Walk, A::Error> {
        let mut index = 0;
        loop {
            with_recorder(|r| r.path.push(format!("[{index}]")));
            let element = seq.next_element::<Spanned<Walk>>()?;
            if let Some(element) = &element {
                record(element.referenced, false);
            }
            with_recorder(|r| {
                r.path.pop();
            });
            if element.is_none() {
                return Ok(Walk);
            }
            index += 1;
        }
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Walk, A::Error> {
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            with_recorder(|r| {
                let segment = if r.path.is_empty() {
                    key.value.0.clone()
                } else {
                    format!(".{}", key.value.0)
                };
                r.path.push(segment);
            });
            record(key.referenced, true);
            let value = map.next_value::<Spanned<Walk>>()?;
            record(value.referenced, false);
            with_recorder(|r| {
                r.path.pop();
            });
        }
        Ok(Walk)
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Walk, A::Error> {
        use serde::de::VariantAccess;
        let (_, variant) = data.variant::<IgnoredAny>()?;
        variant.newtype_variant::<Walk>()
    }
}

/// A mapping key as text, whatever scalar it is.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<KeyText, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(KeyText("?".to_string()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<KeyText, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(KeyText("?".to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}
