//! `--cores 1,2,4,8`: how the comparison scales with cores, for a large machine. For each
//! count N the targets of `--compare` run on the first N CPUs (`taskset`) while wrk runs on
//! CPUs of its own at the machine's end, so a target's throughput is what N cores give it.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::compare::{self, CompareRow};
use super::options::Options;
use super::placement::Placement;
use super::process;

/// wrk's share of the machine: enough threads to saturate an 8-core server.
const MAX_LOAD_CORES: usize = 8;

/// The comparison at one core count.
pub(crate) struct CoresRow {
    cores: usize,
    targets: Vec<CompareRow>,
}

/// Runs the comparison at each core count of `options.cores`.
pub(crate) fn run(options: &Options) -> Result<Vec<CoresRow>> {
    let machine_cores = process::cores();
    let most = options.cores.iter().copied().max().unwrap_or(1);
    let load_cores = machine_cores.saturating_sub(most).min(MAX_LOAD_CORES);
    if load_cores < 2 {
        bail!(
            "--cores up to {most} needs at least {} cores (2 or more left for wrk); this \
             machine has {machine_cores}",
            most + 2
        );
    }
    options
        .cores
        .iter()
        .map(|&cores| {
            let placement = Placement::split(cores, load_cores, machine_cores);
            println!(
                "{cores} server core(s): server on CPUs {}, wrk on CPUs {}",
                placement.server_cpus.as_deref().unwrap_or("any"),
                placement.load_cpus.as_deref().unwrap_or("any")
            );
            let targets = compare::load_targets(
                &[options.connections],
                options.duration,
                options.rounds,
                &placement,
            )?;
            Ok(CoresRow { cores, targets })
        })
        .collect()
}

/// One row per core count, one column per target: requests/s and server CPU per request,
/// each as a ratio to the target's baseline on the same cores, and P99.
pub(crate) fn table(rows: &[CoresRow], connections: u32) -> String {
    let mut text = String::from("| server cores |");
    let names = rows.first().map(|row| row.targets.as_slice()).unwrap_or_default();
    for target in names {
        let _ = write!(text, " {} (against {}) |", target.name(), target.target.baseline);
    }
    text.push('\n');
    text.push_str(&"|---".repeat(names.len() + 1));
    text.push_str("|\n");
    for row in rows {
        let _ = write!(text, "| {} |", row.cores);
        for target in &row.targets {
            let Some(run) = target.runs.first() else { continue };
            let baseline = target.baseline(&row.targets);
            let ratio = |own: Option<f64>, base: Option<f64>| match (own, base) {
                (Some(own), Some(base)) if base > 0.0 => format!("{:.2}x", own / base),
                _ => "—".to_owned(),
            };
            let rate = ratio(
                Some(run.requests_per_sec()),
                baseline.and_then(|b| b.runs.first()).map(|b| b.requests_per_sec()),
            );
            let cpu =
                ratio(target.cpu_us_per_request(0), baseline.and_then(|b| b.cpu_us_per_request(0)));
            let _ = write!(
                text,
                " {:.0} ({rate}), {:.1} µs CPU ({cpu}), P99 {:.1} ms |",
                run.requests_per_sec(),
                target.cpu_us_per_request(0).unwrap_or(0.0),
                run.p99_ms
            );
        }
        text.push('\n');
    }
    let _ = write!(
        text,
        "\n{connections} connections; ratios are to each target's baseline on the same cores \
         (`plain`: plain axum's JSON handler; `pages`: plain axum serving the demo's pages \
         from a map); CPU is the server's user + system time per completed request."
    );
    text
}

/// The runs as JSON, for `--out`.
pub(crate) fn to_json(rows: &[CoresRow], connections: u32) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            let targets: Vec<Value> = row
                .targets
                .iter()
                .map(|target| {
                    let run = target.runs.first().map(super::wrk::WrkResult::to_json);
                    json!({
                        "target": target.name(),
                        "wrk": run,
                        "server_cpu_us_per_request": target.cpu_us_per_request(0),
                    })
                })
                .collect();
            json!({ "server_cores": row.cores, "targets": targets })
        })
        .collect();
    json!({ "mode": "cores", "connections": connections, "rows": rows })
}

/// The errors any run saw, said in words.
pub(crate) fn errors(rows: &[CoresRow]) -> Vec<String> {
    rows.iter()
        .flat_map(|row| {
            row.targets.iter().filter_map(move |target| {
                let errors = target.runs.first()?.errors_in_words()?;
                Some(format!("{} on {} core(s): {errors}", target.name(), row.cores))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadtest::wrk::WrkResult;

    fn target(key: &str, requests: u64, cpu_seconds: f64) -> CompareRow {
        let target = *super::super::compare::TARGETS.iter().find(|t| t.key == key).unwrap();
        CompareRow {
            target,
            runs: vec![WrkResult { seconds: 1.0, requests, p99_ms: 2.0, ..WrkResult::default() }],
            cpu_seconds: vec![cpu_seconds],
        }
    }

    #[test]
    fn each_cell_is_a_ratio_of_its_baseline_on_the_same_cores() {
        let rows = vec![
            CoresRow {
                cores: 1,
                targets: vec![target("plain", 1000, 0.01), target("perfkit", 900, 0.0099)],
            },
            CoresRow {
                cores: 2,
                targets: vec![target("plain", 2000, 0.02), target("perfkit", 1000, 0.0121)],
            },
        ];
        let table = table(&rows, 256);
        assert!(
            table.starts_with(
                "| server cores | plain axum JSON handler (16 bytes) (against plain) |"
            ),
            "{table}"
        );
        assert!(table.contains("| 1 | 1000 (1.00x), 10.0 µs CPU (1.00x), P99 2.0 ms | 900 (0.90x), 11.0 µs CPU (1.10x), P99 2.0 ms |"), "{table}");
        assert!(table.contains("| 2 | 2000 (1.00x), 10.0 µs CPU (1.00x), P99 2.0 ms | 1000 (0.50x), 12.1 µs CPU (1.21x), P99 2.0 ms |"), "{table}");
        assert!(errors(&rows).is_empty());
        assert_eq!(to_json(&rows, 256)["rows"][1]["server_cores"], 2);
    }
}
