//! The cache rule: optimize the cache when its hit rate is below its threshold or memory usage is
//! above its own.

use perfkit_core::{MetricsSnapshot, Severity};

use super::{Trigger, percent};
use crate::{Figures, OptimizerConfig};

/// Optimize the cache when its hit rate is below the threshold or memory is above its own.
pub(super) fn trigger(snapshot: &MetricsSnapshot, config: &OptimizerConfig) -> Option<Trigger> {
    let cfg = &config.cache_optimization;
    let hit_rate = snapshot.get(perfkit_core::Metric::CacheHitRate);
    let memory = snapshot.get(perfkit_core::Metric::MemoryUsage);
    let low_hits = hit_rate.filter(|h| *h < cfg.hit_rate_threshold);
    let high_memory = memory.filter(|m| *m > cfg.memory_threshold);

    let mut reasons = Vec::new();
    let mut figures = Figures::new();
    if let Some(h) = low_hits {
        reasons.push(format!(
            "cache hit rate {} is below the {} threshold",
            percent(h),
            percent(cfg.hit_rate_threshold)
        ));
        figures = figures.with("cacheHitRate", h).with("hitRateThreshold", cfg.hit_rate_threshold);
    }
    if let Some(m) = high_memory {
        reasons.push(format!(
            "memory usage {} is above the cache's {} threshold",
            percent(m),
            percent(cfg.memory_threshold)
        ));
        figures = figures.with("memoryUsage", m).with("memoryThreshold", cfg.memory_threshold);
    }
    if reasons.is_empty() {
        return None;
    }
    let mut effect = vec!["drop expired and cold entries so hot keys stay resident"];
    if high_memory.is_some() && !cfg.evict_prefixes.is_empty() {
        effect.push("evict the configured prefixes to free memory");
    }
    Some(Trigger {
        reason: reasons.join("; "),
        figures,
        expected_effect: effect.join(", "),
        priority: if high_memory.is_some() { Severity::High } else { Severity::Medium },
        details: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use perfkit_core::Timestamp;

    use super::*;

    #[test]
    fn triggers_on_low_hit_rate_or_high_memory_only() {
        // (hit rate, memory, triggered, priority)
        let table = [
            (None, None, None),
            (Some(0.9), Some(0.5), None),
            (Some(0.7), Some(0.8), None), // at the thresholds: not beyond them
            (Some(0.69), None, Some(Severity::Medium)),
            (None, Some(0.81), Some(Severity::High)),
            (Some(0.3), Some(0.95), Some(Severity::High)),
            (Some(f64::NAN), None, None),
        ];
        let config = OptimizerConfig::default();
        for (hit, memory, expected) in table {
            let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
            snapshot.cache_hit_rate = hit;
            snapshot.memory_usage = memory;
            let got = trigger(&snapshot, &config).map(|t| t.priority);
            assert_eq!(got, expected, "hit {hit:?} memory {memory:?}");
        }
    }

    #[test]
    fn reason_and_figures_name_what_crossed() {
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        snapshot.cache_hit_rate = Some(0.52);
        let t = trigger(&snapshot, &OptimizerConfig::default()).unwrap();
        assert_eq!(t.reason, "cache hit rate 52.0% is below the 70.0% threshold");
        assert_eq!(t.figures.get("cacheHitRate"), Some(0.52));
        assert_eq!(t.figures.get("hitRateThreshold"), Some(0.7));
        assert_eq!(t.figures.get("memoryUsage"), None);
    }
}
