//! `cargo xtask cluster`: perfkit-server instances on a Redis Cluster a network hop away.
//!
//! Three primaries and three replicas, each behind a TCP proxy that delays every byte by
//! `--delay-ms` each way (this kernel has no `tc netem`), announcing the proxy's port so
//! that redirects cross the delay too; 1, 2, 3 (`--instances`) `perfkit-server --demo`
//! processes on it, with the near cache on and off, each loaded by its own wrk with the
//! demo's Zipf workload. For each shape: throughput and P95, the hit rate, Redis commands
//! per served request, and the staleness window of a writer/reader pair across instances
//! (instance A deletes a page's key, instance B is read until it stops serving the page
//! from its front; pages with `limit=7`, which the workload never asks for).
//!
//! Everything listens on loopback; nodes and servers are killed when the run ends or
//! fails, and Ctrl-C reaches them too (they share the terminal's process group).

mod delay_proxy;
mod faults;
mod nodes;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::loadtest::wrk::{self, Load, WrkResult};
use crate::loadtest::{docs, http, machine, script};
use crate::server::{Server, binary_path, target_dir};
use crate::shell::{cargo, execute};

/// The near cache must at least double what the same instances serve without it.
const NEAR_TARGET: f64 = 2.0;

struct Options {
    delay: Duration,
    instances: Vec<usize>,
    duration: Duration,
    connections: u32,
    write_docs: bool,
    build: bool,
    /// Run the failover under load instead of the throughput table.
    faults: bool,
}

/// One shape's figures.
struct Shape {
    instances: usize,
    near: bool,
    runs: Vec<WrkResult>,
    hit_rate: Option<f64>,
    commands_per_request: f64,
    staleness: Option<Staleness>,
}

struct Staleness {
    probes: usize,
    worst: Duration,
    median: Duration,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let options = parse(args)?;
    wrk::ensure_wrk()?;
    if options.build {
        execute(cargo().args(["build", "--release", "-p", "perfkit-server"]))?;
    }
    let described = machine::describe();
    let scripts = target_dir().join("xtask-cluster");
    let script = script::write(&scripts, "zipf.lua", &script::zipf_demo_script())?;
    println!(
        "starting a Redis Cluster (3 primaries, 3 replicas) behind {:?} each way",
        options.delay
    );
    let mut cluster = nodes::Cluster::start(3, 1, options.delay)?;
    if options.faults {
        return run_faults(&mut cluster, &options, &script, &described);
    }
    let mut shapes = Vec::new();
    for &instances in &options.instances {
        for near in [false, true] {
            shapes.push(measure(&cluster, &options, &script, instances, near)?);
        }
    }
    let body = table(&shapes, &options);
    println!("\n{body}");
    if options.write_docs {
        let delay_ms = options.delay.as_secs_f64() * 1_000.0;
        docs::write_section(
            &crate::shell::workspace_root().join("docs/BENCHMARKS.md"),
            "cluster",
            &docs::Record {
                title: "Instances on a Redis Cluster a network hop away",
                command: &format!(
                    "cargo xtask cluster --delay-ms {delay_ms} --duration {} --connections {} --write-docs",
                    options.duration.as_secs(),
                    options.connections
                ),
                machine: &described,
            },
            &body,
        )?;
    }
    let errors: Vec<String> = shapes
        .iter()
        .flat_map(|shape| shape.runs.iter().filter_map(WrkResult::errors_in_words))
        .collect();
    if !errors.is_empty() {
        bail!("errors under load: {}", errors.join("; "));
    }
    Ok(())
}

/// The failover, then the kill, under load, written to docs/RELIABILITY.md with
/// `--write-docs`; an error when any request failed or a near cache did not track again.
fn run_faults(
    cluster: &mut nodes::Cluster,
    options: &Options,
    script: &std::path::Path,
    described: &str,
) -> Result<()> {
    let runs = [faults::Fault::Failover, faults::Fault::Kill]
        .into_iter()
        .map(|fault| faults::under_load(cluster, fault, options, script))
        .collect::<Result<Vec<_>>>()?;
    let body = faults::table(&runs, options);
    println!("\n{body}");
    if options.write_docs {
        docs::write_section(
            &crate::shell::workspace_root().join("docs/RELIABILITY.md"),
            "cluster-faults",
            &docs::Record {
                title: "Faults on the Redis Cluster rig (`cargo xtask cluster --faults`)",
                command: &format!(
                    "cargo xtask cluster --faults --delay-ms {} --duration {} --connections {} --write-docs",
                    options.delay.as_secs_f64() * 1_000.0,
                    options.duration.as_secs(),
                    options.connections
                ),
                machine: described,
            },
            &body,
        )?;
    }
    let errors: Vec<String> = runs.iter().flat_map(faults::FaultRun::errors).collect();
    if !errors.is_empty() {
        bail!("the faults hurt the service: {}", errors.join("; "));
    }
    Ok(())
}

