//! Turning bucket counts into the reported figures. Percentiles of the request and DB
//! distributions go through an [`hdrhistogram::Histogram`], which gives the standard
//! quantile-by-rank semantics and a tested implementation of them.

use hdrhistogram::Histogram;

use crate::buckets::{CoarseCounts, FineCounts, MAX_VALUE};
use crate::report::LatencySummary;

#[allow(clippy::cast_precision_loss)]
fn micros_to_millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// Summary of a fine-resolution distribution whose samples add up to `sum_micros`.
pub(crate) fn latency_summary(counts: &FineCounts, sum_micros: u64) -> LatencySummary {
    let count = counts.total();
    if count == 0 {
        return LatencySummary::default();
    }
    // Two significant digits match the fine layout's resolution (1/128 ≈ 0.8 %).
    let Ok(mut histogram) = Histogram::<u64>::new_with_bounds(1, MAX_VALUE, 2) else {
        return LatencySummary { count, ..LatencySummary::default() };
    };
    for (value, samples) in counts.iter_nonempty() {
        // Values are clamped to the histogram's range by construction; saturate regardless.
        histogram.saturating_record_n(value.max(1), samples);
    }
    #[allow(clippy::cast_precision_loss)]
    let avg = micros_to_millis(sum_micros) / count as f64;
    LatencySummary {
        count,
        avg: Some(avg),
        p50: Some(micros_to_millis(histogram.value_at_quantile(0.50))),
        p95: Some(micros_to_millis(histogram.value_at_quantile(0.95))),
        p99: Some(micros_to_millis(histogram.value_at_quantile(0.99))),
        max: Some(micros_to_millis(histogram.max())),
    }
}

/// `(mean, P95)` in milliseconds of a coarse per-route distribution. Routes skip hdrhistogram:
/// a thousand of them are summarized on every read, and a direct walk is allocation-free.
pub(crate) fn route_latency(counts: &CoarseCounts, sum_micros: u64) -> (Option<f64>, Option<f64>) {
    let count = counts.total();
    if count == 0 {
        return (None, None);
    }
    #[allow(clippy::cast_precision_loss)]
    let avg = micros_to_millis(sum_micros) / count as f64;
    (Some(avg), counts.value_at_quantile(0.95).map(micros_to_millis))
}

/// The value at `quantile` of a coarse distribution, in milliseconds; `None` without samples.
pub(crate) fn coarse_quantile_millis(counts: &CoarseCounts, quantile: f64) -> Option<f64> {
    counts.value_at_quantile(quantile).map(micros_to_millis)
}

/// `part / whole` as a ratio, `None` when `whole` is zero.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Mean in milliseconds of `count` samples summing to `sum_micros`.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn mean_millis(sum_micros: u64, count: u64) -> Option<f64> {
    (count > 0).then(|| micros_to_millis(sum_micros) / count as f64)
}
