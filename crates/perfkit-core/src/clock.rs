//! Where time comes from. Components take a `Clock` instead of reading the system time, so their
//! tests move time by hand with a `ManualClock` instead of sleeping.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use crate::Timestamp;

/// A source of the current time.
///
/// Components that reason about time (rolling windows, alert durations, cooldowns, schedules)
/// take a `Clock` instead of calling [`SystemTime::now`], so their tests can move time by hand
/// with a [`ManualClock`] instead of sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_system_time(SystemTime::now())
    }
}

/// A clock that only moves when told to; for tests.
///
/// It is shared by reference or `Arc`, and safe to advance from one thread while others read.
#[derive(Debug, Default)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `start`.
    #[must_use]
    pub fn new(start: Timestamp) -> Self {
        ManualClock { millis: AtomicI64::new(start.as_unix_millis()) }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let step = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        // fetch_update instead of fetch_add so a huge step saturates instead of wrapping.
        let _ = self.millis.fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
            Some(now.saturating_add(step))
        });
    }

    /// Sets the clock to `to`, forwards or backwards.
    pub fn set(&self, to: Timestamp) {
        self.millis.store(to.as_unix_millis(), Ordering::Release);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.millis.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_unix_millis(1_000));
        assert_eq!(clock.now().as_unix_millis(), 1_000);
        clock.advance(Duration::from_millis(250));
        assert_eq!(clock.now().as_unix_millis(), 1_250);
        clock.set(Timestamp::from_unix_millis(10));
        assert_eq!(clock.now().as_unix_millis(), 10);
        clock.advance(Duration::MAX);
        assert_eq!(clock.now().as_unix_millis(), i64::MAX);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now().as_unix_millis() > 1_704_067_200_000);
    }
}
