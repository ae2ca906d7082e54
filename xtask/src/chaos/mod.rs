//! `cargo xtask chaos`: faults under steady load. Starts a private redis-server, a private
//! PostgreSQL and `perfkit-server --demo` over both, drives the demo with wrk (Zipf keys) and,
//! one fault at a time, breaks what the server depends on: Redis killed and restarted, Redis
//! frozen (SIGSTOP/SIGCONT), Redis full at `maxmemory` with `noeviction`, PostgreSQL stopped
//! and started again, its streaming replica (the demo's `--read-database-url`) frozen with
//! SIGSTOP (reads fall back to the primary: no 5xx), the alert webhook hanging
//! and then dropping connections (an alert fires and is re-sent every second throughout),
//! WebSocket clients that stop reading, connections that send half a request head or idle
//! after one request (closed by the server's header-read and keep-alive timeouts, shortened
//! to 2 s for the run), and the trace collector (the server exports spans to it over
//! OTLP/HTTP throughout) killed and started again, then accepting and never answering, then
//! answering every export with a 500: the load sees nothing, the server's drop counter rises
//! and its memory stays put. The collector's faults run twice: on the server's default
//! multi-thread runtime, and on a second server on a `current_thread` runtime (`--runtime
//! current-thread`), where an exporter sharing the runtime would stall the requests.
//! `--traces` runs those faults alone (their own section of docs/RELIABILITY.md). For each
//! it prints what the load saw during the fault (requests, answers of 500 or more, P99, the
//! slowest), how long the server took to say the cache is healthy again, memory before and
//! after, and what health and alerts said meanwhile.
//!
//! Expected, and checked: no 5xx and no request past wrk's timeout because of a cache
//! fault (the cache fails open), memory bounded, recovery without a restart. Without its
//! database the demo still serves what the cache holds, and a miss gets a JSON 503 within
//! the pool's acquire timeout (a probe checks it), never a hang. `--short`
//! (CI) runs each fault for 3 s on the debug build.

mod faults;
mod idle_clients;
mod options;
pub(crate) mod receiver;
mod report;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use perfkit_testing::PostgresServer;
use serde_json::Value;

use crate::loadtest::http::{get_any, get_json};
use crate::loadtest::process::resident_kib;
use crate::loadtest::redis::PrivateRedis;
use crate::loadtest::wrk::{self, Load};
use crate::loadtest::{demo_script, docs, machine};
use crate::server::{Server, binary_path};
use crate::shell::{cargo, execute, workspace_root};
use faults::Fault;
use options::Options;
use receiver::Receiver;
use report::{FaultRow, HealthSaid, MissProbe};

/// How long the server may take to report a healthy cache after a fault ends.
const RECOVERY_LIMIT: Duration = Duration::from_secs(60);

pub(crate) fn run(args: &[String]) -> Result<()> {
    let options = Options::from_args(args)?;
    wrk::ensure_wrk()?;
    let profile = if options.short { "debug" } else { "release" };
    if !options.no_build {
        let mut build = cargo();
        build.args(["build", "-p", "perfkit-server"]);
        if !options.short {
            build.arg("--release");
        }
        execute(&mut build).context("cannot build perfkit-server")?;
    }
    let machine = machine::describe();

    let mut redis = PrivateRedis::start()?;
    let database = PostgresServer::try_start_private()
        .context("chaos runs the demo on a private PostgreSQL, for its database fault")?;
    let replica = database
        .start_replica()
        .context("chaos gives the demo a streaming replica, for its replica fault")?;
    let receiver = Receiver::start()?;
    let mut collector = Receiver::start()?;
    let config = write_config(&receiver.url, &collector.base)?.display().to_string();
    let demo = [
        "--demo",
        "--redis-url",
        &redis.url,
        "--database-url",
        database.url(),
        "--read-database-url",
        replica.url(),
        "--config",
        &config,
    ];
    let mut server = Server::start(&binary_path(profile), &demo)?;
    // Its own namespace: the two servers' caches and announcements stay apart.
    let one_thread = ["--runtime", "current-thread", "--namespace", "perfkit-chaos-ct:"];
    let mut current_thread = if options.runs_a_collector_fault() {
        Some(Server::start(&binary_path(profile), &[&demo[..], &one_thread[..]].concat())?)
    } else {
        None
    };
    let mut world = World {
        redis: &mut redis,
        database: &database,
        replica: &replica,
        receiver: &receiver,
        collector: &mut collector,
        server: &server,
        current_thread: current_thread.as_ref(),
    };
    let outcome = run_faults(&mut world, &options);
    let stopped = server.stop();
    let stopped_too = current_thread.as_mut().map_or(Ok(()), Server::stop);
    let rows = outcome?;
    stopped?;
    stopped_too?;

    let table = report::table(&rows);
    let command = options.command_line();
    println!(
        "\n== Chaos: {} connections on the demo, each fault {} s ==\n\n{table}",
        options.connections,
        options.fault_duration.as_secs()
    );
    if options.write_docs {
        let path = workspace_root().join("docs").join("RELIABILITY.md");
        let (section, title) = if options.traces {
            (
                "chaos-traces",
                "The trace collector's faults under load (`cargo xtask chaos --traces`)",
            )
        } else {
            ("chaos", "Faults under load (`cargo xtask chaos`)")
        };
        docs::write_section(
            &path,
            section,
            &docs::Record { title, command: &command, machine: &machine },
            &table,
        )?;
    }
    let failures = report::failures(&rows);
    if !failures.is_empty() {
        bail!("faults the server did not absorb:\n  {}", failures.join("\n  "));
    }
    println!("ok: every fault absorbed: no 5xx, no request past its timeout, recovered");
    Ok(())
}

