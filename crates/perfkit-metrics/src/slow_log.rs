//! Rate-limited warnings for slow operations: a burst of slow requests must not turn into a
//! burst of log lines, which would make the slowness worse.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use perfkit_core::Clock;

#[derive(Debug)]
pub(crate) struct SlowLog {
    min_gap_millis: i64,
    next_allowed_millis: AtomicI64,
    suppressed: AtomicU64,
}

impl SlowLog {
    pub(crate) fn new(min_gap: Duration) -> Self {
        SlowLog {
            min_gap_millis: i64::try_from(min_gap.as_millis()).unwrap_or(i64::MAX),
            next_allowed_millis: AtomicI64::new(i64::MIN),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Returns `Some(suppressed since the last warning)` when a warning may be logged now;
    /// otherwise counts this one as suppressed.
    pub(crate) fn permit(&self, clock: &dyn Clock) -> Option<u64> {
        let now = clock.now().as_unix_millis();
        let next = self.next_allowed_millis.load(Ordering::Relaxed);
        if now >= next
            && self
                .next_allowed_millis
                .compare_exchange(
                    next,
                    now.saturating_add(self.min_gap_millis),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfkit_core::{ManualClock, Timestamp};

    #[test]
    fn permits_one_warning_per_gap_and_counts_the_rest() {
        let clock = ManualClock::new(Timestamp::from_unix_millis(10_000));
        let log = SlowLog::new(Duration::from_secs(1));
        assert_eq!(log.permit(&clock), Some(0));
        assert_eq!(log.permit(&clock), None);
        assert_eq!(log.permit(&clock), None);
        clock.advance(Duration::from_millis(999));
        assert_eq!(log.permit(&clock), None);
        clock.advance(Duration::from_millis(1));
        assert_eq!(log.permit(&clock), Some(3));
    }
}
