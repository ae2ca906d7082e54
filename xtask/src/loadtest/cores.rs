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

/// One row per core count, one column per target: requests/s, the ratio to the plain app
/// on the same cores, and P99.
pub(crate) fn table(rows: &[CoresRow], connections: u32) -> String {
    let mut text = String::from("| server cores |");
    let names = rows.first().map(|row| row.targets.as_slice()).unwrap_or_default();
    for target in names {
        let _ = write!(text, " {} |", target.name);
    }
    text.push('\n');
    text.push_str(&"|---".repeat(names.len() + 1));
    text.push_str("|\n");
    for row in rows {
        let _ = write!(text, "| {} |", row.cores);
        let baseline = row.targets.first().and_then(|target| target.runs.first());
        for run in row.targets.iter().filter_map(|target| target.runs.first()) {
            let base = baseline.map_or(f64::MIN_POSITIVE, |base| base.requests_per_sec());
            let ratio = run.requests_per_sec() / base.max(f64::MIN_POSITIVE);
            let _ = write!(
                text,
                " {:.0} ({ratio:.2}x), P99 {:.1} ms |",
                run.requests_per_sec(),
                run.p99_ms
            );
        }
        text.push('\n');
    }
    let _ =
        write!(text, "\n{connections} connections; ratios are to plain axum on the same cores.");
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
                    json!({ "target": target.name, "wrk": run })
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
                Some(format!("{} on {} core(s): {errors}", target.name, row.cores))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadtest::wrk::WrkResult;

    fn target(name: &'static str, requests: u64) -> CompareRow {
        CompareRow {
            name,
            runs: vec![WrkResult { seconds: 1.0, requests, p99_ms: 2.0, ..WrkResult::default() }],
        }
    }

    #[test]
    fn each_cell_is_a_ratio_of_plain_on_the_same_cores() {
        let rows = vec![
            CoresRow { cores: 1, targets: vec![target("plain", 1000), target("ours", 900)] },
            CoresRow { cores: 2, targets: vec![target("plain", 2000), target("ours", 1000)] },
        ];
        let table = table(&rows, 256);
        assert!(table.starts_with("| server cores | plain | ours |\n|---|---|---|\n"), "{table}");
        assert!(table.contains("| 1 | 1000 (1.00x), P99 2.0 ms | 900 (0.90x), P99 2.0 ms |"));
        assert!(table.contains("| 2 | 2000 (1.00x), P99 2.0 ms | 1000 (0.50x), P99 2.0 ms |"));
        assert!(errors(&rows).is_empty());
        assert_eq!(to_json(&rows, 256)["rows"][1]["server_cores"], 2);
    }
}
