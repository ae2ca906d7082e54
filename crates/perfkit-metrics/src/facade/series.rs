//! The live values behind facade handles: a striped counter, a gauge, and a histogram with
//! fixed bucket bounds. A handle the facade hands out holds one of these in an `Arc`, so
//! recording through a cached handle is an atomic add on this thread's stripe: no lookup, no
//! lock, no allocation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use perfkit_core::{Clock as _, Exemplar, SystemClock};

use crate::exemplars::Exemplars;
use crate::shard::{CachePadded, stripe_count, thread_stripe};

/// Most stripes a facade series has: each is a 128-byte line, and a registry may hold tens
/// of thousands of series.
const MAX_STRIPES: usize = 8;

fn stripes() -> usize {
    stripe_count().min(MAX_STRIPES)
}

/// Adds `delta` to the `f64` whose bits `cell` holds.
fn add_f64(cell: &AtomicU64, delta: f64) {
    // A compare-and-swap loop: there is no atomic float add. Within one stripe the loop
    // almost never retries.
    let _ = cell.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
        Some((f64::from_bits(bits) + delta).to_bits())
    });
}

/// A total that only grows, striped per thread so that threads recording the same series do
/// not share a cache line.
#[derive(Debug)]
pub(crate) struct CounterSeries {
    stripes: Box<[CachePadded<AtomicU64>]>,
    mask: usize,
    /// The total at the last interval close; only the close reads and writes it.
    baseline: AtomicU64,
}

impl Default for CounterSeries {
    fn default() -> Self {
        let count = stripes();
        CounterSeries {
            stripes: (0..count).map(|_| CachePadded(AtomicU64::new(0))).collect(),
            mask: count - 1,
            baseline: AtomicU64::new(0),
        }
    }
}

impl CounterSeries {
    #[inline]
    pub(crate) fn increment(&self, value: u64) {
        self.stripes[thread_stripe() & self.mask].fetch_add(value, Ordering::Relaxed);
    }

    /// Raises the total to `value` when it is below (a counter reported from elsewhere as
    /// its absolute total; a lower value is ignored, since a counter never falls).
    pub(crate) fn absolute(&self, value: u64) {
        let current = self.total();
        if value > current {
            self.increment(value - current);
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.stripes.iter().map(|stripe| stripe.load(Ordering::Relaxed)).fold(0, u64::wrapping_add)
    }

    /// The growth since the last close, and makes now the next baseline.
    pub(crate) fn close(&self) -> (u64, u64) {
        let total = self.total();
        let before = self.baseline.swap(total, Ordering::Relaxed);
        (total, total.saturating_sub(before))
    }

    /// The growth since the last close, leaving the baseline as it is.
    pub(crate) fn since_close(&self) -> (u64, u64) {
        let total = self.total();
        (total, total.saturating_sub(self.baseline.load(Ordering::Relaxed)))
    }

    pub(crate) fn reset(&self) {
        for stripe in &*self.stripes {
            stripe.store(0, Ordering::Relaxed);
        }
        self.baseline.store(0, Ordering::Relaxed);
    }
}

/// A value that is set, raised and lowered. One cell, not striped: `set` must win whole.
#[derive(Debug, Default)]
pub(crate) struct GaugeSeries {
    bits: AtomicU64,
}

impl GaugeSeries {
    pub(crate) fn set(&self, value: f64) {
        self.bits.store(value.to_bits(), Ordering::Relaxed);
    }

    pub(crate) fn add(&self, delta: f64) {
        add_f64(&self.bits, delta);
    }

