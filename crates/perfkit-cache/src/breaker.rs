//! A circuit breaker: stop paying a dead backend's timeout on every call.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use perfkit_core::{Clock, Timestamp};
use serde::{Deserialize, Serialize};

/// When the circuit breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakerConfig {
    /// Consecutive failures (connection errors, timeouts) that open the breaker.
    pub failure_threshold: u32,
    /// How long the breaker stays open before one probe call is let through.
    #[serde(with = "perfkit_core::duration")]
    pub reset_timeout: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig { failure_threshold: 5, reset_timeout: Duration::from_secs(5) }
    }
}

/// The state of a [`CircuitBreaker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are refused without being attempted.
    Open,
    /// One probe call is in flight; its outcome closes or reopens the breaker.
    HalfOpen,
}

/// A circuit breaker: after `failure_threshold` consecutive failures it opens and refuses
/// calls, so callers stop paying a timeout each; after `reset_timeout` it half-opens and lets
/// one probe through, which closes it on success or reopens it on failure.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use perfkit_cache::{BreakerConfig, BreakerState, CircuitBreaker};
/// use perfkit_core::{ManualClock, Timestamp};
///
/// let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
/// let config = BreakerConfig { failure_threshold: 2, reset_timeout: Duration::from_secs(5) };
/// let breaker = CircuitBreaker::new(config, clock.clone());
/// breaker.record_failure();
/// breaker.record_failure();
/// assert_eq!(breaker.state(), BreakerState::Open);
/// assert!(!breaker.allow());
/// clock.advance(Duration::from_secs(5));
/// assert!(breaker.allow()); // the probe
/// breaker.record_success();
/// assert_eq!(breaker.state(), BreakerState::Closed);
/// ```
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    /// When the breaker last opened, or when the current probe started.
    since: Timestamp,
}

impl CircuitBreaker {
    /// A closed breaker.
    #[must_use]
    pub fn new(config: BreakerConfig, clock: Arc<dyn Clock>) -> Self {
        let since = clock.now();
        CircuitBreaker {
            config,
            clock,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                since,
            }),
        }
    }

    /// Whether a call may be attempted now. In the open state, the first call after the reset
    /// timeout becomes the probe and the breaker half-opens.
    pub fn allow(&self) -> bool {
        let mut inner = self.lock();
        match inner.state {
            BreakerState::Closed => true,
            // A probe whose caller was cancelled never reports back; after another reset
            // timeout a new probe is let through so the breaker cannot stay half-open forever.
            BreakerState::Open | BreakerState::HalfOpen => {
                let now = self.clock.now();
                if now.duration_since(inner.since) >= self.config.reset_timeout {
                    inner.state = BreakerState::HalfOpen;
                    inner.since = now;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Records a call that reached the backend and got an answer.
    pub fn record_success(&self) {
        let mut inner = self.lock();
        inner.state = BreakerState::Closed;
        inner.consecutive_failures = 0;
    }

    /// Records a call that failed to reach the backend (connection error or timeout).
    pub fn record_failure(&self) {
        let mut inner = self.lock();
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let reopen = inner.state == BreakerState::HalfOpen
            || inner.consecutive_failures >= self.config.failure_threshold.max(1);
        if reopen && inner.state != BreakerState::Open {
            inner.state = BreakerState::Open;
            inner.since = self.clock.now();
        }
    }

    /// Opens the breaker now, whatever the count: the caller knows the backend is down (it
    /// could not connect at start-up). A probe is let through after `reset_timeout`.
    pub fn trip(&self) {
        let mut inner = self.lock();
        inner.state = BreakerState::Open;
        inner.consecutive_failures = inner.consecutive_failures.max(self.config.failure_threshold);
        inner.since = self.clock.now();
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> BreakerState {
        self.lock().state
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state stays consistent under a panic (plain field writes), so poisoning is moot.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use perfkit_core::ManualClock;

    use super::*;

    fn breaker(threshold: u32) -> (Arc<ManualClock>, CircuitBreaker) {
        let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
        let config =
            BreakerConfig { failure_threshold: threshold, reset_timeout: Duration::from_secs(10) };
        (clock.clone(), CircuitBreaker::new(config, clock))
    }

    #[test]
    fn opens_only_after_consecutive_failures() {
        let (_, breaker) = breaker(3);
        breaker.record_failure();
        breaker.record_failure();
        breaker.record_success();
        breaker.record_failure();
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Closed);
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());
    }

    #[test]
    fn half_opens_after_the_reset_timeout_and_admits_one_probe() {
        let (clock, breaker) = breaker(1);
        breaker.record_failure();
        clock.advance(Duration::from_secs(9));
        assert!(!breaker.allow());
        clock.advance(Duration::from_secs(1));
        assert!(breaker.allow());
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(!breaker.allow(), "only one probe at a time");
    }

    #[test]
    fn a_failed_probe_reopens_for_a_full_timeout() {
        let (clock, breaker) = breaker(1);
        breaker.record_failure();
        clock.advance(Duration::from_secs(10));
        assert!(breaker.allow());
        clock.advance(Duration::from_secs(3));
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        clock.advance(Duration::from_secs(9));
        assert!(!breaker.allow());
        clock.advance(Duration::from_secs(1));
        assert!(breaker.allow());
    }

    #[test]
    fn a_lost_probe_is_replaced_after_another_timeout() {
        let (clock, breaker) = breaker(1);
        breaker.record_failure();
        clock.advance(Duration::from_secs(10));
        assert!(breaker.allow());
        clock.advance(Duration::from_secs(10));
        assert!(breaker.allow());
        breaker.record_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.allow());
    }

    #[test]
    fn tripping_opens_at_once_and_probes_after_the_reset_timeout() {
        let (clock, breaker) = breaker(5);
        breaker.trip();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());
        clock.advance(Duration::from_secs(10));
        assert!(breaker.allow());
        breaker.record_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn config_writes_humantime_and_still_reads_milliseconds() {
        let json = serde_json::to_string(&BreakerConfig::default()).unwrap();
        assert_eq!(json, r#"{"failureThreshold":5,"resetTimeout":"5s"}"#);
        let read: BreakerConfig =
            serde_json::from_str(r#"{"failureThreshold":2,"resetTimeout":1500}"#).unwrap();
        assert_eq!(read.reset_timeout, Duration::from_millis(1500));
    }
}
