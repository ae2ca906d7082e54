//! `--compare`: the same cheap JSON answer under the same load from plain axum, the same
//! app with perfkit's router and `RequestMetricsLayer`, the same with the layer's request
//! tracing at 1 % exporting over OTLP/HTTP (to a sink here that answers 200, as a collector
//! would), the same app with `axum-prometheus`, and perfkit-server's own `/health/live` and
//! `/summary`, at c=100 and c=1000; each as a ratio of the plain app measured in the same
//! run, the targets taken in turn within each round. `--only KEY,...` loads some of them
//! beside the baseline.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::merge::merge;
use super::options::Options;
use super::placement::Placement;
use super::targets::TargetApp;
use super::wrk::{self, Load, WrkResult};
use super::{WARM_UP, fixed_script};
use crate::chaos::receiver::Receiver;
use crate::server::{Server, binary_path};

/// The connection counts each target is loaded at.
pub(crate) const CONNECTIONS: [u32; 2] = [100, 1000];

/// Where a target's answer comes from.
#[derive(Clone, Copy)]
enum Source {
    /// A `perfkit-loadtest-targets` app, by its subcommand.
    App(&'static str),
    /// The same app exporting traces to the run's sink.
    TracedApp(&'static str),
    /// The release perfkit-server (no demo).
    Server,
}

/// One compared target: its row's name, its key for `--only`, where it is served, and the
/// path loaded.
#[derive(Clone, Copy)]
struct Target {
    name: &'static str,
    key: &'static str,
    source: Source,
    path: &'static str,
}

/// What is compared, the baseline first.
const TARGETS: [Target; 6] = [
    Target {
        name: "plain axum JSON handler",
        key: "plain",
        source: Source::App("plain"),
        path: "/api/hello",
    },
    Target {
        name: "+ perfkit router and RequestMetricsLayer",
        key: "perfkit",
        source: Source::App("perfkit"),
        path: "/api/hello",
    },
    Target {
        name: "+ perfkit router and RequestMetricsLayer, traced at 1 % (OTLP/HTTP to a local sink)",
        key: "perfkit-traced",
        source: Source::TracedApp("perfkit-traced"),
        path: "/api/hello",
    },
    Target {
        name: "+ axum-prometheus layer",
        key: "axum-prometheus",
        source: Source::App("axum-prometheus"),
        path: "/api/hello",
    },
    Target {
        name: "perfkit-server /api/performance/health/live",
        key: "server-live",
        source: Source::Server,
        path: "/api/performance/health/live",
    },
    Target {
        name: "perfkit-server /api/performance/summary",
        key: "server-summary",
        source: Source::Server,
        path: "/api/performance/summary",
    },
];

/// The targets `only` names (their keys), the baseline always first; every one when empty.
fn chosen(only: &[String]) -> Result<Vec<Target>> {
    if let Some(unknown) = only.iter().find(|key| !TARGETS.iter().any(|t| t.key == key.as_str())) {
        let keys: Vec<&str> = TARGETS.iter().map(|t| t.key).collect();
        bail!("--only: unknown target {unknown:?}; the targets: {}", keys.join(", "));
    }
    Ok(TARGETS
        .iter()
        .enumerate()
        .filter(|(at, t)| *at == 0 || only.is_empty() || only.iter().any(|key| key == t.key))
        .map(|(_, t)| *t)
        .collect())
}

/// One target's runs, one per connection count asked for.
pub(crate) struct CompareRow {
    pub(crate) name: &'static str,
    pub(crate) runs: Vec<WrkResult>,
}

/// Loads every target chosen in turn at [`CONNECTIONS`], everything sharing the machine's
/// cores.
pub(crate) fn run(options: &Options) -> Result<Vec<CompareRow>> {
    let targets = chosen(&options.only)?;
    load_chosen(&targets, &CONNECTIONS, options.duration, options.rounds, &Placement::shared())
}

/// Loads every target at each of `connections` for `duration` in all, the target and wrk
/// where `placement` puts them. Every target is started and warmed up first; then each round
/// loads every target in turn for its share of `duration`, so a slow patch of a shared
/// machine falls on all of them, and each target's rounds are merged (see `merge`).
pub(crate) fn load_targets(
    connections: &[u32],
    duration: Duration,
    rounds: u32,
    placement: &Placement,
) -> Result<Vec<CompareRow>> {
    load_chosen(&TARGETS, connections, duration, rounds, placement)
}

fn load_chosen(
    targets: &[Target],
    connections: &[u32],
    duration: Duration,
    rounds: u32,
    placement: &Placement,
) -> Result<Vec<CompareRow>> {
    let script = fixed_script()?;
    // One perfkit-server serves both of its rows, when either is chosen.
    let mut server = if targets.iter().any(|t| matches!(t.source, Source::Server)) {
        Some(Server::start_with(
            placement.server_command(&binary_path("release").display().to_string()),
            &[],
        )?)
    } else {
        None
    };
    // Where the traced app's spans go: answered 200 and dropped, off the measured process.
    let sink = Receiver::start()?;
    let outcome = (|| {
        let mut apps = Vec::new();
        let mut urls = Vec::new();
        for target in targets {
            let base = match target.source {
                Source::App(app) => {
                    apps.push(TargetApp::start(app, placement, &[])?);
                    apps.last().map(|app| app.base.clone()).unwrap_or_default()
                }
                Source::TracedApp(app) => {
                    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", sink.base.as_str())];
                    apps.push(TargetApp::start(app, placement, &env)?);
                    apps.last().map(|app| app.base.clone()).unwrap_or_default()
                }
                Source::Server => server.as_ref().map(|s| s.base.clone()).unwrap_or_default(),
            };
            urls.push(format!("{base}{}", target.path));
        }
        for url in &urls {
            let warm_up = Load {
                url,
                script: &script,
                connections: connections[0],
                duration: WARM_UP,
                label: "warm-up",
            };
            wrk::run_on(&warm_up, placement)?;
        }
        let segment = duration / rounds.max(1);
        // segments[target][connection count]
        let mut segments = vec![vec![Vec::new(); connections.len()]; targets.len()];
        for round in 1..=rounds {
            for (at, &connections) in connections.iter().enumerate() {
                for (index, (target, url)) in targets.iter().zip(&urls).enumerate() {
                    let label = format!("{} {round}/{rounds}", target.name);
                    let load = Load {
                        url,
                        script: &script,
                        connections,
                        duration: segment,
                        label: &label,
                    };
                    segments[index][at].push(wrk::run_on(&load, placement)?);
                }
            }
        }
        drop(apps);
        Ok(targets
            .iter()
            .zip(segments)
            .map(|(target, runs)| CompareRow {
                name: target.name,
                runs: runs.iter().map(|segments| merge(segments)).collect(),
            })
            .collect())
    })();
    if let Some(server) = server.as_mut() {
        server.stop()?;
    }
    outcome
}

/// The comparison as markdown: requests/s and the ratio to the plain app at each
/// connection count, P99 at the highest, and errors.
pub(crate) fn table(rows: &[CompareRow]) -> String {
    let mut text = String::from("| target |");
    for connections in CONNECTIONS {
        let _ = write!(text, " c={connections} req/s |");
    }
    let _ = writeln!(text, " P99 at c={} | errors |", CONNECTIONS[CONNECTIONS.len() - 1]);
    text.push_str(&"|---".repeat(CONNECTIONS.len() + 3));
    text.push_str("|\n");
    let Some(baseline) = rows.first() else { return text };
    for row in rows {
        let _ = write!(text, "| {} |", row.name);
        for (run, base) in row.runs.iter().zip(&baseline.runs) {
            let ratio = run.requests_per_sec() / base.requests_per_sec().max(f64::MIN_POSITIVE);
            let _ = write!(text, " {:.0} ({ratio:.2}x) |", run.requests_per_sec());
        }
        let errors: u64 = row.runs.iter().map(|run| run.socket_errors() + run.non_2xx).sum();
        let p99 = row.runs.last().map_or(0.0, |run| run.p99_ms);
        let _ = writeln!(text, " {p99:.1} ms | {errors} |");
    }
    text
}

/// The comparison as JSON, for `--out`.
pub(crate) fn to_json(rows: &[CompareRow]) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            let runs: Vec<Value> = CONNECTIONS
                .iter()
                .zip(&row.runs)
                .map(|(connections, run)| json!({ "connections": connections, "wrk": run.to_json() }))
                .collect();
            json!({ "target": row.name, "runs": runs })
        })
        .collect();
    json!({ "mode": "compare", "targets": rows })
}