    pub(crate) fn value(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}

/// One thread stripe of a histogram: a count per bucket (the last is `+Inf`) and the sum.
#[derive(Debug)]
struct HistogramStripe {
    counts: Box<[AtomicU64]>,
    sum_bits: AtomicU64,
}

/// Observations counted in buckets with fixed upper bounds, as a Prometheus histogram.
#[derive(Debug)]
pub(crate) struct HistogramSeries {
    bounds: Arc<[f64]>,
    stripes: Box<[CachePadded<HistogramStripe>]>,
    mask: usize,
    /// Bucket counts at the last interval close; only the close takes it.
    baseline: Mutex<Vec<u64>>,
    /// Per bucket, the latest observation made under a sampled span.
    exemplars: Exemplars,
}

/// A histogram's counts read at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct HistogramCounts {
    /// Per bucket, not cumulative; one more than the bounds (`+Inf`).
    pub(crate) buckets: Vec<u64>,
    pub(crate) sum: f64,
}

impl HistogramCounts {
    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().fold(0, |total, count| total.wrapping_add(*count))
    }
}

impl HistogramSeries {
    /// A histogram with these upper bounds (strictly increasing, finite; `+Inf` implied).
    pub(crate) fn new(bounds: Arc<[f64]>) -> Self {
        let count = stripes();
        let buckets = bounds.len() + 1;
        HistogramSeries {
            stripes: (0..count)
                .map(|_| {
                    CachePadded(HistogramStripe {
                        counts: (0..buckets).map(|_| AtomicU64::new(0)).collect(),
                        sum_bits: AtomicU64::new(0.0f64.to_bits()),
                    })
                })
                .collect(),
            mask: count - 1,
            baseline: Mutex::new(vec![0; buckets]),
            exemplars: Exemplars::new(buckets),
            bounds,
        }
    }

    pub(crate) fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Counts `count` observations of `value`. NaN is not an observation and is ignored.
    #[inline]
    pub(crate) fn record_many(&self, value: f64, count: u64) {
        if value.is_nan() {
            return;
        }
        // Prometheus buckets are `le`: the first bound at or above the value.
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        let stripe = &self.stripes[thread_stripe() & self.mask];
        stripe.counts[bucket].fetch_add(count, Ordering::Relaxed);
        #[allow(clippy::cast_precision_loss)]
        add_f64(&stripe.sum_bits, value * count as f64);
        // One atomic load unless a span source is installed (perfkit-axum's `otel`).
        if let Some(span) = perfkit_core::current_sampled_span() {
            self.note_exemplar(bucket, value, span);
        }
    }

    #[cold]
    #[inline(never)]
    fn note_exemplar(&self, bucket: usize, value: f64, span: perfkit_core::SampledSpan) {
        let exemplar = Exemplar { span, value, timestamp: SystemClock.now() };
        self.exemplars.record(bucket, &exemplar);
    }

    /// The latest exemplar of `bucket` (`+Inf` is the last), if a sampled span was current
    /// at an observation in it.
    pub(crate) fn exemplar(&self, bucket: usize) -> Option<Exemplar> {
        self.exemplars.get(bucket)
    }

    pub(crate) fn read(&self) -> HistogramCounts {
        let mut counts = HistogramCounts { buckets: vec![0; self.bounds.len() + 1], sum: 0.0 };
        for stripe in &*self.stripes {
            for (total, count) in counts.buckets.iter_mut().zip(&*stripe.counts) {
                *total = total.wrapping_add(count.load(Ordering::Relaxed));
            }
            counts.sum += f64::from_bits(stripe.sum_bits.load(Ordering::Relaxed));
        }
        counts
    }

    /// The counts now and the per-bucket growth since the last close; with `close`, now
    /// becomes the next baseline.
    pub(crate) fn interval(&self, close: bool) -> (HistogramCounts, Vec<u64>) {
        let now = self.read();
        let mut baseline = self.baseline.lock().unwrap_or_else(PoisonError::into_inner);
        let growth =
            now.buckets.iter().zip(baseline.iter()).map(|(n, b)| n.saturating_sub(*b)).collect();
        if close {
            baseline.clone_from(&now.buckets);
        }
        (now, growth)
    }

