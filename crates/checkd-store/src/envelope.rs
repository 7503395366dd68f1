//! The byte form of an [`Entry`] in the byte layers (Redis, sled).
//!
//! A frame is `CHKD` · format version (u32, big endian) · header length (u32, big endian) ·
//! a JSON header `{"stored_ms", "valid_for_ms", "producer", "payload_len"}` · the payload bytes.
//! The header is self-describing and the payload is kept raw (it is JSON already for records),
//! so decoding runs no code and costs no base64. Anything that is not such a frame of
//! [`FORMAT_VERSION`] is an [`EnvelopeError`], which the layers turn into a miss plus a warning.
//!
//! Changing the frame or the header bumps [`FORMAT_VERSION`]; the version is also part of the
//! Redis key and the sled tree name, so daemons of two versions share storage without reading
//! each other's entries.

use std::collections::HashSet;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::Entry;

/// The version of the entry format, in every frame, Redis key and sled tree name.
pub const FORMAT_VERSION: u32 = 1;

const MAGIC: &[u8; 4] = b"CHKD";
const FIXED: usize = MAGIC.len() + 4 + 4;

/// Why bytes are not an entry of this format.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("not a checkd entry")]
    Foreign,
    #[error("entry format v{found}, this daemon reads v{FORMAT_VERSION}")]
    Version { found: u32 },
    #[error("truncated entry")]
    Truncated,
    #[error("unreadable entry header: {0}")]
    Header(String),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header<'a> {
    stored_ms: i64,
    valid_for_ms: u64,
    #[serde(borrow)]
    producer: std::borrow::Cow<'a, str>,
    payload_len: u64,
}

/// Encodes an entry as a frame of [`FORMAT_VERSION`].
pub fn encode(entry: &Entry) -> Vec<u8> {
    encode_version(entry, FORMAT_VERSION)
}

pub(crate) fn encode_version(entry: &Entry, version: u32) -> Vec<u8> {
    let header = Header {
        stored_ms: entry.stored_ms,
        valid_for_ms: entry.valid_for_ms,
        producer: std::borrow::Cow::Borrowed(&entry.producer),
        payload_len: entry.payload.len() as u64,
    };
    // Serialising a struct of integers and a string into a Vec cannot fail.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let mut out = Vec::with_capacity(FIXED + header.len() + entry.payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&entry.payload);
    out
}

/// Decodes a frame; never panics, whatever the bytes.
pub fn decode(bytes: &[u8]) -> Result<Entry, EnvelopeError> {
    if bytes.len() < FIXED || &bytes[..4] != MAGIC {
        return Err(if bytes.starts_with(MAGIC) {
            EnvelopeError::Truncated
        } else {
            EnvelopeError::Foreign
        });
    }
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let version = word(4);
    if version != FORMAT_VERSION {
        return Err(EnvelopeError::Version { found: version });
    }
    let header_len = word(8) as usize;
    let rest = &bytes[FIXED..];
    if rest.len() < header_len {
        return Err(EnvelopeError::Truncated);
    }
    let (header, payload) = rest.split_at(header_len);
    let header: Header<'_> =
        serde_json::from_slice(header).map_err(|e| EnvelopeError::Header(e.to_string()))?;
    if header.payload_len != payload.len() as u64 {
        return Err(EnvelopeError::Truncated);
    }
    Ok(Entry {
        stored_ms: header.stored_ms,
        valid_for_ms: header.valid_for_ms,
        producer: header.producer.into_owned(),
        payload: payload.to_vec(),
    })
}

/// Warns about a corrupt or foreign entry once per key, so a bad entry that is read on every
/// check run does not flood the log. Remembers at most [`WarnOnce::CAPACITY`] keys, then
/// starts over.
#[derive(Debug, Default)]
pub(crate) struct WarnOnce {
    seen: Mutex<HashSet<String>>,
}

impl WarnOnce {
    const CAPACITY: usize = 4096;

    pub(crate) fn warn(&self, layer: &'static str, key: &str, error: &EnvelopeError) {
        // A poisoned set only means a panic elsewhere while inserting; the set is still valid.
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.contains(key) {
            return;
        }
        if seen.len() >= Self::CAPACITY {
            seen.clear();
        }
        seen.insert(key.to_string());
        drop(seen);
        tracing::warn!(layer, key, error = %error, "ignoring unreadable cache entry (treated as a miss)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            stored_ms: -5,
            valid_for_ms: 60_000,
            producer: "host-a".into(),
            payload: b"{\"x\":1}".to_vec(),
        }
    }

    #[test]
    fn round_trips_and_is_self_describing() {
        let bytes = encode(&entry());
        assert_eq!(decode(&bytes), Ok(entry()));
        assert_eq!(&bytes[..4], b"CHKD");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(r#""producer":"host-a""#), "{text}");
        let empty = Entry {
            payload: Vec::new(),
            ..entry()
        };
        assert_eq!(decode(&encode(&empty)), Ok(empty));
    }

    #[test]
    fn garbage_other_versions_and_truncation_are_errors_not_panics() {
        assert_eq!(decode(b""), Err(EnvelopeError::Foreign));
        assert_eq!(decode(b"\x80\x04pickle"), Err(EnvelopeError::Foreign));
        assert_eq!(
            decode(&encode_version(&entry(), 2)),
            Err(EnvelopeError::Version { found: 2 })
        );
        let bytes = encode(&entry());
        for cut in 0..bytes.len() {
            assert!(
                decode(&bytes[..cut]).is_err(),
                "prefix of {cut} bytes decoded"
            );
        }
        let mut longer = bytes.clone();
        longer.push(b'!');
        assert_eq!(decode(&longer), Err(EnvelopeError::Truncated));
        let mut bad_header = bytes;
        bad_header[FIXED] = b'[';
        assert!(matches!(decode(&bad_header), Err(EnvelopeError::Header(_))));
        let huge_len = [
            MAGIC.as_slice(),
            &FORMAT_VERSION.to_be_bytes(),
            &u32::MAX.to_be_bytes(),
        ]
        .concat();
        assert_eq!(decode(&huge_len), Err(EnvelopeError::Truncated));
    }
}
