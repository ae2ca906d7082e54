//! Request spans for [`RequestMetricsLayer`](crate::RequestMetricsLayer), opt-in with
//! [`RequestMetricsLayer::with_tracing`](crate::RequestMetricsLayer::with_tracing).
//!
//! **The head decision comes first.** Whether a request is traced is decided before any span
//! exists, from the caller's `traceparent` (feature `otel`) and a ratio, so that an
//! unsampled request costs a coin and, with `otel`, one context handed down (its children see
//! an unsampled parent and are dropped). A sampled request gets one `tracing` span at INFO,
//! target [`REQUEST_SPAN_TARGET`], named `METHOD /matched/route/{id}`, with the HTTP
//! semantic-convention attributes (`span.rs`); with `otel` it continues the caller's trace.
//!
//! **Tail rules (feature `otel`).** An unsampled request that ends in a 5xx, or takes longer
//! than [`RequestTracing::keep_slower_than`], is written afterwards as a lone server span
//! (its real start and end, the caller as parent; method, route, status and why): nothing was
//! kept of it while it ran, so its children and its other attributes are not there. At most [`RequestTracing::max_kept_per_second`] such spans a
//! second, so an error storm cannot turn every request into a traced one.

mod random;
mod span;

#[cfg(feature = "otel")]
mod context;
#[cfg(feature = "otel")]
mod propagate;
#[cfg(feature = "otel")]
mod w3c;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[cfg(feature = "otel")]
pub(crate) use context::current_sampled_span;
#[cfg(feature = "otel")]
pub use propagate::{PropagateTraceContext, PropagateTraceContextLayer, inject_trace_context};
pub use span::{REQUEST_SPAN_TARGET, USER_AGENT_MAX_LEN};
pub(crate) use span::{RequestTrace, start_trace};

/// Kept spans a second unless told otherwise.
pub const DEFAULT_MAX_KEPT_PER_SECOND: u32 = 100;

/// Which requests get a span, and which unsampled ones are kept afterwards.
///
/// ```
/// use std::time::Duration;
/// use perfkit_axum::RequestTracing;
///
/// // One request in a hundred, a sampled caller's always; slow or failed ones kept too.
/// let tracing = RequestTracing::ratio(0.01).keep_slower_than(Duration::from_millis(500));
/// assert_eq!(tracing.sample_ratio(), 0.01);
/// assert!(tracing.is_parent_based());
/// assert_eq!(RequestTracing::ratio(7.0).sample_ratio(), 1.0); // clamped
/// ```
#[derive(Debug, Clone)]
pub struct RequestTracing {
    ratio: f64,
    /// A coin below this is heads: `ratio` of the 64-bit range.
    threshold: u64,
    parent_based: bool,
    keep_errors: bool,
    keep_slower_than: Option<Duration>,
    exemplars: bool,
    kept: Arc<KeptBudget>,
    /// The context unsampled requests without a caller hand down, made once.
    #[cfg(feature = "otel")]
    unsampled_root: opentelemetry::Context,
    /// The parent sampled requests without a caller adopt, made once.
    #[cfg(feature = "otel")]
    sampled_root: opentelemetry::Context,
}

impl RequestTracing {
    /// Traces a `ratio` of requests (clamped to 0..=1; NaN is 0), following the caller's
    /// sampled flag where a `traceparent` comes in (parent-based, the OpenTelemetry default).
    /// Unsampled requests that fail with a 5xx are kept afterwards (feature `otel`).
    #[must_use]
    pub fn ratio(ratio: f64) -> Self {
        let ratio = if ratio.is_nan() { 0.0 } else { ratio.clamp(0.0, 1.0) };
        RequestTracing {
            ratio,
            threshold: coin_threshold(ratio),
            parent_based: true,
            keep_errors: true,
            keep_slower_than: None,
            exemplars: true,
            kept: Arc::new(KeptBudget::new(DEFAULT_MAX_KEPT_PER_SECOND)),
            #[cfg(feature = "otel")]
            unsampled_root: context::unsampled_root(),
            #[cfg(feature = "otel")]
            sampled_root: context::sampled_root(),
        }
    }

    /// Every request traced.
    #[must_use]
    pub fn always() -> Self {
        RequestTracing::ratio(1.0)
    }

    /// Whether a caller's sampled flag decides (`true`, the default: `parentbased_*`
    /// samplers), or the ratio alone, applied to the caller's trace id (`traceidratio`).
    #[must_use]
    pub fn parent_based(mut self, parent_based: bool) -> Self {
        self.parent_based = parent_based;
        self
    }

    /// Whether an unsampled request that ends in a 5xx is kept (default `true`).
    #[must_use]
    pub fn keep_errors(mut self, keep: bool) -> Self {
        self.keep_errors = keep;
        self
    }

