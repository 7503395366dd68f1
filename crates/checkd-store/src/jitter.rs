//! TTL jitter: spreads the expiry of entries written together.
//!
//! The offset is derived from a hash of the key and the store time rather than a random
//! generator: every key of a wave gets a different offset, the same write always gets the same
//! one (tests can assert it), and no RNG is needed.

use std::hash::{DefaultHasher, Hash, Hasher};

/// The largest jitter accepted; more would let an entry expire almost at once.
pub const MAX_JITTER_PERCENT: u8 = 50;

/// `valid_for_ms` lengthened or shortened by up to `percent` % (at most
/// [`MAX_JITTER_PERCENT`]), by an offset chosen from `key` and `stored_ms`.
pub fn jitter_valid_for(key: &str, stored_ms: i64, valid_for_ms: u64, percent: u8) -> u64 {
    let percent = u128::from(percent.min(MAX_JITTER_PERCENT));
    let span = u128::from(valid_for_ms) * percent / 100;
    if span == 0 {
        return valid_for_ms;
    }
    let mut hasher = DefaultHasher::new();
    (key, stored_ms).hash(&mut hasher);
    // An offset in 0..=2·span, shifted to -span..=span.
    let offset = u128::from(hasher.finish()) % (2 * span + 1);
    let jittered = u128::from(valid_for_ms) + offset - span;
    u64::try_from(jittered).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_bounds_is_deterministic_and_spreads() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..1000 {
            let key = format!("result/prod/check-{i}");
            let v = jitter_valid_for(&key, 1_000, 60_000, 10);
            assert!((54_000..=66_000).contains(&v), "{v}");
            assert_eq!(v, jitter_valid_for(&key, 1_000, 60_000, 10));
            seen.insert(v / 1000);
        }
        assert!(
            seen.len() >= 10,
            "a wave of writes should spread over the window: {seen:?}"
        );
        assert_eq!(jitter_valid_for("k", 0, 60_000, 0), 60_000);
        assert_eq!(jitter_valid_for("k", 0, 0, 10), 0);
        let capped = jitter_valid_for("k", 0, 1_000, 100);
        assert!((500..=1_500).contains(&capped), "{capped}");
    }
}
