//! `cargo xtask cluster --faults`: a primary failed over, then one killed, under load. Two
//! demo instances with the near cache on are loaded by their own wrk; a third of the way in,
//! one replica takes over its primary (`CLUSTER FAILOVER`, the planned form a rolling
//! upgrade uses), or a primary is killed (SIGKILL) and the cluster promotes its replica
//! after the node timeout. A fault passes when no request failed, every instance's near
//! cache tracks again (its front emptied where a channel was lost, `near.flushes`), and a
//! delete made on one instance reaches the other's front within the probe's bound
//! afterwards.

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

/// The faults, in the order they are run on one cluster.
#[derive(Debug, Clone, Copy)]
pub(super) enum Fault {
    /// `CLUSTER FAILOVER` on a replica.
    Failover,
    /// SIGKILL to a primary; the cluster promotes its replica.
    Kill,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Failover => "a primary failed over under load (`CLUSTER FAILOVER`)",
            Fault::Kill => "a primary killed under load (SIGKILL; its replica promoted)",
        }
    }
}

/// What a fault did to the served load.
pub(super) struct FaultRun {
    fault: Fault,
    runs: Vec<WrkResult>,
    took: Duration,
    flushes: f64,
    /// `None` when an instance's front did not track again within 30 s of the load's end.
    tracking_again_after: Option<Duration>,
    /// `None` without tracking.
    staleness: Option<Staleness>,
}

/// Loads two instances, brings `fault` a third of the way in, then probes.
pub(super) fn under_load(
    cluster: &mut Cluster,
    fault: Fault,
    options: &Options,
    script: &Path,
) -> Result<FaultRun> {
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
        let took = match fault {
            Fault::Failover => fail_over_one_primary(cluster),
            Fault::Kill => kill_one_primary(cluster),
        };
        let runs = loads
            .into_iter()
            .map(|load| load.join().map_err(|_| anyhow::anyhow!("a wrk thread panicked"))?)
            .collect::<Result<Vec<_>>>()?;
        Ok((runs, took?))
    });
    let tracking = Instant::now();
    let result = outcome.and_then(|(runs, took)| {
        let tracking_again = servers.iter().all(|server| wait_for_tracking(&server.base).is_ok());
        let tracking_again_after = tracking_again.then(|| tracking.elapsed());
        let staleness = tracking_again
            .then(|| probe_staleness(&servers[0].base, &servers[1].base, PROBE_AFTER))
            .transpose()?;
        let flushes = flushes(&servers)? - flushes_before;
        Ok(FaultRun { fault, runs, took, flushes, tracking_again_after, staleness })
    });
    for server in &mut servers {
        server.stop()?;
    }
    result
}

/// A replica and its primary, by index into the rig's nodes, from `CLUSTER NODES` (which
/// names nodes by their announced, proxied, ports).
fn replica_and_primary(cluster: &Cluster) -> Result<(usize, usize)> {
    let first = cluster.nodes.first().context("a cluster without nodes")?;
    let listed = nodes::cli(first.server.port(), &["CLUSTER", "NODES"])?;
    // id, announced port, flags, the primary's id ("-" for a primary).
    let nodes: Vec<(&str, u16, &str, &str)> = listed
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = fields.get(1)?.split('@').next()?.rsplit(':').next()?.parse().ok()?;
            Some((*fields.first()?, port, *fields.get(2)?, *fields.get(3)?))
        })
        .collect();
    let alive = |flags: &str| !flags.split(',').any(|flag| flag == "fail" || flag == "fail?");
    let index_of = |port: u16| cluster.nodes.iter().position(|node| node.proxy.port == port);
    nodes
        .iter()
        .filter(|(_, _, flags, _)| flags.split(',').any(|flag| flag == "slave") && alive(flags))
        .find_map(|(_, port, _, primary_id)| {
            let (_, primary_port, flags, _) = nodes.iter().find(|(id, ..)| id == primary_id)?;
            alive(flags).then_some(())?;
            Some((index_of(*port)?, index_of(*primary_port)?))
        })
        .context("CLUSTER NODES lists no live replica of a live primary")
}

/// `CLUSTER FAILOVER` on a replica; how long until it answers `ROLE` as a primary.
fn fail_over_one_primary(cluster: &mut Cluster) -> Result<Duration> {
    let (replica, _) = replica_and_primary(cluster)?;
    let port = cluster.nodes[replica].server.port();
    let started = Instant::now();
    nodes::cli(port, &["CLUSTER", "FAILOVER"])?;
    promoted(port, started)
}

/// SIGKILL to a primary that has a replica; how long until the replica is promoted.
fn kill_one_primary(cluster: &mut Cluster) -> Result<Duration> {
    let (replica, primary) = replica_and_primary(cluster)?;
    let port = cluster.nodes[replica].server.port();
    let started = Instant::now();
    cluster.nodes[primary].server.stop().context("cannot kill the primary")?;
    promoted(port, started)
}

/// Waits until the node on `port` answers `ROLE` as a primary.
fn promoted(port: u16, started: Instant) -> Result<Duration> {
    while started.elapsed() < Duration::from_secs(30) {
        if nodes::cli(port, &["ROLE"])?.starts_with("master") {
            let took = started.elapsed();
            println!("the replica on {port} was primary after {:.0} ms", ms(took));
            return Ok(took);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("the replica on {port} was not primary within 30 s")
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

impl FaultRun {
    /// What went wrong in the run, in words; none when it passed.
    pub(super) fn errors(&self) -> Vec<String> {
        let mut errors: Vec<String> = self
            .runs
            .iter()
            .filter_map(WrkResult::errors_in_words)
            .map(|errors| format!("{}: {errors}", self.fault.name()))
            .collect();
        if self.tracking_again_after.is_none() {
            errors.push(format!("{}: a near cache did not track again", self.fault.name()));
        }
        errors
    }
}

/// The runs as a table.
pub(super) fn table(runs: &[FaultRun], options: &Options) -> String {
    let mut text = format!(
        "Two `perfkit-server --demo` instances, near cache on, {} wrk connections each for {} s; \
         every path to Redis delayed {:.2} ms each way; the fault a third of the way in.\n\n\
         | fault | requests | answers ≥ 400 | socket errors | P99 (worst instance) | replica \
         primary after | every front tracking | front flushes | staleness A→B after (worst, \
         median, probes) |\n|---|---|---|---|---|---|---|---|---|\n",
        options.connections,
        options.duration.max(Duration::from_secs(15)).as_secs(),
        options.delay.as_secs_f64() * 1_000.0,
    );
    for run in runs {
        let requests: u64 = run.runs.iter().map(|run| run.requests).sum();
        let failed: u64 = run.runs.iter().map(|run| run.non_2xx).sum();
        let socket: u64 = run.runs.iter().map(WrkResult::socket_errors).sum();
        let p99 = run.runs.iter().map(|run| run.p99_ms).fold(0.0, f64::max);
        let tracking = run.tracking_again_after.map_or_else(
            || "**no**, 30 s after the load".to_owned(),
            |after| format!("yes, {:.1} s after the load", after.as_secs_f64()),
        );
        let staleness = run.staleness.as_ref().map_or_else(
            || "—".to_owned(),
            |s| format!("{:.1} ms, {:.1} ms, {}", ms(s.worst), ms(s.median), s.probes),
        );
        text.push_str(&format!(
            "| {} | {requests} | {failed} | {socket} | {p99:.1} ms | {:.0} ms | {tracking} | {} | \
             {staleness} |\n",
            run.fault.name(),
            ms(run.took),
            run.flushes,
        ));
    }
    text
}
