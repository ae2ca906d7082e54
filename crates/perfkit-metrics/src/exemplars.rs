//! Exemplars: per histogram series and bucket, the latest observation recorded under a sampled
//! span (its trace and span ids, value and time), for the OpenMetrics exposition and for
//! getting from a slow figure to one slow request's trace.
//!
//! A cell is a small sequence lock over atomics: a writer claims it by making its sequence
//! odd, stores five words and makes it even again; a writer that finds it claimed gives up
//! (the other one's exemplar is as recent), so recording never waits. A reader retries a few
//! times while a write is under way, then reports nothing for that bucket.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering, fence};

use perfkit_core::{Exemplar, SampledSpan, SpanId, Timestamp, TraceId};

/// Reads attempted while writers keep a cell busy.
const READ_ATTEMPTS: usize = 4;

/// One bucket's latest exemplar.
#[derive(Debug, Default)]
struct ExemplarCell {
    /// Even: stable (0: never written); odd: a write is under way.
    sequence: AtomicU64,
    trace_high: AtomicU64,
    trace_low: AtomicU64,
    span: AtomicU64,
    value_bits: AtomicU64,
    unix_millis: AtomicU64,
}

impl ExemplarCell {
    fn store(&self, exemplar: &Exemplar) {
        let seen = self.sequence.load(Ordering::Relaxed);
        if seen % 2 == 1
            || self
                .sequence
                .compare_exchange(seen, seen + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        // A reader that sees any of the stores below sees the odd sequence after its fence.
        fence(Ordering::Release);
        let trace = exemplar.span.trace_id.to_u128();
        #[allow(clippy::cast_possible_truncation)]
        let (high, low) = ((trace >> 64) as u64, trace as u64);
        self.trace_high.store(high, Ordering::Relaxed);
        self.trace_low.store(low, Ordering::Relaxed);
        self.span.store(exemplar.span.span_id.to_u64(), Ordering::Relaxed);
        self.value_bits.store(exemplar.value.to_bits(), Ordering::Relaxed);
        let millis = u64::try_from(exemplar.timestamp.as_unix_millis()).unwrap_or(0);
        self.unix_millis.store(millis, Ordering::Relaxed);
        self.sequence.store(seen + 2, Ordering::Release);
    }

    fn load(&self) -> Option<Exemplar> {
        for _ in 0..READ_ATTEMPTS {
            let before = self.sequence.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let high = self.trace_high.load(Ordering::Relaxed);
            let low = self.trace_low.load(Ordering::Relaxed);
            let span = self.span.load(Ordering::Relaxed);
            let value = f64::from_bits(self.value_bits.load(Ordering::Relaxed));
            let millis = self.unix_millis.load(Ordering::Relaxed);
            // The loads above happen before the sequence is read again.
            fence(Ordering::Acquire);
            if self.sequence.load(Ordering::Relaxed) == before {
                let trace_id = TraceId::from_u128((u128::from(high) << 64) | u128::from(low));
                return Some(Exemplar {
                    span: SampledSpan { trace_id, span_id: SpanId::from_u64(span) },
                    value,
                    timestamp: Timestamp::from_unix_millis(i64::try_from(millis).unwrap_or(0)),
                });
            }
        }
        None
    }

    fn clear(&self) {
        // A write under way may still land after this; a reset loses at most that one.
        self.sequence.store(0, Ordering::Relaxed);
    }
}

/// The exemplars of one histogram series, one per bucket (`+Inf` last). The cells are made
/// on the first exemplar, so a series that never sees a sampled span costs one pointer.
#[derive(Debug)]
pub(crate) struct Exemplars {
    buckets: usize,
    cells: OnceLock<Box<[ExemplarCell]>>,
}

impl Exemplars {
    /// Room for `buckets` exemplars, allocated on the first.
    pub(crate) const fn new(buckets: usize) -> Self {
        Exemplars { buckets, cells: OnceLock::new() }
    }

    /// Makes `exemplar` the latest of `bucket` (ignored past the last bucket).
    #[inline]
    pub(crate) fn record(&self, bucket: usize, exemplar: &Exemplar) {
        let cells =
            self.cells.get_or_init(|| (0..self.buckets).map(|_| ExemplarCell::default()).collect());
        if let Some(cell) = cells.get(bucket) {
            cell.store(exemplar);
        }
    }

    /// The latest exemplar of `bucket`, if any.
    pub(crate) fn get(&self, bucket: usize) -> Option<Exemplar> {
        self.cells.get()?.get(bucket)?.load()
    }

    /// The exemplar of the highest bucket that has one: the slowest request this series
    /// kept a trace of.
    pub(crate) fn highest(&self) -> Option<Exemplar> {
        self.cells.get()?.iter().rev().find_map(ExemplarCell::load)
    }

    /// Every bucket's exemplar, for the slowest over series.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Exemplar> + '_ {
        self.cells.get().into_iter().flat_map(|cells| cells.iter().filter_map(ExemplarCell::load))
    }

    /// Forgets every exemplar.
    pub(crate) fn clear(&self) {
        if let Some(cells) = self.cells.get() {
            cells.iter().for_each(ExemplarCell::clear);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn exemplar(trace: u128, value: f64) -> Exemplar {
        Exemplar {
            span: SampledSpan { trace_id: TraceId::from_u128(trace), span_id: SpanId::from_u64(7) },
            value,
            timestamp: Timestamp::from_unix_millis(1_700_000_000_123),
        }
    }

    #[test]
    fn each_bucket_keeps_its_latest_and_the_highest_is_the_slowest() {
        let exemplars = Exemplars::new(3);
        assert_eq!(exemplars.highest(), None);
        assert!(exemplars.cells.get().is_none(), "nothing allocated before the first");
        exemplars.record(0, &exemplar(1, 0.001));
        exemplars.record(0, &exemplar(2, 0.002));
        exemplars.record(1, &exemplar(3, 0.3));
        exemplars.record(9, &exemplar(4, 9.0));
        assert_eq!(exemplars.get(0), Some(exemplar(2, 0.002)));
        assert_eq!(exemplars.get(2), None);
        assert_eq!(exemplars.highest(), Some(exemplar(3, 0.3)));
        assert_eq!(exemplars.iter().count(), 2);
        exemplars.clear();
        assert_eq!(exemplars.highest(), None);
    }

    #[test]
    fn concurrent_writers_never_tear_an_exemplar() {
        let exemplars = Arc::new(Exemplars::new(1));
        let writers: Vec<_> = (1..=4u64)
            .map(|writer| {
                let exemplars = Arc::clone(&exemplars);
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        // Every word of a writer's exemplar says who wrote it.
                        let trace = (u128::from(writer) << 64) | u128::from(writer);
                        #[allow(clippy::cast_precision_loss)]
                        exemplars.record(0, &exemplar(trace, writer as f64));
                    }
                })
            })
            .collect();
        while writers.iter().any(|w| !w.is_finished()) {
            if let Some(read) = exemplars.get(0) {
                let trace = read.span.trace_id.to_u128();
                #[allow(clippy::cast_possible_truncation)]
                let (high, low) = ((trace >> 64) as u64, trace as u64);
                #[allow(clippy::cast_precision_loss)]
                let value = high as f64;
                assert_eq!((high, read.value), (low, value), "a torn read");
            }
        }
        writers.into_iter().for_each(|w| w.join().unwrap());
        assert!(exemplars.get(0).is_some());
    }
}
