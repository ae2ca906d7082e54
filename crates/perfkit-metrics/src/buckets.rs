//! Log-linear bucket layout and the lock-free histograms built on it.
//!
//! The hot path cannot afford a lock or an allocation, so durations are counted in fixed
//! arrays of atomic buckets laid out like an HDR histogram: values below `2^(S+1)` get one
//! bucket each, and every further power of two is split into `2^S` equal sub-buckets. A bucket
//! is then never wider than `1/2^S` of the values it holds, whatever their magnitude. Reading
//! walks the arrays; recording is one index computation and one relaxed `fetch_add`.

use std::sync::atomic::{AtomicU64, Ordering};

/// The largest value a bucket layout can hold: 2^36 - 1 microseconds, about 19 hours. Larger
/// values are clamped into the last bucket rather than dropped.
pub(crate) const MAX_VALUE: u64 = (1 << 36) - 1;
const MAX_MSB: u32 = 35;

/// A log-linear layout with `2^S` sub-buckets per power of two.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout<const S: u32>;

impl<const S: u32> Layout<S> {
    const SUB_COUNT: usize = 1 << S;
    /// Number of buckets needed to cover `0..=MAX_VALUE`.
    pub(crate) const LEN: usize = (MAX_MSB - S + 2) as usize * Self::SUB_COUNT;

    /// The bucket holding `value` (clamped to [`MAX_VALUE`]).
    #[inline]
    pub(crate) fn index(value: u64) -> usize {
        let value = value.min(MAX_VALUE);
        let msb = 63 - (value | 1).leading_zeros();
        let group = msb.saturating_sub(S);
        // Group 0 is linear over 0..2^(S+1); group g >= 1 starts at (g + 1) * 2^S.
        let offset = (value >> group) as usize;
        (group as usize) * Self::SUB_COUNT + offset
    }

    /// The lowest value that lands in bucket `index`.
    pub(crate) fn lowest(index: usize) -> u64 {
        let group = (index / Self::SUB_COUNT).saturating_sub(1);
        let offset = index - group * Self::SUB_COUNT;
        (offset as u64) << group
    }

    /// The highest value that lands in bucket `index`.
    pub(crate) fn highest(index: usize) -> u64 {
        let group = (index / Self::SUB_COUNT).saturating_sub(1);
        Self::lowest(index) + (1u64 << group) - 1
    }

    /// The value reported for samples in bucket `index`: its midpoint, which halves the
    /// worst-case error compared with either edge.
    pub(crate) fn representative(index: usize) -> u64 {
        let low = Self::lowest(index);
        low + (Self::highest(index) - low) / 2
    }
}

/// Sub-bucket bits of the request and DB latency histograms: 128 sub-buckets per power of
/// two, so any reported percentile is within 0.4 % of the true sample value.
const FINE: u32 = 7;
/// Sub-bucket bits of per-route histograms: 16 sub-buckets, within 3.2 %; a route's P95 does
/// not need more, and a thousand routes stay small (4 KiB each per stripe).
const COARSE: u32 = 4;

/// Live request and DB latency histograms.
pub(crate) type FineBuckets = AtomicBuckets<FINE>;
/// Bucket counts read out of [`FineBuckets`].
pub(crate) type FineCounts = BucketCounts<FINE>;
/// Live per-route histograms.
pub(crate) type CoarseBuckets = AtomicBuckets<COARSE>;
/// Bucket counts read out of [`CoarseBuckets`].
pub(crate) type CoarseCounts = BucketCounts<COARSE>;
/// The layout of [`CoarseBuckets`].
pub(crate) type CoarseLayout = Layout<COARSE>;

/// A fixed array of atomic bucket counts in layout `Layout<S>`.
#[derive(Debug)]
pub(crate) struct AtomicBuckets<const S: u32> {
    counts: Box<[AtomicU64]>,
}

impl<const S: u32> Default for AtomicBuckets<S> {
    fn default() -> Self {
        AtomicBuckets { counts: (0..Layout::<S>::LEN).map(|_| AtomicU64::new(0)).collect() }
    }
}

impl<const S: u32> AtomicBuckets<S> {
    /// Counts one sample of `value`.
    #[inline]
    pub(crate) fn record(&self, value: u64) {
        // Relaxed: each counter is independent, and readers only need eventually-exact totals.
        self.counts[Layout::<S>::index(value)].fetch_add(1, Ordering::Relaxed);
    }

    /// Adds these counts into `into` (same layout), element by element.
    pub(crate) fn add_into(&self, into: &mut [u64]) {
        for (total, count) in into.iter_mut().zip(self.counts.iter()) {
            *total += count.load(Ordering::Relaxed);
        }
    }

    pub(crate) fn reset(&self) {
        for count in &*self.counts {
            count.store(0, Ordering::Relaxed);
        }
    }
}

/// Bucket counts read out of one or more [`AtomicBuckets`]: a plain, owned copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BucketCounts<const S: u32> {
    pub(crate) counts: Vec<u64>,
}

impl<const S: u32> Default for BucketCounts<S> {
    fn default() -> Self {
        BucketCounts { counts: vec![0; Layout::<S>::LEN] }
    }
}

