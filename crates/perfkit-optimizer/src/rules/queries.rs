//! The slow-query rule: report when the database P95 is above the limit. The snapshot has one P95
//! for all queries, so the report names the usual culprits for a person to look at.

use perfkit_core::{Metric, MetricsSnapshot, Severity};

use super::Trigger;
use crate::{Figures, OptimizerConfig};

/// Report slow queries when the P95 database query time is above the limit.
///
/// The snapshot carries one P95 for all queries, so the report names the kinds of query that
/// usually make it slow, from the worst offender down, for a person to look at.
pub(super) fn trigger(snapshot: &MetricsSnapshot, config: &OptimizerConfig) -> Option<Trigger> {
    let limit = config.query_optimization.slow_query_ms;
    let p95 = snapshot.get(Metric::DbQueryP95).filter(|p| *p > limit)?;
    let factor = p95 / limit;
    let mut details = vec![
        "queries without a usable index (sequential scans)".to_owned(),
        "N+1 patterns: many small queries per request".to_owned(),
    ];
    if factor >= 3.0 {
        details.push("lock waits and long transactions".to_owned());
        details.push("large result sets read without pagination".to_owned());
    }
    Some(Trigger {
        reason: format!("P95 database query time {p95:.0} ms is above the {limit:.0} ms limit"),
        figures: Figures::new().with("dbQueryP95", p95).with("slowQueryMs", limit),
        expected_effect: "a report of the query kinds to fix; no automatic effect".to_owned(),
        priority: if factor >= 3.0 { Severity::High } else { Severity::Medium },
        details,
    })
}

#[cfg(test)]
mod tests {
    use perfkit_core::Timestamp;

    use super::*;

    #[test]
    fn reports_above_the_limit_with_query_kinds() {
        // (p95, expected priority, number of query kinds)
        let table = [
            (None, None),
            (Some(200.0), None),
            (Some(1000.0), None),
            (Some(1500.0), Some((Severity::Medium, 2))),
            (Some(4000.0), Some((Severity::High, 4))),
        ];
        for (p95, expected) in table {
            let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
            snapshot.db_query_p95 = p95;
            let got = trigger(&snapshot, &OptimizerConfig::default())
                .map(|t| (t.priority, t.details.len()));
            assert_eq!(got, expected, "p95 {p95:?}");
        }
    }
}
