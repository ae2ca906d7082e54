//! The connections rule: close idle connections when more than the maximum are open, or when too
//! large a share of them is idle.

use perfkit_core::{Metric, MetricsSnapshot, Severity};

use super::{Trigger, percent};
use crate::{CheckHistory, Figures, OptimizerConfig};

/// Close idle connections when there are more than the maximum, or when many are idle.
pub(super) fn trigger(
    snapshot: &MetricsSnapshot,
    history: &CheckHistory,
    config: &OptimizerConfig,
) -> Option<Trigger> {
    let cfg = &config.connection_optimization;
    let active = snapshot.get(Metric::ActiveConnections)?;
    #[allow(clippy::cast_precision_loss)] // connection counts are far below 2^52
    let idle = history.observed.idle_connections.map(|n| n as f64);
    #[allow(clippy::cast_precision_loss)]
    let max = cfg.max_connections as f64;
    let idle_seconds = cfg.idle_timeout.as_secs();

    let mut figures = Figures::new().with("activeConnections", active);
    let mut reasons = Vec::new();
    let over = active > max;
    if over {
        reasons.push(format!("{active:.0} open connections exceed the limit of {max:.0}"));
        figures.insert("maxConnections", max);
    }
    let idle_share = idle.filter(|i| *i > 0.0 && active > 0.0).map(|i| (i, i / active));
    let many_idle = idle_share.filter(|(_, share)| *share >= cfg.idle_ratio_threshold);
    if let Some((idle, share)) = many_idle {
        reasons.push(format!(
            "{idle:.0} of {active:.0} connections ({}) idle for over {idle_seconds} s",
            percent(share)
        ));
        figures.insert("idleConnections", idle);
        figures.insert("idleRatioThreshold", cfg.idle_ratio_threshold);
    }
    if reasons.is_empty() {
        return None;
    }
    Some(Trigger {
        reason: reasons.join("; "),
        figures,
        expected_effect: format!("close connections idle for over {idle_seconds} s"),
        priority: if over { Severity::High } else { Severity::Low },
        details: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use perfkit_core::Timestamp;

    use super::*;
    use crate::Observed;

    #[test]
    fn triggers_above_max_or_with_many_idle() {
        // (active, idle, expected)
        let table = [
            (None, Some(400), None), // no count of open connections: no action
            (Some(100.0), None, None),
            (Some(500.0), None, None),
            (Some(501.0), None, Some(Severity::High)),
            (Some(100.0), Some(40), None),
            (Some(100.0), Some(50), Some(Severity::Low)),
            (Some(600.0), Some(500), Some(Severity::High)),
            (Some(0.0), Some(0), None),
        ];
        for (active, idle, expected) in table {
            let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
            snapshot.active_connections = active;
            let mut history = CheckHistory::new();
            history.observed = Observed { idle_connections: idle, ..Observed::default() };
            let got = trigger(&snapshot, &history, &OptimizerConfig::default()).map(|t| t.priority);
            assert_eq!(got, expected, "active {active:?} idle {idle:?}");
        }
    }
}
