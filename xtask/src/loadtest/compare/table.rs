//! The comparison written out: a markdown table (throughput and server CPU per request, each
//! as a ratio to the row's baseline measured in the same run, P99, errors, and the issue's
//! goal met or missed by how much), the same as JSON for `--out`, and the errors in words.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::targets::Goal;
use super::{CONNECTIONS, CompareRow};

/// The table, with the baselines named under it.
pub(crate) fn table(rows: &[CompareRow]) -> String {
    let mut text = String::from("| target | against |");
    for connections in CONNECTIONS {
        let _ = write!(text, " c={connections} req/s |");
    }
    for connections in CONNECTIONS {
        let _ = write!(text, " CPU per request, c={connections} |");
    }
    let _ = writeln!(text, " P99 at c={} | errors | goal |", CONNECTIONS[CONNECTIONS.len() - 1]);
    text.push_str(&"|---".repeat(2 * CONNECTIONS.len() + 5));
    text.push_str("|\n");
    for row in rows {
        let baseline = row.baseline(rows);
        let _ = write!(text, "| {} | {} |", row.name(), row.target.baseline);
        for (at, ratio) in throughput_ratios(row, baseline).iter().enumerate() {
            let rate = row.runs.get(at).map_or(0.0, |run| run.requests_per_sec());
            let _ = write!(text, " {rate:.0} ({}) |", in_words(*ratio));
        }
        for (at, ratio) in cpu_ratios(row, baseline).iter().enumerate() {
            match row.cpu_us_per_request(at) {
                Some(us) => {
                    let _ = write!(text, " {us:.1} µs ({}) |", in_words(*ratio));
                }
                None => text.push_str(" — |"),
            }
        }
        let p99 = row.runs.last().map_or(0.0, |run| run.p99_ms);
        let _ =
            writeln!(text, " {p99:.1} ms | {} | {} |", error_count(row), verdict(row, baseline));
    }
    let _ = write!(
        text,
        "\nRatios are to the row named under \"against\", measured in the same rounds: `plain` \
         is plain axum's JSON handler, `pages` plain axum on the demo's two read routes \
         (query and path read as the demo reads them) answering from a map of pages of the \
         demo's mean size. CPU per request is the serving process's user + system time over \
         the requests wrk completed; the demo's Redis spends its own, not counted."
    );
    text
}

fn in_words(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "—".to_owned(), |ratio| format!("{ratio:.2}x"))
}

fn throughput_ratios(row: &CompareRow, baseline: Option<&CompareRow>) -> Vec<Option<f64>> {
    (0..row.runs.len())
        .map(|at| {
            let base = baseline?.runs.get(at)?.requests_per_sec();
            (base > 0.0).then(|| row.runs[at].requests_per_sec() / base)
        })
        .collect()
}

fn cpu_ratios(row: &CompareRow, baseline: Option<&CompareRow>) -> Vec<Option<f64>> {
    (0..row.runs.len())
        .map(|at| {
            let (own, base) = (row.cpu_us_per_request(at)?, baseline?.cpu_us_per_request(at)?);
            (base > 0.0).then(|| own / base)
        })
        .collect()
}

fn error_count(row: &CompareRow) -> u64 {
    row.runs.iter().map(|run| run.socket_errors() + run.non_2xx).sum()
}

/// The goal and whether every connection count met it, else by how much the worst missed.
fn verdict(row: &CompareRow, baseline: Option<&CompareRow>) -> String {
    let Some(goal) = row.target.goal else { return String::new() };
    // How far past the limit each ratio is, on the wrong side; positive means missed.
    let (name, limit, ratios, sign) = match goal {
        Goal::CpuAtMost(limit) => ("CPU ≤", limit, cpu_ratios(row, baseline), 1.0),
        Goal::ThroughputAtLeast(limit) => {
            ("throughput ≥", limit, throughput_ratios(row, baseline), -1.0)
        }
    };
    let mut worst: Option<(u32, f64)> = None;
    for (connections, ratio) in CONNECTIONS.iter().zip(&ratios) {
        let Some(ratio) = *ratio else { return format!("{name} {limit:.2}x: not measured") };
        let excess = sign * (ratio - limit);
        if excess > 0.0 && worst.is_none_or(|(_, seen)| excess > seen) {
            worst = Some((*connections, excess));
        }
    }
    match worst {
        None => format!("{name} {limit:.2}x: met"),
        Some((connections, excess)) => {
            format!("{name} {limit:.2}x: **missed** by {excess:.2}x at c={connections}")
        }
    }
}

