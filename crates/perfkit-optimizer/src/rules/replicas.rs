//! The replica rule: a read replica further behind its primary than
//! `databasePool.maxReplicaLagMs` serves stale reads; take it out of rotation until it
//! catches up, so its reads go to the primary.

use perfkit_core::{Metric, MetricsSnapshot, Severity};

use super::Trigger;
use crate::{Figures, OptimizerConfig};

/// Lag past the bound by this factor is urgent: reads are minutes stale, not seconds.
const CRITICAL_FACTOR: f64 = 6.0;

/// Take lagging replicas out of rotation when the furthest one is past the bound.
pub(super) fn trigger(snapshot: &MetricsSnapshot, config: &OptimizerConfig) -> Option<Trigger> {
    let bound = config.database_pool.max_replica_lag_ms;
    let lag = snapshot.get(Metric::DbReplicaLag).filter(|lag| *lag > bound)?;
    Some(Trigger {
        reason: format!(
            "a read replica is {:.1} s behind its primary, past the {:.1} s bound: its reads are stale",
            lag / 1000.0,
            bound / 1000.0
        ),
        figures: Figures::new().with("dbReplicaLag", lag).with("maxReplicaLagMs", bound),
        expected_effect: format!(
            "take replicas more than {:.1} s behind out of rotation until they catch up; their reads go to the primary",
            bound / 1000.0
        ),
        priority: if lag >= bound * CRITICAL_FACTOR { Severity::Critical } else { Severity::High },
        details: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use perfkit_core::Timestamp;

    use super::*;

    #[test]
    fn triggers_past_the_bound_with_rising_priority_and_never_without_data() {
        let table = [
            (None, None),
            (Some(0.0), None),
            (Some(10_000.0), None),
            (Some(12_000.0), Some(Severity::High)),
            (Some(600_000.0), Some(Severity::Critical)),
            (Some(f64::NAN), None),
        ];
        for (lag, expected) in table {
            let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
            snapshot.db_replica_lag = lag;
            let got = trigger(&snapshot, &OptimizerConfig::default()).map(|t| t.priority);
            assert_eq!(got, expected, "lag {lag:?}");
        }
    }
}
