//! The database pool rule: size the pool to measured demand.
//!
//! Demand is the connections in use plus the mean number of tasks waiting for one (both
//! measured: the pool's gauge and the acquire times through Little's law). The size asked
//! for is demand over the target utilisation, inside the configured bounds and the step
//! clamp. The pool grows when tasks wait longer than the limit for a connection, and shrinks
//! when nobody waits and demand uses less than half the target share. Without acquire
//! figures (no acquires in the interval, or a host that does not record them) nothing is
//! recommended: missing data never acts.

use perfkit_core::{Metric, MetricsSnapshot, Severity};

use super::{Trigger, clamp_step, percent};
use crate::{CheckHistory, Figures, OptimizerConfig};

pub(super) fn trigger(
    snapshot: &MetricsSnapshot,
    history: &CheckHistory,
    config: &OptimizerConfig,
) -> Option<Trigger> {
    let cfg = &config.database_pool;
    let pool = history.observed.pool?;
    let waiters = snapshot.get(Metric::DbPoolWaiters)?.max(0.0);
    let acquire_p95 = snapshot.get(Metric::DbPoolAcquireP95)?;
    let in_use = snapshot.get(Metric::DbPoolInUse).unwrap_or_else(|| f64::from(pool.in_use()));
    let current = pool.max.max(1);
    let demand = in_use + waiters;
    let utilization = demand / f64::from(current);
    let waiting = acquire_p95 > cfg.max_acquire_wait_ms;
    let wanted = (demand / cfg.target_utilization).ceil();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped first
    let mut desired = wanted.clamp(0.0, f64::from(u32::MAX)) as u32;
    if waiting {
        // Tasks waited: whatever the average says, one more connection at least.
        desired = desired.max(current.saturating_add(1));
    }
    let desired = desired.clamp(cfg.min_connections, cfg.max_connections);
    let grow = waiting && desired > current;
    let shrink = !waiting && desired < current && utilization < cfg.target_utilization / 2.0;
    if !grow && !shrink {
        return None;
    }
    let target = clamp_step(current, desired, cfg.min_connections, cfg.max_connections);
    if target == current {
        return None;
    }
    let reason = if grow {
        format!(
            "tasks wait for database connections: acquire P95 {acquire_p95:.1} ms is above the \
             {:.1} ms limit, with {in_use:.0} of {current} connections in use and \
             {waiters:.2} waiting on average",
            cfg.max_acquire_wait_ms
        )
    } else {
        format!(
            "the database pool is oversized: demand of {demand:.2} connections uses {} of its \
             {current}, below half the {} target",
            percent(utilization),
            percent(cfg.target_utilization)
        )
    };
    let expected_effect = if pool.resizable {
        format!("resize the database pool from {current} to {target} connections")
    } else {
        format!(
            "this pool cannot be resized at run time: a report to set its maximum from \
             {current} to {target} connections at the next start"
        )
    };
    Some(Trigger {
        reason,
        figures: Figures::new()
            .with("dbPoolInUse", in_use)
            .with("dbPoolWaiters", waiters)
            .with("dbPoolAcquireP95", acquire_p95)
            .with("maxConnections", f64::from(current))
            .with("targetConnections", f64::from(target))
            .with("utilization", utilization),
        expected_effect,
        priority: if grow { Severity::Medium } else { Severity::Low },
        details: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use perfkit_core::Timestamp;

    use super::*;
    use perfkit_control::PoolFigures;

    fn pool(max: u32, resizable: bool) -> CheckHistory {
        let mut history = CheckHistory::new();
        history.observed.pool = Some(PoolFigures { size: max, max, idle: 0, resizable });
        history
    }

    fn snapshot(in_use: f64, waiters: Option<f64>, acquire_p95: Option<f64>) -> MetricsSnapshot {
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        snapshot.db_pool_in_use = Some(in_use);
        snapshot.db_pool_waiters = waiters;
        snapshot.db_pool_acquire_p95 = acquire_p95;
        snapshot
    }

    #[test]
    fn sizes_the_pool_to_measured_demand_inside_the_bounds() {
        let config = OptimizerConfig::default(); // target 0.7, wait limit 50 ms, 2..=64
        // (max, in use, waiters, acquire P95, expected target)
        let table = [
            (10, 10.0, Some(4.0), Some(200.0), Some(20)), // ceil(14 / 0.7) = 20, +100 % step
            (10, 10.0, Some(0.2), Some(80.0), Some(15)),  // ceil(10.2 / 0.7) = 15
            (10, 5.0, Some(0.0), Some(90.0), Some(11)),   // waited: at least one more
            (10, 6.0, Some(0.0), Some(1.0), None),        // no wait, 60 % used: keep
            (10, 1.0, Some(0.0), Some(0.5), Some(5)),     // shrink, at most halved
            (4, 1.0, Some(0.0), Some(0.5), Some(2)),      // shrink to the floor of 2
            (64, 64.0, Some(9.0), Some(900.0), None),     // at the ceiling already
            (10, 10.0, None, Some(900.0), None),          // no waiter figure: no action
            (10, 10.0, Some(3.0), None, None),            // no acquire figure: no action
        ];
        for (max, in_use, waiters, p95, expected) in table {
            let got = trigger(&snapshot(in_use, waiters, p95), &pool(max, true), &config)
                .map(|t| t.figures.get("targetConnections").unwrap() as u32);
            assert_eq!(got, expected, "max {max} in use {in_use} waiters {waiters:?} p95 {p95:?}");
        }
    }

    #[test]
    fn a_pool_that_cannot_be_resized_gets_a_report() {
        let config = OptimizerConfig::default();
        let resizable = trigger(&snapshot(10.0, Some(4.0), Some(200.0)), &pool(10, true), &config);
        assert!(resizable.unwrap().expected_effect.starts_with("resize the database pool"));
        let fixed =
            trigger(&snapshot(10.0, Some(4.0), Some(200.0)), &pool(10, false), &config).unwrap();
        assert!(fixed.expected_effect.contains("cannot be resized at run time"));
        assert_eq!(fixed.priority, Severity::Medium);
        assert!(
            trigger(&snapshot(10.0, Some(4.0), Some(200.0)), &CheckHistory::new(), &config)
                .is_none()
        );
    }
}
