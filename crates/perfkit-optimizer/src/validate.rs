use std::ops::RangeInclusive;

use crate::config::{ConfigProblem, OptimizerConfig};

/// The most workers a config may allow: the pool is bounded like everything else.
pub(crate) const MAX_WORKERS_LIMIT: u32 = 1024;
/// The most runs a history may keep.
pub(crate) const MAX_HISTORY_CAPACITY: usize = 100_000;
/// The longest stabilization window, in checks; also what the check history keeps.
pub(crate) const MAX_STABILIZATION_CHECKS: u32 = 100;
const WEEK_MS: u64 = 7 * 24 * 3_600_000;

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
        check.count("connectionOptimization.idleTimeout", connections.idle_timeout, 1000..=WEEK_MS);
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

        let cooldowns = &self.cooldowns;
        for (field, value) in [
            ("cooldowns.optimizeCache", cooldowns.optimize_cache),
            ("cooldowns.closeIdleConnections", cooldowns.close_idle_connections),
            ("cooldowns.releaseMemory", cooldowns.release_memory),
            ("cooldowns.reportSlowQueries", cooldowns.report_slow_queries),
            ("cooldowns.scaleWorkers", cooldowns.scale_workers),
        ] {
            check.count(field, value, 0..=WEEK_MS);
        }

        let guard = &self.guardrails;
        check.count(
            "guardrails.stabilizationChecks",
            u64::from(guard.stabilization_checks),
            1..=u64::from(MAX_STABILIZATION_CHECKS),
        );
        check.count("guardrails.maxSnapshotAge", guard.max_snapshot_age, 1000..=WEEK_MS);
        check.ratio("guardrails.worseningMargin", guard.worsening_margin, 0.0..=10.0);
        check.count("guardrails.maxFlipFlops", u64::from(guard.max_flip_flops), 2..=1000);
        check.count("guardrails.flipFlopWindow", guard.flip_flop_window, 1000..=WEEK_MS);
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
            ("connectionOptimization.idleTimeout", |c| c.connection_optimization.idle_timeout = 10),
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
            ("cooldowns.scaleWorkers", |c| c.cooldowns.scale_workers = u64::MAX),
            ("guardrails.stabilizationChecks", |c| c.guardrails.stabilization_checks = 0),
            ("guardrails.stabilizationChecks", |c| c.guardrails.stabilization_checks = 1000),
            ("guardrails.maxSnapshotAge", |c| c.guardrails.max_snapshot_age = 0),
            ("guardrails.worseningMargin", |c| c.guardrails.worsening_margin = -1.0),
            ("guardrails.maxFlipFlops", |c| c.guardrails.max_flip_flops = 1),
            ("guardrails.flipFlopWindow", |c| c.guardrails.flip_flop_window = 0),
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
        assert_eq!(config.cooldowns.scale_workers, 60_000);
        assert_eq!(config.cooldowns.release_memory, 600_000, "missing fields take defaults");
        assert_eq!(config.validate(), Ok(()));

        let back = serde_json::to_value(&config).unwrap();
        assert_eq!(back["queueScaling"]["minWorkers"], 2);
        assert_eq!(back["mode"]["dryRun"], true);

        let typo = r#"{ "queueScaling": { "maxWorker": 8 } }"#;
        assert!(serde_json::from_str::<OptimizerConfig>(typo).is_err());
    }
}
