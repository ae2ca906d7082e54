//! How the orchestrator runs: [`ServiceConfig`], its schedules, history and targets.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use perfkit_metrics::SlowOperationsConfig;

use crate::PerfkitError;
use crate::analysis::ScoreTargets;

/// How a [`PerformanceService`](crate::PerformanceService) runs: schedules, history,
/// analysis targets. The defaults are the guide's.
///
/// Durations are humantime text (`"30s"`, `"5m"`) through [`perfkit_core::duration`], which
/// also reads the guide's whole milliseconds (`30000`). It reads from a map (a JSON object, a
/// TOML table) only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// How often a snapshot is collected (seed: 30 s).
    #[serde(with = "perfkit_core::duration")]
    pub collect_interval: Duration,
    /// How often a report is built (seed: 5 min).
    #[serde(with = "perfkit_core::duration")]
    pub report_interval: Duration,
    /// How often the optimizer checks, when auto-optimization is on (seed: 15 min).
    #[serde(with = "perfkit_core::duration")]
    pub optimize_interval: Duration,
    /// Snapshots kept (seed: 1000, about 8 h at 30 s).
    pub history_capacity: usize,
    /// Snapshots a trend is fitted on (default 20: the last 10 minutes at 30 s).
    pub trend_window: usize,
    /// Targets the score is computed against.
    pub targets: ScoreTargets,
    /// Keep the history in the cache too, so a restart keeps it and other instances can
    /// read it. Off by default: the in-memory ring is enough for one process.
    pub persist_history: bool,
    /// This instance's id: it announces itself under it to the instances sharing its cache,
    /// holds locks under it, and persists its history under it. 1 to 64 letters, digits or
    /// `- _ . :`. Default: the host name and 8 random hex digits, made once per process (set
    /// one to keep a persisted history across restarts).
    pub instance: String,
    /// How long a lock this instance holds (the optimizer's, the cache clear's) lives unless
    /// renewed; it is renewed every third of it, so a crashed holder frees it within this.
    #[serde(with = "perfkit_core::duration")]
    pub lock_ttl: Duration,
    /// How long a manual optimizer run or a cache clear waits for another instance's turn
    /// to end before it is refused as busy.
    #[serde(with = "perfkit_core::duration")]
    pub lock_wait: Duration,
    /// Longest wait for the cache's statistics during a collection.
    #[serde(with = "perfkit_core::duration")]
    pub cache_stats_timeout: Duration,
    /// How often the host's health indicators are checked (default 15 s).
    #[serde(with = "perfkit_core::duration")]
    pub health_check_interval: Duration,
    /// How often a memory profile line is logged (process RSS, cache bytes, history size,
    /// recorder tables); `"0s"` turns it off (default 5 min).
    #[serde(with = "perfkit_core::duration")]
    pub memory_profile_interval: Duration,
    /// The slow-operation helper: threshold, log interval, names tracked.
    pub slow_operations: SlowOperationsConfig,
}

perfkit_core::maps_only!(ServiceConfig);

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            collect_interval: Duration::from_secs(30),
            report_interval: Duration::from_secs(5 * 60),
            optimize_interval: Duration::from_secs(15 * 60),
            history_capacity: 1000,
            trend_window: 20,
            targets: ScoreTargets::default(),
            persist_history: false,
            instance: super::instance_id::generated(),
            lock_ttl: Duration::from_secs(30),
            lock_wait: Duration::from_secs(10),
            cache_stats_timeout: Duration::from_secs(2),
            health_check_interval: Duration::from_secs(15),
            memory_profile_interval: Duration::from_secs(5 * 60),
            slow_operations: SlowOperationsConfig::default(),
        }
    }
}

/// Largest history accepted: a bound on memory, whatever the configuration says.
const MAX_HISTORY: usize = 100_000;

