//! The event and error counts of the last six hours that burn-rate windows are summed from
//! (requests and failed requests, or a business pair's good + bad and bad), in 10-second
//! buckets, so its size is fixed however often snapshots arrive.

use std::collections::VecDeque;
use std::time::Duration;

use perfkit_core::{MetricsSnapshot, Timestamp};

/// The longest window a burn-rate rule may look at.
pub(crate) const MAX_WINDOW: Duration = Duration::from_secs(6 * 3600);

/// Snapshots closer together than this share a bucket, which bounds the ledger at
/// `MAX_WINDOW / BUCKET_WIDTH` buckets however often snapshots arrive.
const BUCKET_WIDTH_MS: i64 = 10_000;

const CAPACITY: usize = (MAX_WINDOW.as_secs() as usize * 1000 / BUCKET_WIDTH_MS as usize) + 1;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    first: Timestamp,
    requests: f64,
    errors: f64,
}

/// Request and error counts per snapshot over the last six hours: what burn-rate windows are
/// summed from. Bounded to a fixed number of buckets.
#[derive(Debug, Default)]
pub(crate) struct ErrorLedger {
    buckets: VecDeque<Bucket>,
    last_recorded: Option<Timestamp>,
}

/// Requests and errors summed over one window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct WindowTotals {
    pub(crate) requests: f64,
    pub(crate) errors: f64,
}

impl WindowTotals {
    pub(crate) fn error_ratio(self) -> Option<f64> {
        (self.requests > 0.0).then(|| self.errors / self.requests)
    }
}

impl ErrorLedger {
    /// Adds a snapshot's requests and errors (errors = error rate x request count). A snapshot
    /// no later than the last one recorded is ignored, so evaluating twice counts once.
    pub(crate) fn record_requests(&mut self, snapshot: &MetricsSnapshot) {
        let Some(requests) = snapshot.request_count.filter(|r| r.is_finite() && *r >= 0.0) else {
            return;
        };
        let error_rate = snapshot.error_rate.filter(|r| r.is_finite()).unwrap_or(0.0);
        let errors = (error_rate.clamp(0.0, 1.0)) * requests;
        self.record(snapshot.timestamp, requests, errors);
    }

    /// Adds the events and errors of the interval that ended at `at` (a business pair's good +
    /// bad and bad). A time no later than the last one recorded is ignored, so evaluating a
    /// snapshot twice counts it once.
    pub(crate) fn record(&mut self, at: Timestamp, requests: f64, errors: f64) {
        if !(requests.is_finite() && errors.is_finite() && requests >= 0.0) {
            return;
        }
        let errors = errors.clamp(0.0, requests);
        if self.last_recorded.is_some_and(|last| at <= last) {
            return;
        }
        self.last_recorded = Some(at);
        match self.buckets.back_mut() {
            Some(last) if at.as_unix_millis() - last.first.as_unix_millis() < BUCKET_WIDTH_MS => {
                last.requests += requests;
                last.errors += errors;
            }
            _ => self.buckets.push_back(Bucket { first: at, requests, errors }),
        }
        let horizon = at - MAX_WINDOW;
        while self.buckets.front().is_some_and(|b| b.first <= horizon)
            || self.buckets.len() > CAPACITY
        {
            self.buckets.pop_front();
        }
    }

    /// Totals of the snapshots taken in `(now - window, now]`.
    pub(crate) fn totals(&self, now: Timestamp, window: Duration) -> WindowTotals {
        let start = now - window;
        let mut totals = WindowTotals::default();
        for bucket in self.buckets.iter().rev() {
            if bucket.first <= start {
                break;
            }
            if bucket.first <= now {
                totals.requests += bucket.requests;
                totals.errors += bucket.errors;
            }
        }
        totals
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(at_ms: i64, requests: f64, error_rate: f64) -> MetricsSnapshot {
        let mut s = MetricsSnapshot::empty(Timestamp::from_unix_millis(at_ms));
        s.request_count = Some(requests);
        s.error_rate = Some(error_rate);
        s
    }

    #[test]
    fn sums_windows_exactly_at_thirty_second_snapshots() {
        let mut ledger = ErrorLedger::default();
        for i in 0..20 {
            ledger.record_requests(&snapshot(i * 30_000, 100.0, if i >= 10 { 0.5 } else { 0.0 }));
        }
        let now = Timestamp::from_unix_millis(19 * 30_000);
        let last5m = ledger.totals(now, Duration::from_secs(300));
        assert_eq!(last5m, WindowTotals { requests: 1000.0, errors: 500.0 });
        let all = ledger.totals(now, Duration::from_secs(3600));
        assert_eq!(all.error_ratio(), Some(0.25));
    }

    #[test]
    fn stays_bounded_and_ignores_replays() {
        let mut ledger = ErrorLedger::default();
        for i in 0..100_000 {
            ledger.record_requests(&snapshot(i * 1_000, 1.0, 0.0));
        }
        assert!(ledger.len() <= CAPACITY);
        let before = ledger.totals(Timestamp::from_unix_millis(99_999_000), MAX_WINDOW);
        ledger.record_requests(&snapshot(99_999_000, 1.0, 1.0));
        assert_eq!(ledger.totals(Timestamp::from_unix_millis(99_999_000), MAX_WINDOW), before);
    }
}