    /// Keeps an unsampled request that took longer than `threshold` (default: none).
    #[must_use]
    pub fn keep_slower_than(mut self, threshold: Duration) -> Self {
        self.keep_slower_than = Some(threshold);
        self
    }

    /// Whether a sampled or kept request becomes the exemplar of its route's duration bucket
    /// (default `true`; feature `otel`, which knows the span's ids): the OpenMetrics
    /// exposition and the route figures then name its trace.
    #[must_use]
    pub fn exemplars(mut self, on: bool) -> Self {
        self.exemplars = on;
        self
    }

    /// Whether sampled and kept requests become exemplars.
    #[must_use]
    pub fn records_exemplars(&self) -> bool {
        self.exemplars
    }

    /// Most unsampled requests kept in one second (default
    /// [`DEFAULT_MAX_KEPT_PER_SECOND`]); beyond it they stay unsampled.
    #[must_use]
    pub fn max_kept_per_second(mut self, most: u32) -> Self {
        self.kept = Arc::new(KeptBudget::new(most));
        self
    }

    /// The ratio of requests sampled at their start.
    #[must_use]
    pub fn sample_ratio(&self) -> f64 {
        self.ratio
    }

    /// Whether a caller's sampled flag decides.
    #[must_use]
    pub fn is_parent_based(&self) -> bool {
        self.parent_based
    }

    /// The slow threshold of the tail rule, if any.
    #[must_use]
    pub fn slow_threshold(&self) -> Option<Duration> {
        self.keep_slower_than
    }

    /// One coin at the ratio.
    #[cfg_attr(feature = "otel", allow(dead_code))]
    #[inline]
    fn toss(&self) -> bool {
        self.ratio >= 1.0 || random::next_u64() < self.threshold
    }

    /// Why an unsampled request that ended with `status` after `elapsed` is kept, if it is
    /// and the second's budget allows.
    #[cfg(feature = "otel")]
    fn keep_reason(
        &self,
        status: u16,
        elapsed: Duration,
        now: Instant,
    ) -> Option<perfkit_core::KeepTrace> {
        let reason = if self.keep_errors && status >= 500 {
            perfkit_core::KeepTrace::Errored
        } else if self.keep_slower_than.is_some_and(|threshold| elapsed > threshold) {
            perfkit_core::KeepTrace::Slow
        } else {
            return None;
        };
        self.kept.allow(now).then_some(reason)
    }
}

/// `ratio` of the 64-bit range, for coins drawn from it.
fn coin_threshold(ratio: f64) -> u64 {
    // 2^64 as f64 is exact; the product saturates at u64::MAX in the cast.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let threshold = (ratio * 18_446_744_073_709_551_616.0) as u64;
    threshold
}

/// How many unsampled requests were kept in the current second.
#[derive(Debug)]
struct KeptBudget {
    most: u32,
    epoch: Instant,
    second: AtomicU64,
    used: AtomicU32,
}

impl KeptBudget {
    fn new(most: u32) -> Self {
        KeptBudget {
            most,
            epoch: Instant::now(),
            second: AtomicU64::new(0),
            used: AtomicU32::new(0),
        }
    }

    /// Whether one more may be kept in the second of `now`. At a second's turn two callers
    /// may both reset the count: a few extra spans, never an unbounded number.
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    fn allow(&self, now: Instant) -> bool {
        let second = now.saturating_duration_since(self.epoch).as_secs();
        let seen = self.second.load(Ordering::Relaxed);
        if seen != second
            && self
                .second
                .compare_exchange(seen, second, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.used.store(0, Ordering::Relaxed);
        }
        self.used.fetch_add(1, Ordering::Relaxed) < self.most
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_is_clamped_and_tossed_at_its_rate() {
        assert_eq!(RequestTracing::ratio(-1.0).sample_ratio(), 0.0);
        assert_eq!(RequestTracing::ratio(f64::NAN).sample_ratio(), 0.0);
        assert!((0..1000).all(|_| RequestTracing::always().toss()));
        assert!((0..1000).all(|_| !RequestTracing::ratio(0.0).toss()));
        let tenth = RequestTracing::ratio(0.1);
        let heads = (0..100_000).filter(|_| tenth.toss()).count();
        assert!((9_000..11_000).contains(&heads), "{heads} of 100000 at 0.1");
    }

    #[test]
    fn the_kept_budget_refills_each_second() {
        let budget = KeptBudget::new(2);
        let start = budget.epoch;
        assert!(budget.allow(start));
        assert!(budget.allow(start + Duration::from_millis(500)));
        assert!(!budget.allow(start + Duration::from_millis(900)));
        assert!(budget.allow(start + Duration::from_millis(1001)));
    }
}