/// The errors any run saw, said in words.
pub(crate) fn errors(rows: &[CompareRow]) -> Vec<String> {
    rows.iter()
        .flat_map(|row| {
            CONNECTIONS.iter().zip(&row.runs).filter_map(move |(connections, run)| {
                run.errors_in_words()
                    .map(|errors| format!("{} at c={connections}: {errors}", row.name))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_at(requests: u64, p99_ms: f64) -> WrkResult {
        WrkResult { seconds: 1.0, requests, p99_ms, ..WrkResult::default() }
    }

    #[test]
    fn only_keeps_the_baseline_and_the_targets_named() {
        let names = |only: &[&str]| -> Vec<&str> {
            let only: Vec<String> = only.iter().map(|k| (*k).to_owned()).collect();
            chosen(&only).unwrap().iter().map(|t| t.key).collect()
        };
        assert_eq!(names(&["perfkit-traced"]), ["plain", "perfkit-traced"]);
        assert_eq!(names(&[]).len(), TARGETS.len());
        assert!(chosen(&["perfkit-melted".to_owned()]).is_err());
    }

    #[test]
    fn each_target_is_a_ratio_of_the_first() {
        let rows = vec![
            CompareRow { name: "plain", runs: vec![run_at(1000, 1.0), run_at(2000, 5.0)] },
            CompareRow { name: "ours", runs: vec![run_at(900, 1.5), run_at(1000, 9.0)] },
        ];
        let table = table(&rows);
        assert!(table.contains("| plain | 1000 (1.00x) | 2000 (1.00x) | 5.0 ms | 0 |"), "{table}");
        assert!(table.contains("| ours | 900 (0.90x) | 1000 (0.50x) | 9.0 ms | 0 |"), "{table}");
        assert!(errors(&rows).is_empty());
        let failing = vec![CompareRow {
            name: "x",
            runs: vec![WrkResult { timeouts: 2, ..run_at(10, 1.0) }, run_at(10, 1.0)],
        }];
        assert_eq!(errors(&failing).len(), 1);
        assert_eq!(to_json(&rows)["targets"][1]["runs"][1]["connections"], 1000);
    }
}
