//! The memory rule: release memory when usage is above `gcThreshold`, and rate it critical from
//! 95 % up.

use perfkit_core::{Metric, MetricsSnapshot, Severity};

use super::{Trigger, percent};
use crate::{Figures, OptimizerConfig};

/// Usage from which a release is urgent rather than merely due.
const CRITICAL_USAGE: f64 = 0.95;

/// Release memory when usage is above the release (`gcThreshold`) threshold.
pub(super) fn trigger(snapshot: &MetricsSnapshot, config: &OptimizerConfig) -> Option<Trigger> {
    let threshold = config.memory_optimization.gc_threshold;
    let usage = snapshot.get(Metric::MemoryUsage).filter(|m| *m > threshold)?;
    Some(Trigger {
        reason: format!(
            "memory usage {} is above the {} release threshold",
            percent(usage),
            percent(threshold)
        ),
        figures: Figures::new().with("memoryUsage", usage).with("gcThreshold", threshold),
        expected_effect: "shrink caches and return freed memory to the operating system".to_owned(),
        priority: if usage >= CRITICAL_USAGE { Severity::Critical } else { Severity::High },
        details: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use perfkit_core::Timestamp;

    use super::*;

    #[test]
    fn triggers_above_the_threshold_with_rising_priority() {
        let table = [
            (None, None),
            (Some(0.5), None),
            (Some(0.8), None),
            (Some(0.85), Some(Severity::High)),
            (Some(0.97), Some(Severity::Critical)),
            (Some(f64::INFINITY), None),
        ];
        for (usage, expected) in table {
            let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
            snapshot.memory_usage = usage;
            let got = trigger(&snapshot, &OptimizerConfig::default()).map(|t| t.priority);
            assert_eq!(got, expected, "usage {usage:?}");
        }
    }
}
