//! `--near`: the demo three times in one run, so the figures share a machine state: on the
//! in-memory cache, on Redis with the near cache turned off (`--no-near-cache`), and on
//! Redis with it (the server's default). The near cache's target: at least 0.8x the
//! memory demo's throughput.

use std::fmt::Write as _;

use anyhow::Result;
use serde_json::{Value, json};

use super::guide_workload::{WorkloadResult, run_demo};
use super::options::Options;

/// The near cache's throughput target, as a share of the memory demo's.
const TARGET: f64 = 0.8;

/// The three runs.
pub(crate) struct NearResult {
    runs: Vec<(&'static str, WorkloadResult)>,
}

pub(crate) fn run(options: &Options) -> Result<NearResult> {
    let runs = vec![
        ("memory", run_demo(options, false, &[], "memory")?),
        ("redis, no near cache", run_demo(options, true, &["--no-near-cache"], "redis")?),
        ("redis + near cache", run_demo(options, true, &[], "redis+near")?),
    ];
    Ok(NearResult { runs })
}

impl NearResult {
    fn memory_throughput(&self) -> f64 {
        self.runs.first().map_or(0.0, |(_, run)| run.wrk.requests_per_sec())
    }

    /// The near cache's throughput over the memory demo's.
    fn near_ratio(&self) -> f64 {
        let near = self.runs.last().map_or(0.0, |(_, run)| run.wrk.requests_per_sec());
        near / self.memory_throughput().max(f64::MIN_POSITIVE)
    }

    pub(crate) fn table(&self) -> String {
        let mut text = "| cache | throughput | vs memory | P50 | P99 | hit rate |\n\
                        |---|---|---|---|---|---|\n"
            .to_owned();
        for (name, run) in &self.runs {
            let w = &run.wrk;
            let _ = writeln!(
                text,
                "| {name} | {:.0} req/s | {:.2}x | {:.2} ms | {:.2} ms | {} |",
                w.requests_per_sec(),
                w.requests_per_sec() / self.memory_throughput().max(f64::MIN_POSITIVE),
                w.p50_ms,
                w.p99_ms,
                run.hit_rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1} %", r * 100.0)),
            );
        }
        let ratio = self.near_ratio();
        let verdict = if ratio >= TARGET { "met" } else { "missed" };
        let _ = writeln!(
            text,
            "\nnear cache: {ratio:.2}x the memory demo (target >= {TARGET}x): {verdict}"
        );
        text
    }

    pub(crate) fn to_json(&self) -> Value {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|(name, run)| json!({ "cache": name, "run": run.to_json() }))
            .collect();
        json!({ "mode": "near", "runs": runs, "near_over_memory": self.near_ratio(), "target": TARGET })
    }

    /// Errors under load in any run, and a missed target.
    pub(crate) fn errors(&self) -> Vec<String> {
        let mut errors: Vec<String> = self
            .runs
            .iter()
            .filter_map(|(_, run)| run.check().err())
            .map(|e| e.to_string())
            .collect();
        if self.near_ratio() < TARGET {
            errors.push(format!(
                "the near cache served {:.2}x the memory demo's throughput (target >= {TARGET}x)",
                self.near_ratio()
            ));
        }
        errors
    }
}
