//! A fast random source per thread, for sampling coins and the ids of contexts that are never
//! exported: SplitMix64 seeded from the standard library's per-process random hash keys. Not
//! for secrets.

use std::cell::Cell;
use std::hash::{BuildHasher, RandomState};

thread_local! {
    static STATE: Cell<u64> = Cell::new(RandomState::new().hash_one(std::thread::current().id()));
}

/// The next random 64 bits of this thread's sequence.
#[inline]
pub(crate) fn next_u64() -> u64 {
    STATE.with(|state| {
        let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(next);
        let mut z = next;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// A random non-zero 64 bits (span ids and trace ids must not be all zeros).
#[cfg(feature = "otel")]
#[inline]
pub(crate) fn next_nonzero_u64() -> u64 {
    next_u64().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_differ_and_spread_over_the_range() {
        let values: Vec<u64> = (0..10_000).map(|_| next_u64()).collect();
        let distinct: std::collections::HashSet<_> = values.iter().collect();
        assert_eq!(distinct.len(), values.len());
        let below_half = values.iter().filter(|v| **v < u64::MAX / 2).count();
        assert!((4_500..5_500).contains(&below_half), "{below_half} of 10000 below half");
    }

    #[test]
    fn threads_have_sequences_of_their_own() {
        let here = next_u64();
        let there = std::thread::spawn(next_u64).join().unwrap();
        assert_ne!(here, there);
    }
}
