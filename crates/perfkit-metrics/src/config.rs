//! The recorder's settings: caps on label sets and slow-operation thresholds. Interval
//! length is not one of them: whoever closes intervals sets it by when it closes them.

use std::time::Duration;

use crate::{BusinessConfig, MetricsError};

/// Settings of a [`Recorder`](crate::Recorder). Every limit keeps memory bounded whatever the
/// traffic: names beyond a cap are folded into one overflow series instead of being stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RecorderConfig {
    /// Routes tracked one by one; requests on further routes go to the overflow series.
    pub max_routes: usize,
    /// Distinct error kinds counted by name; further kinds are counted as `other`.
    pub max_error_kinds: usize,
    /// Distinct DB statements kept one by one; calls of further statements go to one
    /// overflow series.
    pub max_statements: usize,
    /// Requests at least this slow are logged as warnings (rate-limited) and counted.
    pub slow_request_threshold: Duration,
    /// DB queries at least this slow are logged as warnings (rate-limited) and counted.
    pub slow_query_threshold: Duration,
    /// At most one slow-operation warning per this period; the rest are counted and reported
    /// with the next warning.
    pub slow_log_interval: Duration,
    /// Caps and histogram buckets of the series emitted through the `metrics` facade.
    pub business: BusinessConfig,
    /// What becomes of perfkit's own requests (see [`Recorder::record_own_request`](crate::Recorder::record_own_request)).
    pub own_traffic: OwnTraffic,
}

/// What the recorder does with requests to perfkit itself (its API, dashboard, assets,
/// scrapes and live stream, marked by perfkit's router): they are never the host's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OwnTraffic {
    /// Counted in figures of their own (`own` in the application figures,
    /// `perfkit_own_requests_total` in the exposition).
    #[default]
    Apart,
    /// Not recorded at all.
    Ignored,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            max_routes: 256,
            max_error_kinds: 64,
            max_statements: 128,
            slow_request_threshold: Duration::from_secs(1),
            slow_query_threshold: Duration::from_millis(100),
            slow_log_interval: Duration::from_secs(1),
            business: BusinessConfig::default(),
            own_traffic: OwnTraffic::Apart,
        }
    }
}

/// Largest cap accepted for a label set: beyond this a cap no longer protects memory.
const MAX_CAP: usize = 100_000;

impl RecorderConfig {
    /// Checks every setting; the error lists every problem found.
    ///
    /// # Errors
    /// [`MetricsError::InvalidConfig`] naming each setting out of range.
    pub fn validate(&self) -> Result<(), MetricsError> {
        let mut problems = Vec::new();
        for (name, cap) in [
            ("maxRoutes", self.max_routes),
            ("maxErrorKinds", self.max_error_kinds),
            ("maxStatements", self.max_statements),
        ] {
            if !(1..=MAX_CAP).contains(&cap) {
                problems.push(format!("{name} must be in 1..={MAX_CAP}, got {cap}"));
            }
        }
        if self.slow_request_threshold.is_zero() || self.slow_query_threshold.is_zero() {
            problems.push("slow thresholds must be greater than zero".to_owned());
        }
        problems.extend(self.business.problems());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(MetricsError::InvalidConfig(problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        RecorderConfig::default().validate().unwrap();
    }

    #[test]
    fn lists_every_problem() {
        let config = RecorderConfig {
            max_routes: 0,
            max_error_kinds: 1_000_000,
            slow_query_threshold: Duration::ZERO,
            ..RecorderConfig::default()
        };
        let message = config.validate().unwrap_err().to_string();
        assert!(message.contains("maxRoutes"), "{message}");
        assert!(message.contains("maxErrorKinds"), "{message}");
        assert!(message.contains("slow thresholds"), "{message}");
    }
}
