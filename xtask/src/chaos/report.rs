//! What each fault did to the load, as a table, and which faults were not absorbed.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;

use super::faults::Fault;
use crate::loadtest::http::get_json;
use crate::loadtest::wrk::WrkResult;

/// What `/health` and `/alerts` said in the middle of a fault.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HealthSaid {
    /// `healthy`, `degraded`, `unhealthy`, or why it could not be read.
    pub(crate) overall: String,
    /// The cache check's status and detail.
    pub(crate) cache: String,
    /// Names of the alerts firing.
    pub(crate) alerts: Vec<String>,
    /// Each notifier's latest delivery: `name ok` or `name: error`.
    pub(crate) deliveries: Vec<String>,
}

impl HealthSaid {
    pub(crate) fn read(base: &str) -> HealthSaid {
        let health = match get_json(base, "/api/performance/health") {
            Ok(health) => health,
            // A 503 is an answer too: the client reads bodies of 200s only.
            Err(error) => {
                return HealthSaid { overall: format!("{error:#}"), ..HealthSaid::default() };
            }
        };
        let text = |value: &Value| value.as_str().unwrap_or("?").to_owned();
        let cache = &health["checks"]["cache"];
        let alerts = get_json(base, "/api/performance/alerts")
            .ok()
            .and_then(|alerts| alerts["active"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|alert| {
                text(if alert["name"].is_null() { &alert["rule"] } else { &alert["name"] })
            })
            .collect();
        let deliveries = health["notifiers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|notifier| {
                let last = &notifier["lastDelivery"];
                let name = text(&notifier["notifier"]);
                match (last["ok"].as_bool(), last["error"].as_str()) {
                    (Some(true), _) => format!("{name} delivered"),
                    (Some(false), Some(error)) => format!("{name} failing: {error}"),
                    _ => format!("{name}: nothing delivered yet"),
                }
            })
            .collect();
        HealthSaid {
            overall: text(&health["status"]),
            cache: format!("{}: {}", text(&cache["status"]), text(&cache["detail"])),
            alerts,
            deliveries,
        }
    }
}

/// One fault's figures.
pub(crate) struct FaultRow {
    pub(crate) fault: Fault,
    /// The load while the fault lasted.
    pub(crate) during: WrkResult,
    /// Socket errors and error answers in the short run after recovery.
    pub(crate) after_errors: u64,
    pub(crate) said: HealthSaid,
    /// How long after the fault ended the cache was healthy again; `None`: not within the
    /// limit.
    pub(crate) recovered: Option<Duration>,
    pub(crate) hit_rate_after: Option<f64>,
    pub(crate) rss_before_kib: u64,
    pub(crate) rss_after_kib: u64,
}

/// Hits over lookups between two readings of `/cache/stats`.
pub(crate) fn hit_rate(before: &Value, after: &Value) -> Option<f64> {
    let delta = |name: &str| Some(after[name].as_u64()?.saturating_sub(before[name].as_u64()?));
    let (hits, misses) = (delta("hits")?, delta("misses")?);
    #[allow(clippy::cast_precision_loss)] // a rate for people
    (hits + misses > 0).then(|| hits as f64 / (hits + misses) as f64)
}

/// The table, as markdown.
pub(crate) fn table(rows: &[FaultRow]) -> String {
    let mut text = String::from(
        "| fault | requests during | ≥ 500 / timeouts | P99 during | slowest | recovered after | \
         hit rate after | RSS before → after | health during | alerts during | alert delivery during |\n",
    );
    text.push_str(&"|---".repeat(11));
    text.push_str("|\n");
    for row in rows {
        let d = &row.during;
        let _ = writeln!(
            text,
            "| {} | {} | {} / {} | {:.1} ms | {:.0} ms | {} | {} | {} → {} MiB | {} ({}) | {} | {} |",
            row.fault.name(),
            d.requests,
            d.non_2xx,
            d.timeouts,
            d.p99_ms,
            d.latency_max_ms,
            row.recovered.map_or_else(
                || "not within 60 s".to_owned(),
                |t| format!("{:.1} s", t.as_secs_f64())
            ),
            row.hit_rate_after
                .map_or_else(|| "—".to_owned(), |rate| format!("{:.1} %", rate * 100.0)),
            row.rss_before_kib / 1024,
            row.rss_after_kib / 1024,
            row.said.overall,
            row.said.cache,
            if row.said.alerts.is_empty() { "none".to_owned() } else { row.said.alerts.join(", ") },
            if row.said.deliveries.is_empty() {
                "no notifier".to_owned()
            } else {
                row.said.deliveries.join("; ").replace('|', "/")
            },
        );
    }
    text
}

/// The faults that were not absorbed, said in words.
pub(crate) fn failures(rows: &[FaultRow]) -> Vec<String> {
    let mut failures = Vec::new();
    for row in rows.iter().filter(|row| row.fault.must_absorb()) {
        let d = &row.during;
        if d.non_2xx > 0 || d.timeouts > 0 || d.connect_errors > 0 {
            failures.push(format!(
                "{}: {} error answers, {} timeouts, {} refused connections during the fault",
                row.fault.name(),
                d.non_2xx,
                d.timeouts,
                d.connect_errors
            ));
        }
        if row.recovered.is_none() {
            failures
                .push(format!("{}: the cache was not healthy again within 60 s", row.fault.name()));
        }
        if row.after_errors > 0 {
            failures.push(format!(
                "{}: {} errors after recovery",
                row.fault.name(),
                row.after_errors
            ));
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(non_2xx: u64, recovered: Option<Duration>) -> FaultRow {
        FaultRow {
            fault: Fault::RedisKilled,
            during: WrkResult {
                requests: 1000,
                seconds: 1.0,
                non_2xx,
                p99_ms: 12.5,
                ..WrkResult::default()
            },
            after_errors: 0,
            said: HealthSaid {
                overall: "degraded".into(),
                cache: "unhealthy: breaker open".into(),
                alerts: vec![],
                deliveries: vec!["hook delivered".into()],
            },
            recovered,
            hit_rate_after: Some(0.9),
            rss_before_kib: 50 * 1024,
            rss_after_kib: 52 * 1024,
        }
    }

    #[test]
    fn a_row_says_what_the_load_saw_and_unabsorbed_faults_fail() {
        let rows = [row(0, Some(Duration::from_millis(1500)))];
        let table = table(&rows);
        assert!(
            table.contains("| Redis killed, then restarted | 1000 | 0 / 0 | 12.5 ms |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| 1.5 s | 90.0 % | 50 → 52 MiB | degraded (unhealthy: breaker open) | none | hook delivered |"
            ),
            "{table}"
        );
        assert!(failures(&rows).is_empty());
        assert_eq!(failures(&[row(3, None)]).len(), 2);
    }
}
