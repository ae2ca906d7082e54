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
    /// The status and detail of the check of what the fault breaks (`cache`, `database`).
    pub(crate) dependency: String,
    /// Names of the alerts firing.
    pub(crate) alerts: Vec<String>,
    /// Each notifier's latest delivery: `name ok` or `name: error`.
    pub(crate) deliveries: Vec<String>,
}

impl HealthSaid {
    /// Reads `/health` (overall and the `dependency` check), `/alerts` and the notifiers.
    pub(crate) fn read(base: &str, dependency: &str) -> HealthSaid {
        let health = match get_json(base, "/api/performance/health") {
            Ok(health) => health,
            // A 503 is an answer too: the client reads bodies of 200s only.
            Err(error) => {
                return HealthSaid { overall: format!("{error:#}"), ..HealthSaid::default() };
            }
        };
        let text = |value: &Value| value.as_str().unwrap_or("?").to_owned();
        let check = &health["checks"][dependency];
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
            dependency: format!(
                "{dependency} {}: {}",
                text(&check["status"]),
                text(&check["detail"])
            ),
            alerts,
            deliveries,
        }
    }
}

/// One request sent during a fault that must reach the broken dependency.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MissProbe {
    /// Its status; `None`: no answer at all.
    pub(crate) status: Option<u16>,
    /// The JSON error's `code`, when the answer was one.
    pub(crate) code: Option<String>,
    pub(crate) elapsed: Duration,
}

/// The longest a request that cannot be served may take to say so: the demo pool's acquire
/// timeout (2 s) and some slack for a loaded machine.
pub(crate) const FAST_REFUSAL: Duration = Duration::from_secs(4);

impl MissProbe {
    fn describe(&self) -> String {
        let status = self.status.map_or_else(|| "no answer".to_owned(), |s| s.to_string());
        let code = self.code.as_deref().map(|code| format!(" {code}")).unwrap_or_default();
        format!("{status}{code} in {:.2} s", self.elapsed.as_secs_f64())
    }

    /// A JSON 503, fast.
    fn is_fast_refusal(&self) -> bool {
        self.status == Some(503)
            && self.code.as_deref() == Some("service_unavailable")
            && self.elapsed <= FAST_REFUSAL
    }
}

/// Most the server's RSS may grow while the trace collector is broken: spans beyond the
/// export queue's capacity are dropped, so memory must not follow the backlog.
const COLLECTOR_RSS_GROWTH_KIB: u64 = 32 * 1024;

/// One fault's figures.
pub(crate) struct FaultRow {
    pub(crate) fault: Fault,
    /// The server ran on tokio's `current_thread` runtime (else the multi-thread one).
    pub(crate) current_thread: bool,
    /// The load while the fault lasted.
    pub(crate) during: WrkResult,
    /// Socket errors and error answers in the short run after recovery.
    pub(crate) after_errors: u64,
    pub(crate) said: HealthSaid,
    /// A request needing the broken dependency, sent mid-fault (database faults).
    pub(crate) probe: Option<MissProbe>,
    /// How long after the fault ended the dependency served again (the cache check healthy,
    /// a miss answered from the database); `None`: not within the limit.
    pub(crate) recovered: Option<Duration>,
    pub(crate) hit_rate_after: Option<f64>,
    pub(crate) rss_before_kib: u64,
    pub(crate) rss_after_kib: u64,
    /// How much `perfkit_trace_spans_dropped_total` rose while the fault lasted.
    pub(crate) spans_dropped: u64,
}

impl FaultRow {
    /// The fault's name, and the runtime where it is not the default one.
    fn name(&self) -> String {
        let name = self.fault.name();
        if self.current_thread {
            format!("{name} (current_thread runtime)")
        } else {
            name.to_owned()
        }
    }
}

/// The server's `perfkit_trace_spans_dropped_total`, every reason added.
pub(crate) fn spans_dropped(base: &str) -> anyhow::Result<u64> {
    let text = crate::loadtest::http::get_text(base, "/api/performance/metrics/prometheus")?;
    Ok(dropped_in(&text))
}

fn dropped_in(exposition: &str) -> u64 {
    exposition
        .lines()
        .filter(|line| line.starts_with("perfkit_trace_spans_dropped_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        // Counts, whole and far below 2^52.
        .map(|value| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let count = value as u64;
            count
        })
        .sum()
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
        "| fault | requests during | ≥ 500 / timeouts | P99 during | slowest | a miss during | \
         recovered after | hit rate after | RSS before → after | health during | alerts during | \
         alert delivery during | spans dropped during |\n",
    );
    text.push_str(&"|---".repeat(13));
    text.push_str("|\n");
    for row in rows {
        let d = &row.during;
        let _ = writeln!(
            text,
            "| {} | {} | {} / {} | {:.1} ms | {:.0} ms | {} | {} | {} | {} → {} MiB | {} ({}) | {} | {} | {} |",
            row.name(),
            d.requests,
            d.non_2xx,
            d.timeouts,
            d.p99_ms,
            d.latency_max_ms,
            row.probe.as_ref().map_or_else(|| "—".to_owned(), MissProbe::describe),
            row.recovered.map_or_else(
                || "not within 60 s".to_owned(),
                |t| format!("{:.1} s", t.as_secs_f64())
            ),
            row.hit_rate_after
                .map_or_else(|| "—".to_owned(), |rate| format!("{:.1} %", rate * 100.0)),
            row.rss_before_kib / 1024,
            row.rss_after_kib / 1024,
            row.said.overall,
            row.said.dependency,
            if row.said.alerts.is_empty() { "none".to_owned() } else { row.said.alerts.join(", ") },
            if row.said.deliveries.is_empty() {
                "no notifier".to_owned()
            } else {
                row.said.deliveries.join("; ").replace('|', "/")
            },
            row.spans_dropped,
        );
    }
    text
}

