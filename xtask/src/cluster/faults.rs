//! `cargo xtask cluster --faults`: a primary failed over under load. Two demo instances with
//! the near cache on are loaded by their own wrk; a third of the way in, one replica takes
//! over its primary (`CLUSTER FAILOVER`, the planned form a rolling upgrade uses). The run
//! passes when no request failed, every instance's near cache tracks again (its front
//! emptied where a channel was lost, `near.flushes`), and a delete made on one instance
//! reaches the other's front within the probe's bound afterwards.
//!
//! A primary killed outright is not here: fred 10.1's cluster client does not recover from
//! it (no command succeeds on the surviving primaries for 90 s; fred issues #208, #212), so
//! the demo would fail for a reason of its client, not of perfkit; see docs/RELIABILITY.md.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::nodes::{self, Cluster};
use super::{Options, Staleness, ms, probe_staleness, start_instances, wait_for_tracking};
use crate::loadtest::http;
use crate::loadtest::wrk::{self, Load, WrkResult};
use crate::server::Server;

/// How long after the load the staleness of a delete across instances is probed.
const PROBE_AFTER: Duration = Duration::from_secs(5);

/// What the failover did to the served load.
pub(super) struct FailoverRun {
    runs: Vec<WrkResult>,
    took: Duration,
    flushes: f64,
    tracking_again_after: Duration,
    staleness: Staleness,
}

/// Loads two instances, fails one primary over a third of the way in, then probes.
pub(super) fn failover_under_load(
    cluster: &Cluster,
    options: &Options,
    script: &Path,
) -> Result<FailoverRun> {
    let mut servers = start_instances(cluster, 2, true)?;
    for server in &servers {
        wait_for_tracking(&server.base)?;
    }
    let flushes_before = flushes(&servers)?;
    let duration = options.duration.max(Duration::from_secs(15));
    let outcome = std::thread::scope(|scope| -> Result<(Vec<WrkResult>, Duration)> {
        let loads: Vec<_> = servers
            .iter()
            .map(|server| {
                let base = server.base.clone();
                scope.spawn(move || {
                    wrk::run(&Load {
                        url: &format!("{base}/"),
                        script,
                        connections: options.connections,
                        duration,
                        label: "failover under load",
                    })
                })
            })
            .collect();
        std::thread::sleep(duration / 3);
        let took = fail_over_one_primary(cluster);
        let runs = loads
            .into_iter()
            .map(|load| load.join().map_err(|_| anyhow::anyhow!("a wrk thread panicked"))?)
            .collect::<Result<Vec<_>>>()?;
        Ok((runs, took?))
    });
    let tracking = Instant::now();
    let result = outcome.and_then(|(runs, took)| {
        for server in &servers {
            wait_for_tracking(&server.base)?;
        }
        let tracking_again_after = tracking.elapsed();
        let staleness = probe_staleness(&servers[0].base, &servers[1].base, PROBE_AFTER)?;
        let flushes = flushes(&servers)? - flushes_before;
        Ok(FailoverRun { runs, took, flushes, tracking_again_after, staleness })
    });
    for server in &mut servers {
        server.stop()?;
    }
    result
}

/// `CLUSTER FAILOVER` on the first replica `CLUSTER NODES` lists; how long until it
/// answers `ROLE` as a primary.
fn fail_over_one_primary(cluster: &Cluster) -> Result<Duration> {
    let first = cluster.nodes.first().context("a cluster without nodes")?;
    let listed = nodes::cli(first.server.port(), &["CLUSTER", "NODES"])?;
    let announced = listed
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(2)?.split(',').any(|flag| flag == "slave").then_some(())?;
            fields.get(1)?.split('@').next()?.rsplit(':').next()?.parse::<u16>().ok()
        })
        .context("CLUSTER NODES lists no replica")?;
    let replica = cluster
        .nodes
        .iter()
        .find(|node| node.proxy.port == announced)
        .context("the replica CLUSTER NODES names is not one of the rig's")?;
    let port = replica.server.port();
    let started = Instant::now();
    nodes::cli(port, &["CLUSTER", "FAILOVER"])?;
    while started.elapsed() < Duration::from_secs(30) {
        if nodes::cli(port, &["ROLE"])?.starts_with("master") {
            let took = started.elapsed();
            println!("replica on {announced} took over its primary in {:.0} ms", ms(took));
            return Ok(took);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("the replica on {announced} did not take over within 30 s")
}

/// Times the instances' near caches were emptied, summed.
fn flushes(servers: &[Server]) -> Result<f64> {
    let mut total = 0.0;
    for server in servers {
        let stats = http::get_json(&server.base, "/api/performance/cache/stats")?;
        total += stats["near"]["flushes"].as_f64().unwrap_or(0.0);
    }
    Ok(total)
}

impl FailoverRun {
    /// Failed requests of the run, in words; none when it passed.
    pub(super) fn errors(&self) -> Vec<String> {
        self.runs.iter().filter_map(WrkResult::errors_in_words).collect()
    }

    /// The run as a table, with what it shows.
    pub(super) fn table(&self, options: &Options) -> String {
        let requests: u64 = self.runs.iter().map(|run| run.requests).sum();
        let failed: u64 = self.runs.iter().map(|run| run.non_2xx).sum();
        let socket: u64 = self.runs.iter().map(WrkResult::socket_errors).sum();
        let p99 = self.runs.iter().map(|run| run.p99_ms).fold(0.0, f64::max);
        let s = &self.staleness;
        format!(
            "Two `perfkit-server --demo` instances, near cache on, {} wrk connections each for \
             {} s; every path to Redis delayed {:.2} ms each way. A third of the way in, a \
             replica takes over its primary (`CLUSTER FAILOVER`).\n\n\
             | fault | requests | answers ≥ 400 | socket errors | P99 (worst instance) | \
             replica primary after | every front tracking | front flushes | staleness A→B after (worst, median, probes) |\n\
             |---|---|---|---|---|---|---|---|---|\n\
             | a primary failed over under load | {requests} | {failed} | {socket} | {p99:.1} ms \
             | {:.0} ms | yes, {:.1} s after the load | {} | {:.1} ms, {:.1} ms, {} |\n",
            options.connections,
            options.duration.max(Duration::from_secs(15)).as_secs(),
            options.delay.as_secs_f64() * 1_000.0,
            ms(self.took),
            self.tracking_again_after.as_secs_f64(),
            self.flushes,
            ms(s.worst),
            ms(s.median),
            s.probes,
        )
    }
}
