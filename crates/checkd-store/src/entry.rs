//! [`Entry`]: the bytes a layer stores and the metadata beside them (stored at, valid for,
//! producer).
//!
//! An entry does not know what its payload means (a record, a response, a token) or how a
//! layer frames it on disk or in Redis (`envelope`).

use serde::{Deserialize, Serialize};

/// A stored value with the metadata every layer keeps beside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix milliseconds when the value was stored.
    pub stored_ms: i64,
    /// Milliseconds the value is fresh after `stored_ms`.
    pub valid_for_ms: u64,
    /// The checkd instance that produced the value.
    pub producer: String,
    pub payload: Vec<u8>,
}

impl Entry {
    pub fn expires_ms(&self) -> i64 {
        self.stored_ms
            .saturating_add(i64::try_from(self.valid_for_ms).unwrap_or(i64::MAX))
    }

    pub fn is_fresh(&self, now_ms: i64) -> bool {
        now_ms < self.expires_ms()
    }
}