    pub(crate) fn reset(&self) {
        for stripe in &*self.stripes {
            for count in &*stripe.counts {
                count.store(0, Ordering::Relaxed);
            }
            stripe.sum_bits.store(0.0f64.to_bits(), Ordering::Relaxed);
        }
        self.baseline.lock().unwrap_or_else(PoisonError::into_inner).fill(0);
        self.exemplars.clear();
    }
}

/// The `q` quantile (0..=1) of observations counted per bucket (not cumulative) under
/// `bounds`, interpolated linearly within its bucket as Prometheus's `histogram_quantile`
/// does: the lowest bucket starts at 0 (or its bound, when that is negative), and a quantile
/// in the `+Inf` bucket is the highest finite bound. `None` without observations.
pub(crate) fn bucket_quantile(bounds: &[f64], counts: &[u64], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 || bounds.is_empty() {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let rank = q.clamp(0.0, 1.0) * total as f64;
    let mut below = 0u64;
    for (index, &count) in counts.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let reached = (below + count) as f64;
        if count > 0 && reached >= rank {
            let Some(&upper) = bounds.get(index) else {
                return bounds.last().copied();
            };
            let lower = match index {
                0 => upper.min(0.0),
                _ => bounds[index - 1],
            };
            #[allow(clippy::cast_precision_loss)]
            let within = (rank - below as f64) / count as f64;
            return Some(lower + (upper - lower) * within);
        }
        below += count;
    }
    bounds.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_over_threads_and_close_once() {
        let counter = Arc::new(CounterSeries::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || (0..1000).for_each(|_| counter.increment(1)))
            })
            .collect();
        threads.into_iter().for_each(|thread| thread.join().unwrap());
        assert_eq!(counter.since_close(), (4000, 4000));
        assert_eq!(counter.close(), (4000, 4000));
        counter.increment(5);
        assert_eq!(counter.close(), (4005, 5));
        counter.absolute(4000);
        assert_eq!(counter.total(), 4005, "a counter never falls");
        counter.absolute(5000);
        assert_eq!(counter.total(), 5000);
    }

    #[test]
    fn gauges_set_raise_and_lower() {
        let gauge = GaugeSeries::default();
        gauge.set(10.0);
        gauge.add(2.5);
        gauge.add(-4.0);
        assert_eq!(gauge.value(), 8.5);
    }

    #[test]
    fn histograms_count_by_le_bucket_and_sum() {
        let histogram = HistogramSeries::new(Arc::from([1.0, 5.0, 10.0]));
        for value in [0.5, 1.0, 3.0, 10.0, 11.0, f64::NAN] {
            histogram.record_many(value, 1);
        }
        histogram.record_many(2.0, 3);
        let counts = histogram.read();
        assert_eq!(counts.buckets, [2, 4, 1, 1]);
        assert_eq!(counts.count(), 8);
        assert_eq!(counts.sum, 0.5 + 1.0 + 3.0 + 10.0 + 11.0 + 6.0);
        let (_, growth) = histogram.interval(true);
        assert_eq!(growth, [2, 4, 1, 1]);
        histogram.record_many(7.0, 1);
        assert_eq!(histogram.interval(true).1, [0, 0, 1, 0]);
    }

    #[test]
    fn quantiles_interpolate_like_histogram_quantile() {
        let bounds = [1.0, 2.0, 4.0];
        // 10 observations in (1, 2], 10 in (2, 4].
        let counts = [0, 10, 10, 0];
        assert_eq!(bucket_quantile(&bounds, &counts, 0.5), Some(2.0));
        assert_eq!(bucket_quantile(&bounds, &counts, 0.25), Some(1.5));
        assert_eq!(bucket_quantile(&bounds, &counts, 0.75), Some(3.0));
        assert_eq!(bucket_quantile(&bounds, &[0, 0, 0, 5], 0.5), Some(4.0));
        assert_eq!(bucket_quantile(&bounds, &[4, 0, 0, 0], 0.5), Some(0.5));
        assert_eq!(bucket_quantile(&bounds, &[0; 4], 0.5), None);
    }
}
