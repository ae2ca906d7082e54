//! `--compare`: perfkit beside what a user would otherwise run, under the same load in the
//! same run. Cheap JSON answers (plain axum's 16-byte handler; the same app with perfkit's
//! router and `RequestMetricsLayer`, with the layer's tracing at 1 % exporting over OTLP/HTTP
//! to a sink that answers 200 as a collector would, with `axum-prometheus`;
//! perfkit-server's `/health/live` and `/summary`) against the plain handler, and the demo
//! (memory cache; Redis with the near cache) against plain axum serving pages of the same
//! size on the same routes from a map. At c=100 and c=1000, the targets taken in turn in
//! each round; beside throughput, the server's CPU time (user + system, `/proc/PID/stat`)
//! per completed request, which a busy shared machine moves far less than throughput.
//! `--only KEY,...` loads some of them with their baselines.

mod processes;
mod table;
mod targets;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use super::merge::merge;
use super::options::Options;
use super::placement::Placement;
use super::process::CpuReading;
use super::wrk::{self, Load, WrkResult};
use super::{WARM_UP, demo_script, fixed_script};
use processes::Processes;
pub(crate) use table::{errors, table, to_json};
pub(crate) use targets::TARGETS;
use targets::{Script, Target, chosen};

/// The connection counts each target is loaded at.
pub(crate) const CONNECTIONS: [u32; 2] = [100, 1000];

/// One target's figures, one entry per connection count asked for.
pub(crate) struct CompareRow {
    pub(crate) target: Target,
    pub(crate) runs: Vec<WrkResult>,
    /// CPU seconds the serving process used over each run's segments.
    pub(crate) cpu_seconds: Vec<f64>,
}

impl CompareRow {
    pub(crate) fn name(&self) -> &'static str {
        self.target.name
    }

    /// Microseconds of server CPU per request completed at the `at`th connection count.
    pub(crate) fn cpu_us_per_request(&self, at: usize) -> Option<f64> {
        let run = self.runs.get(at).filter(|run| run.requests > 0)?;
        Some(self.cpu_seconds.get(at)? * 1e6 / run.requests as f64)
    }

    /// The row this one's ratios are to, among `rows`.
    pub(crate) fn baseline<'a>(&self, rows: &'a [CompareRow]) -> Option<&'a CompareRow> {
        rows.iter().find(|row| row.target.key == self.target.baseline)
    }
}

/// Loads every target chosen in turn at [`CONNECTIONS`], everything sharing the machine's
/// cores.
pub(crate) fn run(options: &Options) -> Result<Vec<CompareRow>> {
    let targets = chosen(&options.only)?;
    load_chosen(&targets, &CONNECTIONS, options.duration, options.rounds, &Placement::shared())
}

/// Loads every target at each of `connections` for `duration` in all, the target and wrk
/// where `placement` puts them.
pub(crate) fn load_targets(
    connections: &[u32],
    duration: Duration,
    rounds: u32,
    placement: &Placement,
) -> Result<Vec<CompareRow>> {
    load_chosen(&TARGETS, connections, duration, rounds, placement)
}

/// Where one target is loaded: its URL, the process whose CPU is read, the script.
struct Loaded {
    url: String,
    pid: u32,
    script: PathBuf,
}

/// Every target is started and warmed up first; then each round loads every target in turn
/// for its share of `duration`, so a slow patch of a shared machine falls on all of them,
/// and each target's rounds are merged (see `merge`).
fn load_chosen(
    targets: &[Target],
    connections: &[u32],
    duration: Duration,
    rounds: u32,
    placement: &Placement,
) -> Result<Vec<CompareRow>> {
    let (fixed, demo) = (fixed_script()?, demo_script()?);
    let mut processes = Processes::new(placement, connections[0], &demo)?;
    let outcome = (|| -> Result<Vec<CompareRow>> {
        let mut loaded = Vec::new();
        for target in targets {
            let (base, pid) = processes.serve(target)?;
            let script = match target.script {
                Script::Fixed => fixed.clone(),
                Script::DemoPages => demo.clone(),
            };
            loaded.push(Loaded { url: format!("{base}{}", target.path), pid, script });
        }
        for target in &loaded {
            let warm_up = Load {
                url: &target.url,
                script: &target.script,
                connections: connections[0],
                duration: WARM_UP,
                label: "warm-up",
            };
            wrk::run_on(&warm_up, placement)?;
        }
        let segment = duration / rounds.max(1);
        // segments[target][connection count], and the CPU seconds of each.
        let mut segments = vec![vec![Vec::new(); connections.len()]; targets.len()];
        let mut cpu = vec![vec![0.0; connections.len()]; targets.len()];
        for round in 1..=rounds {
            for (at, &connections) in connections.iter().enumerate() {
                for (index, (target, served)) in targets.iter().zip(&loaded).enumerate() {
                    let label = format!("{} {round}/{rounds}", target.name);
                    let load = Load {
                        url: &served.url,
                        script: &served.script,
                        connections,
                        duration: segment,
                        label: &label,
                    };
                    let before = CpuReading::now(served.pid)?;
                    segments[index][at].push(wrk::run_on(&load, placement)?);
                    cpu[index][at] += before.busy_since(&CpuReading::now(served.pid)?).0;
                }
            }
        }
        Ok(targets
            .iter()
            .zip(segments.iter().zip(cpu))
            .map(|(target, (runs, cpu_seconds))| CompareRow {
                target: *target,
                runs: runs.iter().map(|segments| merge(segments)).collect(),
                cpu_seconds,
            })
            .collect())
    })();
    let stopped = processes.stop();
    let rows = outcome?;
    stopped?;
    Ok(rows)
}