/// A rule that fires from the first collection on (memory is always in use), collected every
/// second and notified to the receiver every second, so alert delivery runs during every
/// fault and the receiver faults have something to refuse.
/// The server's connection timeouts are short, so the idle-clients fault sees its
/// connections closed within a short fault.
const CONFIG: &str = r#"# written by cargo xtask chaos
[server]
headerReadTimeout = "2s"
keepAliveTimeout = "2s"

[service]
collectInterval = "1s"
healthCheckInterval = "1s"

[notifiers]
log = false

[notifiers.policy]
groupWait = "0s"
groupInterval = "1s"
repeatInterval = "1s"

[[notifiers.webhooks]]
name = "chaos-receiver"
url = "RECEIVER_URL"

# Spans all along, to a collector the collector faults break; exports cut off at 1 s.
[tracing]
endpoint = "COLLECTOR_URL"
samplerArg = 0.05
exportTimeout = "1s"

[[alerts.rules]]
name = "memory_in_use"
severity = "low"
kind = "threshold"
metric = "memoryUsage"
comparison = "above"
threshold = 0.0
for = "0s"
"#;

fn write_config(receiver_url: &str, collector_url: &str) -> Result<std::path::PathBuf> {
    let dir = crate::server::target_dir().join("xtask-chaos");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("perfkit.toml");
    let config =
        CONFIG.replace("RECEIVER_URL", receiver_url).replace("COLLECTOR_URL", collector_url);
    std::fs::write(&path, config).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// What the faults act on.
pub(crate) struct World<'a> {
    pub(crate) redis: &'a mut PrivateRedis,
    pub(crate) database: &'a PostgresServer,
    pub(crate) replica: &'a PostgresServer,
    pub(crate) receiver: &'a Receiver,
    /// The trace collector the server exports to.
    pub(crate) collector: &'a mut Receiver,
    pub(crate) server: &'a Server,
    /// The same demo on a `current_thread` runtime, for the collector's faults.
    pub(crate) current_thread: Option<&'a Server>,
}