impl ServiceConfig {
    /// Checks every setting; the error lists each problem.
    ///
    /// # Errors
    /// [`PerfkitError::InvalidConfig`] naming each setting out of range.
    pub fn validate(&self) -> Result<(), PerfkitError> {
        let mut problems = Vec::new();
        for (name, interval) in [
            ("collectInterval", self.collect_interval),
            ("reportInterval", self.report_interval),
            ("optimizeInterval", self.optimize_interval),
            ("healthCheckInterval", self.health_check_interval),
        ] {
            if interval < Duration::from_millis(100) {
                problems.push(format!("{name} must be at least 100 ms, got {interval:?}"));
            }
        }
        if !(1..=MAX_HISTORY).contains(&self.history_capacity) {
            problems.push(format!(
                "historyCapacity must be in 1..={MAX_HISTORY}, got {}",
                self.history_capacity
            ));
        }
        if self.trend_window < crate::analysis::MIN_TREND_POINTS {
            problems.push(format!(
                "trendWindow must be at least {}, got {}",
                crate::analysis::MIN_TREND_POINTS,
                self.trend_window
            ));
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
        if self.instance.is_empty() || self.instance.len() > 64 || !self.instance.chars().all(plain)
        {
            problems.push(format!(
                "instance must be 1 to 64 letters, digits or - _ . :, got {:?}",
                self.instance.chars().take(64).collect::<String>()
            ));
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&self.lock_ttl) {
            problems.push(format!("lockTtl must be in 100ms..=1h, got {:?}", self.lock_ttl));
        }
        if self.lock_wait > Duration::from_secs(300) {
            problems.push(format!("lockWait must be at most 5m, got {:?}", self.lock_wait));
        }
        let profile = self.memory_profile_interval;
        if !profile.is_zero() && profile < Duration::from_secs(1) {
            problems.push(format!(
                "memoryProfileInterval must be 0s (off) or at least 1s, got {profile:?}"
            ));
        }
        problems.extend(self.slow_operations.problems());
        if problems.is_empty() { Ok(()) } else { Err(PerfkitError::InvalidConfig(problems)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_defaults_are_valid() {
        let config = ServiceConfig::default();
        config.validate().unwrap();
        assert_eq!(config.collect_interval, Duration::from_secs(30));
        assert_eq!(config.history_capacity, 1000);
    }

    #[test]
    fn every_problem_is_listed() {
        let config = ServiceConfig {
            collect_interval: Duration::ZERO,
            history_capacity: 0,
            trend_window: 1,
            instance: "api 1".to_owned(),
            lock_ttl: Duration::ZERO,
            lock_wait: Duration::from_secs(301),
            ..ServiceConfig::default()
        };
        let PerfkitError::InvalidConfig(problems) = config.validate().unwrap_err() else {
            panic!("wrong error");
        };
        assert_eq!(problems.len(), 6, "{problems:?}");
    }

    #[test]
    fn reads_camel_case_json_with_millisecond_durations() {
        let config: ServiceConfig =
            serde_json::from_str(r#"{"collectInterval": 1000, "persistHistory": true}"#).unwrap();
        assert_eq!(config.collect_interval, Duration::from_secs(1));
        assert!(config.persist_history);
        assert_eq!(config.report_interval, Duration::from_secs(300));
        assert!(serde_json::from_str::<ServiceConfig>(r#"{"colectInterval": 1}"#).is_err());
    }

    #[test]
    fn reads_and_writes_humantime_durations() {
        let config: ServiceConfig =
            serde_json::from_str(r#"{"collectInterval": "10s", "reportInterval": "1h 30m"}"#)
                .unwrap();
        assert_eq!(config.collect_interval, Duration::from_secs(10));
        assert_eq!(config.report_interval, Duration::from_secs(5400));
        let json = serde_json::to_value(ServiceConfig::default()).unwrap();
        assert_eq!(json["collectInterval"], "30s");
        assert_eq!(json["optimizeInterval"], "15m");
        assert_eq!(json["cacheStatsTimeout"], "2s");
        assert_eq!(json["lockTtl"], "30s");
        let error = serde_json::from_str::<ServiceConfig>(r#"{"collectInterval": "often"}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("expected a duration such as"), "{error}");
    }

    #[test]
    fn an_array_is_not_a_config() {
        let error = serde_json::from_str::<ServiceConfig>("[]").unwrap_err().to_string();
        assert!(error.contains("invalid type: sequence"), "{error}");
    }
}
