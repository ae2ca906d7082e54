//! Validation of an optimizer config: every field and every relation between fields, with all
//! problems listed at once. The hard limits on workers, history and stabilization live here.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::config::{ConfigProblem, OptimizerConfig};

/// The most workers a config may allow: the pool is bounded like everything else.
pub(crate) const MAX_WORKERS_LIMIT: u32 = 1024;
/// The most connections a database pool size may be set to.
pub(crate) const MAX_POOL_CONNECTIONS: u32 = 10_000;
/// The most runs a history may keep.
pub(crate) const MAX_HISTORY_CAPACITY: usize = 100_000;
/// The longest stabilization window, in checks; also what the check history keeps.
pub(crate) const MAX_STABILIZATION_CHECKS: u32 = 100;
/// The longest duration any setting may have.
const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
/// The shortest idle timeout, snapshot age or flip-flop window.
const SECOND: Duration = Duration::from_secs(1);

impl OptimizerConfig {
    /// Checks every field and every relation between fields, and lists every problem found.
    ///
    /// ```
    /// use perfkit_optimizer::OptimizerConfig;
    ///
    /// let mut config = OptimizerConfig::default();
    /// assert!(config.validate().is_ok());
    /// config.queue_scaling.min_workers = 8;
    /// config.queue_scaling.max_workers = 2;
    /// config.cache_optimization.hit_rate_threshold = 1.5;
    /// let problems = config.validate().unwrap_err();
    /// assert_eq!(problems.len(), 2);
    /// ```
    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut check = Checker::default();
        let cache = &self.cache_optimization;
        check.ratio("cacheOptimization.hitRateThreshold", cache.hit_rate_threshold, 0.0..=1.0);
        check.ratio("cacheOptimization.memoryThreshold", cache.memory_threshold, 0.01..=1.0);
        if cache.evict_prefixes.len() > 64 {
            check.fail("cacheOptimization.evictPrefixes", "must list at most 64 prefixes");
        }
        if cache.evict_prefixes.iter().any(|p| p.trim().is_empty()) {
            check.fail(
                "cacheOptimization.evictPrefixes",
                "must not contain an empty prefix (it would evict every key)",
            );
        }

        let connections = &self.connection_optimization;
        check.count(
            "connectionOptimization.maxConnections",
            connections.max_connections,
            1..=10_000_000,
        );
        check.duration(
            "connectionOptimization.idleTimeout",
            connections.idle_timeout,
            SECOND..=WEEK,
        );
        check.ratio(
            "connectionOptimization.idleRatioThreshold",
            connections.idle_ratio_threshold,
            0.01..=1.0,
        );

        check.ratio(
            "memoryOptimization.gcThreshold",
            self.memory_optimization.gc_threshold,
            0.01..=1.0,
        );
        check.ratio(
            "queryOptimization.slowQueryMs",
            self.query_optimization.slow_query_ms,
            1.0..=3_600_000.0,
        );

        let queue = &self.queue_scaling;
        check.ratio("queueScaling.targetPerWorker", queue.target_per_worker, 0.001..=1_000_000.0);
        check.ratio("queueScaling.tolerance", queue.tolerance, 0.0..=0.9);
        let workers = 1..=MAX_WORKERS_LIMIT;
        check.count("queueScaling.minWorkers", u64::from(queue.min_workers), widen(&workers));
        check.count("queueScaling.maxWorkers", u64::from(queue.max_workers), widen(&workers));
        if queue.min_workers > queue.max_workers {
            check.fail(
                "queueScaling.minWorkers",
                format!(
                    "must not exceed maxWorkers ({} > {})",
                    queue.min_workers, queue.max_workers
                ),
            );
        }