/// `count` demo instances on the cluster, near cache on or off, each its own instance id.
fn start_instances(cluster: &nodes::Cluster, count: usize, near: bool) -> Result<Vec<Server>> {
    let url = cluster.url();
    let mut servers = Vec::new();
    for index in 0..count {
        let id = format!("rig-{index}");
        let mut args =
            vec!["--demo", "--redis-url", &url, "--namespace", "rig:", "--instance-id", &id];
        if !near {
            args.push("--no-near-cache");
        }
        servers.push(Server::start(&binary_path("release"), &args)?);
    }
    Ok(servers)
}

fn measure(
    cluster: &nodes::Cluster,
    options: &Options,
    script: &std::path::Path,
    instances: usize,
    near: bool,
) -> Result<Shape> {
    let mut servers = start_instances(cluster, instances, near)?;
    if near {
        for server in &servers {
            wait_for_tracking(&server.base)?;
        }
    }
    let before = cluster.commands_processed()?;
    let label = format!("{instances} instance(s), near cache {}", if near { "on" } else { "off" });
    let (runs, staleness) = std::thread::scope(|scope| {
        let loads: Vec<_> = servers
            .iter()
            .map(|server| {
                let (base, label) = (server.base.clone(), label.clone());
                scope.spawn(move || {
                    wrk::run(&Load {
                        url: &format!("{base}/"),
                        script,
                        connections: options.connections,
                        duration: options.duration,
                        label: &label,
                    })
                })
            })
            .collect();
        let staleness = (servers.len() >= 2)
            .then(|| probe_staleness(&servers[0].base, &servers[1].base, options.duration));
        let runs: Result<Vec<WrkResult>> = loads
            .into_iter()
            .map(|load| load.join().map_err(|_| anyhow::anyhow!("a wrk thread panicked"))?)
            .collect();
        (runs, staleness.transpose())
    });
    let runs = runs?;
    let staleness = staleness?;
    let after = cluster.commands_processed()?;
    let hit_rate = hit_rate(&servers)?;
    for server in &mut servers {
        server.stop()?;
    }
    let requests: u64 = runs.iter().map(|run| run.requests).sum();
    #[allow(clippy::cast_precision_loss)]
    let commands_per_request = after.saturating_sub(before) as f64 / requests.max(1) as f64;
    Ok(Shape { instances, near, runs, hit_rate, commands_per_request, staleness })
}

/// Until every instance's front serves (tracking set on every primary).
fn wait_for_tracking(base: &str) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let stats = http::get_json(base, "/api/performance/cache/stats")?;
        if stats["near"]["tracking"] == true {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{base}: the near cache did not start tracking within 30 s")
}

/// Hits over reads, summed over the instances.
fn hit_rate(servers: &[Server]) -> Result<Option<f64>> {
    let (mut hits, mut misses) = (0.0, 0.0);
    for server in servers {
        let stats = http::get_json(&server.base, "/api/performance/cache/stats")?;
        hits += stats["hits"].as_f64().unwrap_or(0.0);
        misses += stats["misses"].as_f64().unwrap_or(0.0);
    }
    Ok((hits + misses > 0.0).then(|| hits / (hits + misses)))
}

