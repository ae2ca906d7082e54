//! The slow-query rule: the statements that were measured slow, named with their figures.
//!
//! A statement whose P95 is above the limit is slow. The report lists the slowest by P95 and
//! the ones that cost the most time in all, each with count, P50/P95/max, total time and
//! rows: the statements to look at, as measured, and nothing else. Without per-statement
//! figures (a host that records queries without their statement) the rule still reports an
//! all-queries P95 above the limit, and says that it cannot name the statements.

use perfkit_control::StatementSummary;
use perfkit_core::{Metric, MetricsSnapshot, Severity};

use super::Trigger;
use crate::{CheckHistory, Figures, OptimizerConfig};

/// Statements named in one report, by P95 and by total time each.
const LISTED: usize = 5;

/// Report the slow statements, or an all-queries P95 above the limit.
pub(super) fn trigger(
    snapshot: &MetricsSnapshot,
    history: &CheckHistory,
    config: &OptimizerConfig,
) -> Option<Trigger> {
    let limit = config.query_optimization.slow_query_ms;
    let statements = &history.observed.statements;
    let mut slow: Vec<&StatementSummary> =
        statements.iter().filter(|s| s.p95.is_some_and(|p95| p95 > limit)).collect();
    if slow.is_empty() {
        let p95 = snapshot.get(Metric::DbQueryP95).filter(|p| *p > limit)?;
        if !statements.is_empty() {
            // The interval's P95 is above the limit, but no statement is slow since reset:
            // a burst the per-statement figures already put in proportion.
            return None;
        }
        return Some(Trigger {
            reason: format!(
                "P95 database query time {p95:.0} ms is above the {limit:.0} ms limit; \
                 queries are recorded without their statements, so none can be named"
            ),
            figures: Figures::new().with("dbQueryP95", p95).with("slowQueryMs", limit),
            expected_effect: "a report; no automatic effect".to_owned(),
            priority: priority(p95 / limit),
            details: Vec::new(),
        });
    }
    slow.sort_by(|a, b| b.p95.partial_cmp(&a.p95).unwrap_or(std::cmp::Ordering::Equal));
    let slowest = slow[0];
    let worst_p95 = slowest.p95.unwrap_or(limit);
    let mut figures = Figures::new()
        .with("slowQueryMs", limit)
        .with("slowStatements", count(slow.len()))
        .with("slowestStatementP95", worst_p95)
        .with("slowestStatementCalls", count_u64(slowest.count));
    if let Some(p95) = snapshot.get(Metric::DbQueryP95) {
        figures.insert("dbQueryP95", p95);
    }
    let mut details: Vec<String> =
        slow.iter().take(LISTED).map(|s| format!("by P95: {}", describe(s))).collect();
    let mut by_total: Vec<&StatementSummary> = statements.iter().collect();
    by_total.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
    details.extend(by_total.iter().take(LISTED).map(|s| format!("by total time: {}", describe(s))));
    Some(Trigger {
        reason: format!(
            "{} statement{} with P95 above the {limit:.0} ms limit; slowest: {} at P95 \
             {worst_p95:.1} ms over {} calls",
            slow.len(),
            if slow.len() == 1 { "" } else { "s" },
            slowest.statement,
            slowest.count
        ),
        figures,
        expected_effect: "a report of the measured statements to fix; no automatic effect"
            .to_owned(),
        priority: priority(worst_p95 / limit),
        details,
    })
}

fn priority(factor: f64) -> Severity {
    if factor >= 3.0 { Severity::High } else { Severity::Medium }
}

fn describe(statement: &StatementSummary) -> String {
    let ms = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
    format!(
        "{} (calls {}, P50 {} ms, P95 {} ms, max {} ms, total {:.1} ms, rows {})",
        statement.statement,
        statement.count,
        ms(statement.p50),
        ms(statement.p95),
        ms(statement.max),
        statement.total_ms,
        statement.rows
    )
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn count(n: usize) -> f64 {
    n as f64
}

#[allow(clippy::cast_precision_loss)]
fn count_u64(n: u64) -> f64 {
    n as f64
}

#[cfg(test)]
mod tests {
    use perfkit_core::Timestamp;

    use super::*;

    fn statement(text: &str, count: u64, p95: f64, total_ms: f64) -> StatementSummary {
        StatementSummary {
            statement: text.to_owned(),
            count,
            total_ms,
            p50: Some(p95 / 2.0),
            p95: Some(p95),
            max: Some(p95 * 1.2),
            rows: count * 3,
            ..StatementSummary::default()
        }
    }

    fn history(statements: Vec<StatementSummary>) -> CheckHistory {
        let mut history = CheckHistory::new();
        history.observed.statements = statements;
        history
    }

    #[test]
    fn names_the_slowest_measured_statement_and_the_costliest() {
        let fast_but_frequent =
            statement("SELECT * FROM posts WHERE id = ?", 90_000, 3.0, 270_000.0);
        let slow = statement("SELECT pg_sleep(?)", 4, 1_500.0, 6_000.0);
        let slower = statement("SELECT count(*) FROM posts", 2, 4_000.0, 8_000.0);
        let history = history(vec![fast_but_frequent, slow, slower]);
        let snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        let trigger = trigger(&snapshot, &history, &OptimizerConfig::default()).unwrap();
        assert!(trigger.reason.contains("2 statements"), "{}", trigger.reason);
        assert!(
            trigger.reason.contains("slowest: SELECT count(*) FROM posts"),
            "{}",
            trigger.reason
        );
        assert_eq!(trigger.priority, Severity::High);
        assert_eq!(trigger.figures.get("slowestStatementP95"), Some(4_000.0));
        assert!(trigger.details[0].starts_with("by P95: SELECT count(*) FROM posts (calls 2"));
        assert!(trigger.details[1].starts_with("by P95: SELECT pg_sleep(?)"));
        assert!(
            trigger.details[2].starts_with("by total time: SELECT * FROM posts WHERE id = ?"),
            "{:?}",
            trigger.details
        );
        // Nothing but measured statements: no advice text presented as a finding.
        assert!(trigger.details.iter().all(|d| d.contains("calls ")));
    }

    #[test]
    fn no_slow_statement_means_no_report_and_no_statements_falls_back_to_the_p95() {
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        snapshot.db_query_p95 = Some(1_500.0);
        let quick = history(vec![statement("SELECT 1", 10, 2.0, 20.0)]);
        assert!(trigger(&snapshot, &quick, &OptimizerConfig::default()).is_none());
        let unnamed =
            trigger(&snapshot, &CheckHistory::new(), &OptimizerConfig::default()).unwrap();
        assert_eq!(unnamed.priority, Severity::Medium);
        assert!(unnamed.details.is_empty());
        assert!(unnamed.reason.contains("none can be named"));
        snapshot.db_query_p95 = Some(900.0);
        assert!(trigger(&snapshot, &CheckHistory::new(), &OptimizerConfig::default()).is_none());
    }
}