        let pool = &self.database_pool;
        check.ratio("databasePool.targetUtilization", pool.target_utilization, 0.05..=1.0);
        check.ratio("databasePool.maxAcquireWaitMs", pool.max_acquire_wait_ms, 0.1..=600_000.0);
        check.ratio("databasePool.maxReplicaLagMs", pool.max_replica_lag_ms, 100.0..=86_400_000.0);
        let connections = 1..=MAX_POOL_CONNECTIONS;
        check.count(
            "databasePool.minConnections",
            u64::from(pool.min_connections),
            widen(&connections),
        );
        check.count(
            "databasePool.maxConnections",
            u64::from(pool.max_connections),
            widen(&connections),
        );
        if pool.min_connections > pool.max_connections {
            check.fail(
                "databasePool.minConnections",
                format!(
                    "must not exceed maxConnections ({} > {})",
                    pool.min_connections, pool.max_connections
                ),
            );
        }

        let cooldowns = &self.cooldowns;
        for (field, value) in [
            ("cooldowns.optimizeCache", cooldowns.optimize_cache),
            ("cooldowns.closeIdleConnections", cooldowns.close_idle_connections),
            ("cooldowns.releaseMemory", cooldowns.release_memory),
            ("cooldowns.reportSlowQueries", cooldowns.report_slow_queries),
            ("cooldowns.scaleWorkers", cooldowns.scale_workers),
            ("cooldowns.resizeDatabasePool", cooldowns.resize_database_pool),
            ("cooldowns.rotateOutLaggingReplicas", cooldowns.rotate_out_lagging_replicas),
        ] {
            check.duration(field, value, Duration::ZERO..=WEEK);
        }

        let guard = &self.guardrails;
        check.count(
            "guardrails.stabilizationChecks",
            u64::from(guard.stabilization_checks),
            1..=u64::from(MAX_STABILIZATION_CHECKS),
        );
        check.duration("guardrails.maxSnapshotAge", guard.max_snapshot_age, SECOND..=WEEK);
        check.ratio("guardrails.worseningMargin", guard.worsening_margin, 0.0..=10.0);
        check.count("guardrails.maxFlipFlops", u64::from(guard.max_flip_flops), 2..=1000);
        check.duration("guardrails.flipFlopWindow", guard.flip_flop_window, SECOND..=WEEK);
        check.count(
            "guardrails.historyCapacity",
            guard.history_capacity as u64,
            1..=MAX_HISTORY_CAPACITY as u64,
        );

        if check.problems.is_empty() { Ok(()) } else { Err(check.problems) }
    }
}

fn widen(range: &RangeInclusive<u32>) -> RangeInclusive<u64> {
    u64::from(*range.start())..=u64::from(*range.end())
}

#[derive(Default)]
struct Checker {
    problems: Vec<ConfigProblem>,
}

impl Checker {
    fn fail(&mut self, field: &str, problem: impl Into<String>) {
        self.problems.push(ConfigProblem { field: field.to_owned(), problem: problem.into() });
    }

    fn ratio(&mut self, field: &str, value: f64, range: RangeInclusive<f64>) {
        // `contains` is false for NaN, so a NaN is reported like any other out-of-range value.
        if !range.contains(&value) {
            self.fail(
                field,
                format!("must be between {} and {}, got {value}", range.start(), range.end()),
            );
        }
    }

    fn duration(&mut self, field: &str, value: Duration, range: RangeInclusive<Duration>) {
        if !range.contains(&value) {
            let show = perfkit_core::duration::display;
            self.fail(
                field,
                format!(
                    "must be between {} and {}, got {}",
                    show(*range.start()),
                    show(*range.end()),
                    show(value)
                ),
            );
        }
    }