/// The faults that were not absorbed, said in words.
pub(crate) fn failures(rows: &[FaultRow]) -> Vec<String> {
    let mut failures = Vec::new();
    for row in rows {
        let name = &row.name();
        let d = &row.during;
        if row.fault.must_absorb() && (d.non_2xx > 0 || d.connect_errors > 0) {
            failures.push(format!(
                "{name}: {} error answers, {} refused connections during the fault",
                d.non_2xx, d.connect_errors
            ));
        }
        if d.timeouts > 0 {
            failures.push(format!("{name}: {} requests past wrk's timeout", d.timeouts));
        }
        if let Some(probe) = row.probe.as_ref().filter(|probe| !probe.is_fast_refusal()) {
            failures.push(format!(
                "{name}: a miss answered {} (expected a JSON 503 within {FAST_REFUSAL:?})",
                probe.describe()
            ));
        }
        if row.recovered.is_none() {
            failures.push(format!(
                "{name}: the {} did not serve again within 60 s",
                row.fault.dependency()
            ));
        }
        if row.after_errors > 0 {
            failures.push(format!("{name}: {} errors after recovery", row.after_errors));
        }
        if row.fault.breaks_the_collector() && row.spans_dropped == 0 {
            failures.push(format!(
                "{name}: perfkit_trace_spans_dropped_total did not rise: spans were not dropped \
                 and counted while the collector was broken"
            ));
        }
        let grew = row.rss_after_kib.saturating_sub(row.rss_before_kib);
        if row.fault.breaks_the_collector() && grew > COLLECTOR_RSS_GROWTH_KIB {
            failures.push(format!(
                "{name}: RSS grew {} MiB while the collector was broken (at most {} MiB): the \
                 backlog is held in memory",
                grew / 1024,
                COLLECTOR_RSS_GROWTH_KIB / 1024
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
            current_thread: false,
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
                dependency: "cache unhealthy: breaker open".into(),
                alerts: vec![],
                deliveries: vec!["hook delivered".into()],
            },
            probe: None,
            recovered,
            hit_rate_after: Some(0.9),
            rss_before_kib: 50 * 1024,
            rss_after_kib: 52 * 1024,
            spans_dropped: 0,
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
                "| — | 1.5 s | 90.0 % | 50 → 52 MiB | degraded (cache unhealthy: breaker open) | none | hook delivered |"
            ),
            "{table}"
        );
        assert!(failures(&rows).is_empty());
        assert_eq!(failures(&[row(3, None)]).len(), 2);
    }

    #[test]
    fn a_collector_fault_needs_the_drop_counter_to_rise() {
        let broken = |dropped| FaultRow {
            fault: Fault::CollectorHanging,
            spans_dropped: dropped,
            ..row(0, Some(Duration::from_secs(1)))
        };
        assert_eq!(failures(&[broken(0)]).len(), 1);
        assert!(failures(&[broken(120)]).is_empty());
        assert!(table(&[broken(120)]).ends_with("| 120 |\n"));
        let swollen = FaultRow { rss_after_kib: 90 * 1024, ..broken(120) };
        assert_eq!(failures(&[swollen]).len(), 1, "50 → 90 MiB while dropping");
        let on_one_thread = FaultRow { current_thread: true, ..broken(120) };
        assert!(
            table(&[on_one_thread])
                .contains("| trace collector hanging (current_thread runtime) |")
        );
        let exposition = "# TYPE perfkit_trace_spans_dropped_total counter\n\
            perfkit_trace_spans_dropped_total{reason=\"queue_full\"} 7\n\
            perfkit_trace_spans_dropped_total{reason=\"export_failed\"} 5\n\
            perfkit_trace_spans_exported_total 100\n";
        assert_eq!(dropped_in(exposition), 12);
    }

    #[test]
    fn a_database_fault_may_refuse_misses_but_only_fast_and_as_json() {
        let probe = |status, code: &str, millis| MissProbe {
            status: Some(status),
            code: Some(code.to_owned()),
            elapsed: Duration::from_millis(millis),
        };
        let database_row = |probe| FaultRow {
            fault: Fault::DatabaseStopped,
            probe: Some(probe),
            ..row(250, Some(Duration::from_secs(1)))
        };
        let fast = database_row(probe(503, "service_unavailable", 2010));
        let fast = [fast];
        assert!(failures(&fast).is_empty(), "{:?}", failures(&fast));
        assert!(table(&fast).contains("| 503 service_unavailable in 2.01 s |"));
        assert_eq!(failures(&[database_row(probe(503, "service_unavailable", 9000))]).len(), 1);
        assert_eq!(failures(&[database_row(probe(500, "internal_error", 10))]).len(), 1);
    }
}