/// For `duration`: B reads a page until its front has it, A deletes the page's key, and B
/// is read until it no longer serves the page as a hit; the window is from A's answer to
/// B's first miss.
fn probe_staleness(writer: &str, reader: &str, duration: Duration) -> Result<Staleness> {
    let started = Instant::now();
    let mut windows = Vec::new();
    let mut page = 1;
    while started.elapsed() < duration {
        page += 1;
        let path = format!("/api/posts?page={page}&limit=7");
        x_cache(reader, &path)?;
        if x_cache(reader, &path)? != "hit" {
            continue;
        }
        let pattern = serde_json::json!({ "pattern": format!("demo:posts:page:{page}:limit:7") });
        http::request_json("DELETE", writer, "/api/performance/cache/pattern", Some(&pattern))?;
        let deleted = Instant::now();
        while x_cache(reader, &path)? == "hit" {
            if deleted.elapsed() > Duration::from_secs(5) {
                bail!("{reader} served {path} from its front 5 s after {writer} deleted it");
            }
        }
        windows.push(deleted.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    windows.sort();
    let worst = windows.last().copied().unwrap_or_default();
    let median = windows.get(windows.len() / 2).copied().unwrap_or_default();
    Ok(Staleness { probes: windows.len(), worst, median })
}

/// The `X-Cache` header of `GET base + path`.
fn x_cache(base: &str, path: &str) -> Result<String> {
    let address = base.strip_prefix("http://").context("base is http://host:port")?;
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer);
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    Ok(head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("x-cache").then(|| value.trim().to_owned())
        })
        .unwrap_or_default())
}

fn table(shapes: &[Shape], options: &Options) -> String {
    let mut text = format!(
        "Every path to Redis delayed {:.2} ms each way by a proxy per node; {} wrk \
         connections per instance for {} s, the demo's Zipf workload.\n\n\
         | instances | near cache | throughput | P95 (worst instance) | hit rate | Redis commands per request | staleness A→B (worst, median, probes) |\n\
         |---|---|---|---|---|---|---|\n",
        options.delay.as_secs_f64() * 1_000.0,
        options.connections,
        options.duration.as_secs()
    );
    for shape in shapes {
        let throughput: f64 = shape.runs.iter().map(WrkResult::requests_per_sec).sum();
        let p95 = shape.runs.iter().map(|run| run.p95_ms).fold(0.0, f64::max);
        let staleness = shape.staleness.as_ref().map_or_else(
            || "—".to_owned(),
            |s| format!("{:.1} ms, {:.1} ms, {}", ms(s.worst), ms(s.median), s.probes),
        );
        let _ = writeln!(
            text,
            "| {} | {} | {throughput:.0} req/s | {p95:.1} ms | {} | {:.2} | {staleness} |",
            shape.instances,
            if shape.near { "on" } else { "off" },
            shape.hit_rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1} %", r * 100.0)),
            shape.commands_per_request,
        );
    }
    text.push('\n');
    for pair in shapes.chunks(2) {
        if let [off, on] = pair {
            let sum = |s: &Shape| s.runs.iter().map(WrkResult::requests_per_sec).sum::<f64>();
            let ratio = sum(on) / sum(off).max(f64::MIN_POSITIVE);
            let verdict = if ratio >= NEAR_TARGET { "met" } else { "missed" };
            let _ = writeln!(
                text,
                "{} instance(s): the near cache serves {ratio:.2}x the requests without it \
                 (target >= {NEAR_TARGET}x): {verdict}",
                on.instances
            );
        }
    }
    text
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options {
        delay: Duration::from_micros(500),
        instances: vec![1, 2, 3],
        duration: Duration::from_secs(10),
        connections: 50,
        write_docs: false,
        build: true,
        faults: false,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--delay-ms" => {
                let ms: f64 = value()?.parse().context("--delay-ms takes milliseconds")?;
                if !(0.0..=100.0).contains(&ms) {
                    bail!("--delay-ms must be between 0 and 100");
                }
                options.delay = Duration::from_secs_f64(ms / 1_000.0);
            }
            "--instances" => {
                options.instances = value()?
                    .split(',')
                    .map(|n| n.trim().parse::<usize>().ok().filter(|n| (1..=8).contains(n)))
                    .collect::<Option<Vec<_>>>()
                    .context("--instances takes counts from 1 to 8, like 1,2,3")?;
            }
            "--duration" => {
                let seconds: u64 = value()?.parse().context("--duration takes seconds")?;
                options.duration = Duration::from_secs(seconds.max(1));
            }
            "--connections" => {
                options.connections = value()?.parse().context("--connections takes a count")?;
            }
            "--write-docs" => options.write_docs = true,
            "--no-build" => options.build = false,
            "--faults" => options.faults = true,
            other => bail!("unknown flag {other}: see cargo xtask help"),
        }
    }
    Ok(options)
}