impl<const S: u32> BucketCounts<S> {
    pub(crate) fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Element-wise `self - earlier`, saturating at zero (a reset between the two reads can
    /// make a bucket smaller; a negative count is never meaningful).
    pub(crate) fn since(&self, earlier: &Self) -> Self {
        let counts =
            self.counts.iter().zip(&earlier.counts).map(|(now, then)| now.saturating_sub(*then));
        BucketCounts { counts: counts.collect() }
    }

    /// The value at `quantile` (0..=1), as the representative of the bucket holding it; `None`
    /// when there are no samples.
    pub(crate) fn value_at_quantile(&self, quantile: f64) -> Option<u64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        // The rank of the sample we want, 1-based, as hdrhistogram computes it.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((quantile.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(Layout::<S>::representative(index));
            }
        }
        None
    }

    /// Cumulative counts at each of `bounds` (ascending): what Prometheus `le` buckets hold,
    /// in one pass over the buckets. A bucket counts towards a bound when its representative
    /// value is at most the bound, so a count is exact to within one bucket's width.
    pub(crate) fn cumulative_at(&self, bounds: &[u64], out: &mut Vec<u64>) {
        out.clear();
        let mut cumulative = 0;
        let mut next_bound = 0;
        for (index, count) in self.counts.iter().enumerate() {
            let value = Layout::<S>::representative(index);
            while next_bound < bounds.len() && value > bounds[next_bound] {
                out.push(cumulative);
                next_bound += 1;
            }
            if next_bound == bounds.len() {
                break;
            }
            cumulative += count;
        }
        out.resize(bounds.len(), cumulative);
    }

    /// Iterates `(representative value, count)` over non-empty buckets.
    pub(crate) fn iter_nonempty(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(index, count)| (Layout::<S>::representative(index), *count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_layout<const S: u32>() {
        // Every bucket's edges are contiguous and index() maps them back.
        let mut expected_low = 0;
        for index in 0..Layout::<S>::LEN {
            let (low, high) = (Layout::<S>::lowest(index), Layout::<S>::highest(index));
            assert_eq!(low, expected_low, "bucket {index}");
            assert!(high >= low);
            assert_eq!(Layout::<S>::index(low), index);
            assert_eq!(Layout::<S>::index(high), index);
            expected_low = high + 1;
        }
        assert_eq!(expected_low - 1, MAX_VALUE);
        assert_eq!(Layout::<S>::index(u64::MAX), Layout::<S>::LEN - 1);
    }

    #[test]
    fn layouts_cover_the_range_without_gaps() {
        check_layout::<4>();
        check_layout::<7>();
    }

    #[test]
    fn bucket_width_is_bounded_relative_to_value() {
        for index in 0..Layout::<FINE>::LEN {
            let (low, high) = (Layout::<FINE>::lowest(index), Layout::<FINE>::highest(index));
            let width = high - low + 1;
            // Exact below 2^(S+1); above, never wider than 1/2^S of the value.
            if low < 256 {
                assert_eq!(width, 1, "bucket {index}");
            } else {
                assert!(width as f64 / low as f64 <= 1.0 / 128.0, "bucket {index}");
            }
        }
    }

    #[test]
    fn quantiles_of_a_uniform_distribution() {
        let buckets = AtomicBuckets::<7>::default();
        for value in 1..=10_000 {
            buckets.record(value);
        }
        let mut counts = BucketCounts::<7>::default();
        buckets.add_into(&mut counts.counts);
        assert_eq!(counts.total(), 10_000);
        for (quantile, exact) in [(0.5, 5_000.0), (0.95, 9_500.0), (0.99, 9_900.0)] {
            let got = counts.value_at_quantile(quantile).unwrap() as f64;
            assert!((got - exact).abs() / exact < 0.005, "q{quantile}: {got} vs {exact}");
        }
        assert_eq!(BucketCounts::<7>::default().value_at_quantile(0.5), None);
    }

    #[test]
    fn since_subtracts_and_saturates() {
        let mut now = BucketCounts::<4>::default();
        let mut then = BucketCounts::<4>::default();
        now.counts[3] = 5;
        then.counts[3] = 2;
        then.counts[4] = 7;
        let delta = now.since(&then);
        assert_eq!(delta.counts[3], 3);
        assert_eq!(delta.counts[4], 0);
    }

    #[test]
    fn cumulative_counts_match_prometheus_le_semantics() {
        let buckets = AtomicBuckets::<4>::default();
        for value in [1_000, 4_000, 9_000, 40_000, 2_000_000] {
            buckets.record(value);
        }
        let mut counts = BucketCounts::<4>::default();
        buckets.add_into(&mut counts.counts);
        let mut cumulative = Vec::new();
        counts.cumulative_at(&[5_000, 10_000, 1_000_000, MAX_VALUE], &mut cumulative);
        assert_eq!(cumulative, [2, 3, 4, 5]);
        counts.cumulative_at(&[500], &mut cumulative);
        assert_eq!(cumulative, [0]);
    }
}