    fn count(&mut self, field: &str, value: u64, range: RangeInclusive<u64>) {
        if !range.contains(&value) {
            self.fail(
                field,
                format!("must be between {} and {}, got {value}", range.start(), range.end()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Breakage = fn(&mut OptimizerConfig);

    #[test]
    fn default_config_is_valid() {
        assert_eq!(OptimizerConfig::default().validate(), Ok(()));
    }

    #[test]
    fn every_bad_config_is_refused_with_its_field_named() {
        let table: &[(&str, Breakage)] = &[
            ("cacheOptimization.hitRateThreshold", |c| {
                c.cache_optimization.hit_rate_threshold = 1.2;
            }),
            ("cacheOptimization.hitRateThreshold", |c| {
                c.cache_optimization.hit_rate_threshold = f64::NAN;
            }),
            ("cacheOptimization.memoryThreshold", |c| c.cache_optimization.memory_threshold = 0.0),
            ("cacheOptimization.evictPrefixes", |c| {
                c.cache_optimization.evict_prefixes = vec![" ".into()];
            }),
            ("connectionOptimization.maxConnections", |c| {
                c.connection_optimization.max_connections = 0;
            }),
            ("connectionOptimization.idleTimeout", |c| {
                c.connection_optimization.idle_timeout = Duration::from_millis(10);
            }),
            ("connectionOptimization.idleRatioThreshold", |c| {
                c.connection_optimization.idle_ratio_threshold = -0.5;
            }),
            ("memoryOptimization.gcThreshold", |c| c.memory_optimization.gc_threshold = 2.0),
            ("queryOptimization.slowQueryMs", |c| c.query_optimization.slow_query_ms = 0.0),
            ("queryOptimization.slowQueryMs", |c| {
                c.query_optimization.slow_query_ms = f64::INFINITY;
            }),
            ("queueScaling.targetPerWorker", |c| c.queue_scaling.target_per_worker = 0.0),
            ("queueScaling.tolerance", |c| c.queue_scaling.tolerance = 1.0),
            ("queueScaling.minWorkers", |c| c.queue_scaling.min_workers = 0),
            ("queueScaling.maxWorkers", |c| c.queue_scaling.max_workers = 5000),
            ("queueScaling.minWorkers", |c| {
                c.queue_scaling.min_workers = 9;
                c.queue_scaling.max_workers = 3;
            }),
            ("cooldowns.scaleWorkers", |c| c.cooldowns.scale_workers = Duration::MAX),
            ("guardrails.stabilizationChecks", |c| c.guardrails.stabilization_checks = 0),
            ("guardrails.stabilizationChecks", |c| c.guardrails.stabilization_checks = 1000),
            ("guardrails.maxSnapshotAge", |c| c.guardrails.max_snapshot_age = Duration::ZERO),
            ("guardrails.worseningMargin", |c| c.guardrails.worsening_margin = -1.0),
            ("guardrails.maxFlipFlops", |c| c.guardrails.max_flip_flops = 1),
            ("guardrails.flipFlopWindow", |c| c.guardrails.flip_flop_window = Duration::ZERO),
            ("guardrails.historyCapacity", |c| c.guardrails.history_capacity = 0),
            ("guardrails.historyCapacity", |c| c.guardrails.history_capacity = 1_000_000),
        ];
        for (field, breakage) in table {
            let mut config = OptimizerConfig::default();
            breakage(&mut config);
            let problems = config.validate().unwrap_err();
            assert_eq!(problems.len(), 1, "{field}: {problems:?}");
            assert_eq!(problems[0].field, *field);
        }
    }

    #[test]
    fn lists_every_problem_at_once() {
        let mut config = OptimizerConfig::default();
        config.cache_optimization.hit_rate_threshold = 3.0;
        config.memory_optimization.gc_threshold = -1.0;
        config.queue_scaling.min_workers = 10;
        config.queue_scaling.max_workers = 5;
        config.guardrails.stabilization_checks = 0;
        let fields: Vec<_> = config.validate().unwrap_err().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "cacheOptimization.hitRateThreshold",
                "memoryOptimization.gcThreshold",
                "queueScaling.minWorkers",
                "guardrails.stabilizationChecks",
            ]
        );
    }

    #[test]
    fn reads_the_seed_camel_case_shape_and_refuses_unknown_fields() {
        let json = r#"{
            "mode": { "auto": false, "dryRun": true },
            "cacheOptimization": { "hitRateThreshold": 0.6, "memoryThreshold": 0.85 },
            "connectionOptimization": { "maxConnections": 200, "idleTimeout": 60000 },
            "memoryOptimization": { "gcThreshold": 0.9 },
            "queryOptimization": { "slowQueryMs": 250 },
            "queueScaling": { "targetPerWorker": 5, "minWorkers": 2, "maxWorkers": 8 },
            "cooldowns": { "scaleWorkers": 60000 }
        }"#;
        let config: OptimizerConfig = serde_json::from_str(json).unwrap();
        assert!(config.mode.dry_run && !config.mode.auto);
        assert_eq!(config.connection_optimization.max_connections, 200);
        assert_eq!(config.queue_scaling.max_workers, 8);
        assert_eq!(config.cooldowns.scale_workers, Duration::from_secs(60));
        assert_eq!(
            config.cooldowns.release_memory,
            Duration::from_secs(600),
            "missing fields take defaults"
        );
        assert_eq!(config.connection_optimization.idle_timeout, Duration::from_secs(60));
        assert_eq!(config.validate(), Ok(()));

        let back = serde_json::to_value(&config).unwrap();
        assert_eq!(back["queueScaling"]["minWorkers"], 2);
        assert_eq!(back["mode"]["dryRun"], true);

        let typo = r#"{ "queueScaling": { "maxWorker": 8 } }"#;
        assert!(serde_json::from_str::<OptimizerConfig>(typo).is_err());
    }

    #[test]
    fn durations_are_written_as_text_and_read_as_text_or_milliseconds() {
        let json = serde_json::to_value(OptimizerConfig::default()).unwrap();
        assert_eq!(json["connectionOptimization"]["idleTimeout"], "5m");
        assert_eq!(json["cooldowns"]["scaleWorkers"], "3m");
        assert_eq!(json["cooldowns"]["reportSlowQueries"], "15m");
        assert_eq!(json["guardrails"]["maxSnapshotAge"], "5m");
        assert_eq!(json["guardrails"]["flipFlopWindow"], "1h");
        assert_eq!(
            serde_json::from_value::<OptimizerConfig>(json).unwrap(),
            OptimizerConfig::default()
        );

        let mixed = r#"{ "cooldowns": { "scaleWorkers": "90s", "releaseMemory": 120000 },
                         "guardrails": { "flipFlopWindow": "1h 30m" } }"#;
        let config: OptimizerConfig = serde_json::from_str(mixed).unwrap();
        assert_eq!(config.cooldowns.scale_workers, Duration::from_secs(90));
        assert_eq!(config.cooldowns.release_memory, Duration::from_secs(120));
        assert_eq!(config.guardrails.flip_flop_window, Duration::from_secs(5400));

        let bad = r#"{ "cooldowns": { "scaleWorkers": "soon" } }"#;
        let error = serde_json::from_str::<OptimizerConfig>(bad).unwrap_err().to_string();
        assert!(error.contains(r#"expected a duration such as "30s" or integer milliseconds"#));
    }

    #[test]
    fn out_of_range_durations_are_named_in_text() {
        let mut config = OptimizerConfig::default();
        config.guardrails.max_snapshot_age = Duration::from_millis(10);
        let problems = config.validate().unwrap_err();
        assert_eq!(problems[0].problem, "must be between 1s and 7days, got 10ms");
    }

    /// serde's derive reads a struct from a sequence too, and with `#[serde(default)]` an empty
    /// one is the default config: `PUT []` would reset everything.
    #[test]
    fn only_objects_are_read_never_sequences() {
        for json in ["[]", "[{}]", r#"{"mode": []}"#, r#"{"cooldowns": []}"#, "null", "3"] {
            let error = serde_json::from_str::<OptimizerConfig>(json).unwrap_err().to_string();
            assert!(error.contains("invalid type"), "{json}: {error}");
        }
        let positional = r#"{"queueScaling": [true, 10, 1, 16, 0.1]}"#;
        assert!(serde_json::from_str::<OptimizerConfig>(positional).is_err());
    }
}