/// The comparison as JSON, for `--out`.
pub(crate) fn to_json(rows: &[CompareRow]) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            let runs: Vec<Value> = CONNECTIONS
                .iter()
                .zip(&row.runs)
                .enumerate()
                .map(|(at, (connections, run))| {
                    json!({
                        "connections": connections,
                        "wrk": run.to_json(),
                        "server_cpu_seconds": row.cpu_seconds.get(at),
                        "server_cpu_us_per_request": row.cpu_us_per_request(at),
                    })
                })
                .collect();
            json!({
                "target": row.name(),
                "key": row.target.key,
                "against": row.target.baseline,
                "goal": verdict(row, row.baseline(rows)),
                "runs": runs,
            })
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
                    .map(|errors| format!("{} at c={connections}: {errors}", row.name()))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::targets::TARGETS;
    use super::*;
    use crate::loadtest::wrk::WrkResult;

    fn run_at(requests: u64, p99_ms: f64) -> WrkResult {
        WrkResult { seconds: 1.0, requests, p99_ms, ..WrkResult::default() }
    }

    fn row(key: &str, runs: Vec<WrkResult>, cpu_seconds: Vec<f64>) -> CompareRow {
        let target = *TARGETS.iter().find(|t| t.key == key).unwrap();
        CompareRow { target, runs, cpu_seconds }
    }

    #[test]
    fn each_row_is_a_ratio_of_its_own_baseline_and_says_its_goal() {
        let rows = vec![
            // 10 µs per request at both counts.
            row("plain", vec![run_at(1000, 1.0), run_at(2000, 5.0)], vec![0.01, 0.02]),
            // 20 µs: pages are dearer than 16 bytes.
            row("pages", vec![run_at(500, 2.0), run_at(1000, 6.0)], vec![0.01, 0.02]),
            // 10.4 µs and 10.0 µs: within 1.05x of plain.
            row("perfkit", vec![run_at(900, 1.5), run_at(1000, 9.0)], vec![0.00936, 0.01]),
            // 26 µs and 22 µs against pages' 20: 1.30x and 1.10x.
            row("demo-memory", vec![run_at(500, 3.0), run_at(1000, 8.0)], vec![0.013, 0.022]),
        ];
        let table = table(&rows);
        assert!(
            table.contains("| plain axum JSON handler (16 bytes) | plain | 1000 (1.00x) | 2000 (1.00x) | 10.0 µs (1.00x) | 10.0 µs (1.00x) | 5.0 ms | 0 |  |"),
            "{table}"
        );
        assert!(table.contains("| 900 (0.90x) | 1000 (0.50x) | 10.4 µs (1.04x) | 10.0 µs (1.00x) | 9.0 ms | 0 | CPU ≤ 1.05x: met |"), "{table}");
        assert!(
            table.contains("| pages | 500 (1.00x) | 1000 (1.00x) | 26.0 µs (1.30x) | 22.0 µs (1.10x) | 8.0 ms | 0 | CPU ≤ 1.15x: **missed** by 0.15x at c=100 |"),
            "{table}"
        );
        assert!(errors(&rows).is_empty());
        let json = to_json(&rows);
        assert_eq!(json["targets"][1]["runs"][1]["connections"], 1000);
        assert_eq!(json["targets"][3]["against"], "pages");
        assert!(
            (json["targets"][0]["runs"][0]["server_cpu_us_per_request"].as_f64().unwrap() - 10.0)
                .abs()
                < 1e-9
        );
    }

    #[test]
    fn a_throughput_goal_and_a_row_without_figures() {
        let rows = vec![
            row("plain", vec![run_at(1000, 1.0), run_at(1000, 1.0)], vec![0.01, 0.01]),
            row("perfkit-traced", vec![run_at(850, 1.0), run_at(950, 1.0)], vec![0.01, 0.01]),
            row("server-live", vec![run_at(0, 0.0), run_at(0, 0.0)], vec![0.0, 0.0]),
        ];
        let table = table(&rows);
        assert!(table.contains("throughput ≥ 0.90x: **missed** by 0.05x at c=100"), "{table}");
        assert!(
            table.contains("| — | — |") && table.contains("CPU ≤ 1.15x: not measured"),
            "{table}"
        );
        let failing = vec![row(
            "plain",
            vec![WrkResult { timeouts: 2, ..run_at(10, 1.0) }, run_at(10, 1.0)],
            vec![0.0, 0.0],
        )];
        assert_eq!(errors(&failing).len(), 1);
    }
}