fn run_faults(world: &mut World<'_>, options: &Options) -> Result<Vec<FaultRow>> {
    let script = demo_script()?;
    let mut rows = Vec::new();
    let server = world.server;
    warm_up(server, options, &script)?;
    for fault in Fault::ALL.into_iter().filter(|fault| options.runs(*fault)) {
        rows.push(one_fault(world, options, fault, server, &script)?);
    }
    if let Some(server) = world.current_thread {
        // Just before its faults: its cache is as warm as the first server's was.
        warm_up(server, options, &script)?;
        for fault in Fault::COLLECTOR.into_iter().filter(|fault| options.runs(*fault)) {
            let mut row = one_fault(world, options, fault, server, &script)?;
            row.current_thread = true;
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Two seconds of the run's load on `server`: connections open, the cache warm.
fn warm_up(server: &Server, options: &Options, script: &std::path::Path) -> Result<()> {
    let url = format!("{}/api/posts", server.base);
    wrk::run(&Load {
        url: &url,
        script,
        connections: options.connections,
        duration: Duration::from_secs(2),
        label: "warm-up",
    })
    .map(|_| ())
}

/// `fault` while `server` is under load: what the load saw, what the server said, and how
/// it came back.
fn one_fault(
    world: &mut World<'_>,
    options: &Options,
    fault: Fault,
    server: &Server,
    script: &std::path::Path,
) -> Result<FaultRow> {
    println!("fault: {} ({})", fault.name(), server.base);
    let url = &format!("{}/api/posts", server.base);
    let rss_before_kib = resident_kib(server.pid())?;
    let dropped_before = report::spans_dropped(&server.base)?;
    let duration = options.fault_duration;
    let load = std::thread::scope(|scope| -> Result<_> {
        let load = scope.spawn(|| {
            wrk::run(&Load {
                url,
                script,
                connections: options.connections,
                duration,
                label: fault.name(),
            })
        });
        // Let wrk open its connections, then break things while it runs.
        std::thread::sleep(Duration::from_millis(300));
        let injected = fault.begin(world);
        std::thread::sleep(duration / 2);
        let said = HealthSaid::read(&server.base, fault.dependency());
        let probe = (fault.dependency() == "database").then(|| probe_miss(&server.base));
        let joined = load.join().map_err(|_| anyhow::anyhow!("the load thread panicked"))?;
        let ended = injected.and_then(|state| fault.end(world, state));
        ended?;
        Ok((joined?, said, probe))
    })?;
    let (during, said, probe) = load;
    let spans_dropped = report::spans_dropped(&server.base)?.saturating_sub(dropped_before);
    let started = Instant::now();
    let recovered = match fault.dependency() {
        "database" => wait_for_a_served_miss(&server.base),
        check => wait_for_healthy(&server.base, check),
    };
    let recovery = started.elapsed();
    // A short run after recovery: does the cache serve hits again?
    let stats_before = get_json(&server.base, "/api/performance/cache/stats")?;
    let after = wrk::run(&Load {
        url,
        script,
        connections: options.connections,
        duration: Duration::from_secs(2),
        label: "after",
    })?;
    let stats_after = get_json(&server.base, "/api/performance/cache/stats")?;
    Ok(FaultRow {
        fault,
        current_thread: false,
        during,
        after_errors: after.socket_errors() + after.non_2xx,
        said,
        probe,
        recovered: recovered.then_some(recovery),
        hit_rate_after: report::hit_rate(&stats_before, &stats_after),
        rss_before_kib,
        rss_after_kib: resident_kib(server.pid())?,
        spans_dropped,
    })
}

/// Polls `/health` until `check` is healthy again (the cache, the replica back in rotation);
/// false after [`RECOVERY_LIMIT`].
fn wait_for_healthy(base: &str, check: &str) -> bool {
    let started = Instant::now();
    while started.elapsed() < RECOVERY_LIMIT {
        let healthy = get_json(base, "/api/performance/health")
            .ok()
            .is_some_and(|health: Value| health["checks"][check]["status"] == "healthy");
        if healthy {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Pages never asked for before (the load asks for `limit=20`): each probe is a miss, so it
/// needs the database.
static NEXT_PROBE_PAGE: AtomicU32 = AtomicU32::new(1);
/// The probe's page size, which the load never uses.
const PROBE_LIMIT: u32 = 97;
/// Longer than any answer may take: the server's request timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// One request that must reach the database: its status, error code and time.
fn probe_miss(base: &str) -> MissProbe {
    let page = NEXT_PROBE_PAGE.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let answer =
        get_any(base, &format!("/api/posts?page={page}&limit={PROBE_LIMIT}"), PROBE_TIMEOUT);
    let elapsed = started.elapsed();
    match answer {
        Ok((status, body)) => {
            let code = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|json| json["error"]["code"].as_str().map(str::to_owned));
            MissProbe { status: Some(status), code, elapsed }
        }
        Err(_) => MissProbe { status: None, code: None, elapsed },
    }
}

/// Sends misses until one is served; false after [`RECOVERY_LIMIT`].
fn wait_for_a_served_miss(base: &str) -> bool {
    let started = Instant::now();
    while started.elapsed() < RECOVERY_LIMIT {
        if probe_miss(base).status == Some(200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
