//! Per-thread striping of hot counters.
//!
//! Two threads incrementing the same atomic bounce its cache line between their cores, and
//! the recorder's throughput stops growing with threads (the prometheus crate's `MetricVec`
//! lock shows the effect at scale). So each thread is given a stripe index once, round-robin,
//! and writes only to its own stripe; readers add the stripes up.

use std::cell::Cell;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Aligns its content to 128 bytes so neighbouring stripes never share a cache line (two
/// 64-byte lines: adjacent-line prefetchers on x86 pull pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's stripe number, assigned on first use. Callers reduce it modulo their own
/// stripe count (a power of two, so with a mask).
#[inline]
pub(crate) fn thread_stripe() -> usize {
    STRIPE.with(|stripe| {
        let current = stripe.get();
        if current != usize::MAX {
            return current;
        }
        let assigned = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) & (usize::MAX >> 1);
        stripe.set(assigned);
        assigned
    })
}

/// The number of stripes for hot global counters: the machine's parallelism rounded up to a
/// power of two, between 2 and 16.
pub(crate) fn stripe_count() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from).next_power_of_two().clamp(2, 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_its_stripe_and_threads_differ() {
        let here = thread_stripe();
        assert_eq!(thread_stripe(), here);
        let there = std::thread::spawn(thread_stripe).join().unwrap();
        assert_ne!(here, there);
    }

    #[test]
    fn padding_separates_neighbours() {
        assert_eq!(std::mem::align_of::<CachePadded<u8>>(), 128);
        assert!(stripe_count().is_power_of_two());
    }
}
