//! The run's step [`Budget`]: what bounds the work of an evaluation where the language's own
//! termination does not help, as nested comprehensions over long lists of the response.
//!
//! It is carried, never global: every list and map of a run holds an `Arc` of it, and its
//! iterator takes one step per element handed out. It counts; deciding to discard a result
//! that saw a list cut short is `Scope`'s business.

use std::sync::atomic::{AtomicU64, Ordering};

/// The steps a run may still take: one per element handed out by iterating a `List` or a
/// `Map` (and per element compared by `in` or `==` on them). Shared by every value of the run,
/// never global: the containers carry it.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: u64,
    remaining: AtomicU64,
    /// How often a step was refused; an evaluation compares it before and after.
    refused: AtomicU64,
}

impl Budget {
    pub(crate) fn new(limit: u64) -> Budget {
        Budget {
            limit,
            remaining: AtomicU64::new(limit),
            refused: AtomicU64::new(0),
        }
    }

    /// Takes one step; false (and counted) when none is left.
    pub(crate) fn take(&self) -> bool {
        let taken = self
            .remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if !taken {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_once_spent_and_counts_refusals() {
        let budget = Budget::new(2);
        assert!(budget.take() && budget.take());
        assert!(!budget.take() && !budget.take());
        assert_eq!((budget.refused(), budget.limit()), (2, 2));
    }
}
