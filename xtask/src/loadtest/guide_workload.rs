//! The guide's load test: `perfkit-server --demo` (memory cache, or a private Redis) under
//! Zipf-distributed requests for pages and users, and the guide's table beside its figures.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use perfkit_testing::PostgresServer;
use serde_json::{Value, json};

use super::merge::merge;
use super::options::Options;
use super::placement::Placement;
use super::process::{CpuReading, cores, machine_memory_kib, resident_kib};
use super::redis::PrivateRedis;
use super::targets::TargetApp;
use super::wrk::{self, Load, WrkResult};
use super::{demo_script, fixed_script, warm_up};
use crate::server::{Server, binary_path};

/// What the guide promised, in its words (it gave no database figures: "—").
const SEED: [(&str, &str); 11] = [
    ("concurrent users", "1000"),
    ("P50", "—"),
    ("P95", "450 ms"),
    ("P99", "—"),
    ("throughput", "2000 req/s"),
    ("error rate", "0.2 %"),
    ("cache hit rate", "87 %"),
    ("memory", "65 %"),
    ("CPU", "55 %"),
    ("database share of request time", "—"),
    ("database pool", "—"),
];

/// The figures of one seed run.
pub(crate) struct WorkloadResult {
    connections: u32,
    /// Rounds the demo and its baselines were loaded in turn (see `merge`).
    rounds: u32,
    backend: &'static str,
    pub(crate) wrk: WrkResult,
    pub(crate) hit_rate: Option<f64>,
    rss_kib: u64,
    machine_kib: u64,
    cpu_share: f64,
    cores: usize,
    /// The plain axum app's JSON handler under the same load in the same run: the
    /// throughput a user's app would have without perfkit.
    plain: WrkResult,
    /// Plain axum answering the demo's paths, with the same Zipf script, with a prepared
    /// answer as large as the demo's mean answer: the floor of serving that many bytes per
    /// request, so the ratio to it is what the cache, the database and perfkit's layers cost.
    sized: WrkResult,
    database: DatabaseFigures,
}

/// The demo database's part in the run, from the server's own figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DatabaseFigures {
    /// Time in statements over time in requests, between the readings before and after.
    share: Option<f64>,
    /// Queries during the run.
    queries: u64,
    /// Connection acquires during the run and their P95 since start, ms.
    acquires: u64,
    acquire_p95_ms: Option<f64>,
    /// The pool at the latest collection: size, maximum, in use, mean waiters.
    pool: Option<(f64, f64, f64, Option<f64>)>,
}

/// Runs the guide's load test and fails on any error.
pub(crate) fn run(options: &Options) -> Result<WorkloadResult> {
    let backend = if options.redis { "redis" } else { "memory" };
    run_demo(options, options.redis, &[], backend)
}

/// The demo on memory or a private Redis, with `extra` server flags, labelled `backend`.
pub(crate) fn run_demo(
    options: &Options,
    on_redis: bool,
    extra: &[&str],
    backend: &'static str,
) -> Result<WorkloadResult> {
    let redis = if on_redis { Some(PrivateRedis::start()?) } else { None };
    // A private primary and its replicas, stopped when dropped at the end of the run.
    let postgres = options.postgres_replicas.map(private_postgres).transpose()?;
    let mut args = vec!["--demo"];
    if let Some(redis) = &redis {
        args.extend(["--redis-url", &redis.url]);
    }
    if let Some(url) = &options.database_url {
        args.extend(["--database-url", url]);
    }
    if let Some((primary, replicas)) = &postgres {
        args.extend(["--database-url", primary.url()]);
        for replica in replicas {
            args.extend(["--read-database-url", replica.url()]);
        }
    }
    args.extend(extra);
    let mut server = Server::start(&binary_path("release"), &args)?;
    let outcome = measure(&server, options, backend);
    let stopped = server.stop();
    let result = outcome?;
    stopped?;
    drop(redis);
    Ok(result)
}

/// A private PostgreSQL primary and `replicas` streaming replicas of it.
fn private_postgres(replicas: u32) -> Result<(PostgresServer, Vec<PostgresServer>)> {
    let primary =
        PostgresServer::try_start_private().context("cannot start a private PostgreSQL")?;
    let replicas = (0..replicas)
        .map(|_| primary.start_replica().context("cannot start a streaming replica"))
        .collect::<Result<Vec<_>>>()?;
    Ok((primary, replicas))
}

/// What plain axum's own headers take of an answer (status line, content-type,
/// content-length, date): the rest of the demo's mean answer is the sized app's body.
pub(crate) const PLAIN_HEADER_BYTES: u64 = 110;

/// One app loaded in the rounds: where, with which script, and its segments so far.
struct Contender {
    url: String,
    script: std::path::PathBuf,
    label: String,
    segments: Vec<WrkResult>,
}

impl Contender {
    fn new(base: &str, path: &str, script: std::path::PathBuf, label: &str) -> Contender {
        Contender {
            url: format!("{base}{path}"),
            script,
            label: label.to_owned(),
            segments: vec![],
        }
    }

    /// One segment of `options`' load, labelled with its round.
    fn load(&mut self, options: &Options, round: u32) -> Result<()> {
        let label = format!("{} {round}/{}", self.label, options.rounds);
        self.segments.push(wrk::run(&Load {
            url: &self.url,
            script: &self.script,
            connections: options.connections,
            duration: options.segment(),
            label: &label,
        })?);
        Ok(())
    }
}

/// The demo and its two baselines (plain axum's JSON handler; plain axum serving answers of
/// the demo's mean size on the demo's paths with the same script), each warmed up, then
/// loaded in turn within each round, so a slow patch of a shared machine falls on all three.
fn measure(server: &Server, options: &Options, backend: &'static str) -> Result<WorkloadResult> {
    let script = demo_script()?;
    let label = format!("demo ({backend})");
    let mut demo = Contender::new(&server.base, "/api/posts", script.clone(), &label);
    let warm = warm_up(&demo.url, &script, options.connections)?;
    let body = warm.mean_answer_bytes().saturating_sub(PLAIN_HEADER_BYTES).max(2);
    let plain_app = TargetApp::start("plain", &Placement::shared(), &[])?;
    let sized_app = TargetApp::start(&format!("sized={body}"), &Placement::shared(), &[])?;
    let mut plain =
        Contender::new(&plain_app.base, "/api/hello", fixed_script()?, "plain axum JSON handler");
    let mut sized = Contender::new(&sized_app.base, "/api/posts", script, "plain, sized");
    for baseline in [&plain, &sized] {
        warm_up(&baseline.url, &baseline.script, options.connections)?;
    }
    let stats_before = cache_stats(&server.base)?;
    let application_before = application(&server.base)?;
    let (mut busy_seconds, mut wall_seconds) = (0.0, 0.0);
    for round in 1..=options.rounds {
        let cpu_before = CpuReading::now(server.pid())?;
        demo.load(options, round)?;
        let (busy, wall) = cpu_before.busy_since(&CpuReading::now(server.pid())?);
        busy_seconds += busy;
        wall_seconds += wall;
        plain.load(options, round)?;
        sized.load(options, round)?;
    }
    let rss_kib = resident_kib(server.pid())?;
    let stats_after = cache_stats(&server.base)?;
    let hit_rate = hit_rate(&stats_before, &stats_after);
    let latest = super::http::get_json(&server.base, "/api/performance/history?limit=1")
        .context("the latest snapshot")?;
    let database = database_figures(&application_before, &application(&server.base)?, &latest[0]);
    let cores = cores();
    Ok(WorkloadResult {
        connections: options.connections,
        rounds: options.rounds,
        backend,
        wrk: merge(&demo.segments),
        hit_rate,
        rss_kib,
        machine_kib: machine_memory_kib()?,
        cpu_share: if wall_seconds > 0.0 && cores > 0 {
            busy_seconds / wall_seconds / cores as f64
        } else {
            0.0
        },
        cores,
        plain: merge(&plain.segments),
        sized: merge(&sized.segments),
        database,
    })
}

fn application(base: &str) -> Result<Value> {
    super::http::get_json(base, "/api/performance/metrics/application")
        .context("the application metrics")
}

/// Total milliseconds of a `LatencySummary` (count times mean).
fn total_ms(summary: &Value) -> Option<f64> {
    Some(summary["count"].as_f64()? * summary["avg"].as_f64().unwrap_or(0.0))
}

/// The database's figures between two readings of `/metrics/application`, and the pool
/// from the latest snapshot.
fn database_figures(before: &Value, after: &Value, snapshot: &Value) -> DatabaseFigures {
    let delta = |pick: fn(&Value) -> &Value| Some(total_ms(pick(after))? - total_ms(pick(before))?);
    let requests = delta(|v| &v["responseTime"]["cumulative"]);
    let statements = delta(|v| &v["database"]["cumulative"]);
    let count = |pick: fn(&Value) -> &Value| {
        pick(after)["count"]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(pick(before)["count"].as_u64().unwrap_or(0))
    };
    let pool = (|| {
        let figure = |name: &str| snapshot[name].as_f64();
        Some((
            figure("dbPoolSize")?,
            figure("dbPoolMax")?,
            figure("dbPoolInUse")?,
            figure("dbPoolWaiters"),
        ))
    })();
    DatabaseFigures {
        share: requests.zip(statements).filter(|(r, _)| *r > 0.0).map(|(r, s)| s / r),
        queries: count(|v| &v["database"]["cumulative"]),
        acquires: count(|v| &v["database"]["poolAcquire"]["cumulative"]),
        acquire_p95_ms: after["database"]["poolAcquire"]["cumulative"]["p95"].as_f64(),
        pool,
    }
}

fn cache_stats(base: &str) -> Result<Value> {
    super::http::get_json(base, "/api/performance/cache/stats").context("the cache statistics")
}

/// Hits over lookups between two readings of `/cache/stats`.
fn hit_rate(before: &Value, after: &Value) -> Option<f64> {
    let delta = |name: &str| Some(after[name].as_u64()?.saturating_sub(before[name].as_u64()?));
    let (hits, misses) = (delta("hits")?, delta("misses")?);
    (hits + misses > 0).then(|| hits as f64 / (hits + misses) as f64)
}

impl WorkloadResult {
    /// Fails when the run saw a socket error or an error answer: zero errors is the pass.
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(errors) = self.wrk.errors_in_words() {
            bail!("the demo at c={}: {errors}", self.connections);
        }
        Ok(())
    }

    /// The guide's table, as markdown: each figure beside the guide's.
    pub(crate) fn table(&self) -> String {
        let w = &self.wrk;
        let ours = [
            format!("{} connections", self.connections),
            format!("{:.2} ms", w.p50_ms),
            format!("{:.2} ms", w.p95_ms),
            format!("{:.2} ms", w.p99_ms),
            format!("{:.0} req/s", w.requests_per_sec()),
            format!(
                "{:.3} % ({} of {})",
                w.error_rate() * 100.0,
                w.socket_errors() + w.non_2xx,
                w.requests
            ),
            self.hit_rate
                .map_or_else(|| "no lookups".to_owned(), |rate| format!("{:.1} %", rate * 100.0)),
            format!(
                "{:.1} % ({:.0} MiB RSS of {})",
                self.rss_kib as f64 / self.machine_kib.max(1) as f64 * 100.0,
                self.rss_kib as f64 / 1024.0,
                super::machine::gib(self.machine_kib * 1024)
            ),
            format!("{:.1} % of {} cores", self.cpu_share * 100.0, self.cores),
            self.database.share.map_or_else(
                || "no requests".to_owned(),
                |share| format!("{:.1} % ({} queries)", share * 100.0, self.database.queries),
            ),
            self.database.pool_in_words(),
        ];
        let mut text = format!(
            "| figure | seed | perfkit-server --demo ({}) |\n|---|---|---|\n",
            self.backend
        );
        for ((name, seed), ours) in SEED.iter().zip(ours) {
            let _ = writeln!(text, "| {name} | {seed} | {ours} |");
        }
        let plain = self.plain.requests_per_sec();
        let ratio = w.requests_per_sec() / plain.max(f64::MIN_POSITIVE);
        let _ = writeln!(
            text,
            "| throughput beside plain axum (its JSON handler, same load, same run: the demo \
             and both baselines loaded in turn in each of {} rounds) | — | {ratio:.2}x of \
             {plain:.0} req/s |",
            self.rounds
        );
        let sized = self.sized.requests_per_sec();
        let _ = writeln!(
            text,
            "| throughput beside plain axum serving prepared answers of the demo's mean size \
             ({} bytes with headers; same paths and key mix, same run) | — | {:.2}x of {sized:.0} \
             req/s, P95 {:.2} ms |",
            w.mean_answer_bytes(),
            w.requests_per_sec() / sized.max(f64::MIN_POSITIVE),
            self.sized.p95_ms,
        );
        text
    }

    /// The figures as JSON, for `--out`.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "mode": "seed",
            "backend": self.backend,
            "connections": self.connections,
            "rounds": self.rounds,
            "wrk": self.wrk.to_json(),
            "cache_hit_rate": self.hit_rate,
            "server_rss_kib": self.rss_kib,
            "machine_memory_kib": self.machine_kib,
            "server_cpu_share_of_all_cores": self.cpu_share,
            "cores": self.cores,
            "plain_axum_wrk": self.plain.to_json(),
            "plain_axum_same_size_wrk": self.sized.to_json(),
            "database_share_of_request_time": self.database.share,
            "database_queries": self.database.queries,
            "pool_acquires": self.database.acquires,
            "pool_acquire_p95_ms": self.database.acquire_p95_ms,
        })
    }
}

impl DatabaseFigures {
    fn pool_in_words(&self) -> String {
        let acquire = self.acquire_p95_ms.map_or_else(
            || "no acquires".to_owned(),
            |p95| format!("acquire P95 {p95:.2} ms over {} acquires", self.acquires),
        );
        match self.pool {
            Some((size, max, in_use, waiters)) => format!(
                "{size:.0} of {max:.0} open, {in_use:.0} in use, {} waiting; {acquire}",
                waiters.map_or_else(|| "-".to_owned(), |w| format!("{w:.2}"))
            ),
            None => format!("no collection during the run; {acquire}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_share_is_statement_time_over_request_time() {
        let before = json!({
            "responseTime": { "cumulative": { "count": 100, "avg": 2.0 } },
            "database": { "cumulative": { "count": 10, "avg": 1.0 },
                          "poolAcquire": { "cumulative": { "count": 10, "p95": 0.1 } } },
        });
        let after = json!({
            "responseTime": { "cumulative": { "count": 300, "avg": 2.0 } },
            "database": { "cumulative": { "count": 30, "avg": 2.0 },
                          "poolAcquire": { "cumulative": { "count": 30, "p95": 0.2 } } },
        });
        let snapshot =
            json!({ "dbPoolSize": 4, "dbPoolMax": 8, "dbPoolInUse": 1, "dbPoolWaiters": null });
        let figures = database_figures(&before, &after, &snapshot);
        // 600 - 200 ms of requests, 60 - 10 ms of statements.
        assert_eq!(figures.share, Some(0.125));
        assert_eq!(
            (figures.queries, figures.acquires, figures.acquire_p95_ms),
            (20, 20, Some(0.2))
        );
        assert_eq!(figures.pool, Some((4.0, 8.0, 1.0, None)));
    }

    #[test]
    fn the_hit_rate_is_the_delta_over_the_run() {
        let before = json!({ "hits": 100, "misses": 50 });
        let after = json!({ "hits": 190, "misses": 60 });
        assert_eq!(hit_rate(&before, &after), Some(0.9));
        assert_eq!(hit_rate(&before, &before), None);
        assert_eq!(hit_rate(&json!({}), &after), None);
    }

    #[test]
    fn the_table_sets_each_figure_beside_the_seeds_and_errors_fail() {
        let result = WorkloadResult {
            connections: 1000,
            rounds: 3,
            backend: "memory",
            wrk: WrkResult {
                seconds: 2.0,
                requests: 10_000,
                bytes: 52_000_000,
                p95_ms: 12.5,
                ..WrkResult::default()
            },
            hit_rate: Some(0.95),
            rss_kib: 51_200,
            machine_kib: 1024 * 1024,
            cpu_share: 0.5,
            cores: 2,
            plain: WrkResult { seconds: 2.0, requests: 12_500, ..WrkResult::default() },
            sized: WrkResult {
                seconds: 2.0,
                requests: 11_000,
                p95_ms: 9.0,
                ..WrkResult::default()
            },
            database: DatabaseFigures {
                share: Some(0.125),
                queries: 40,
                acquires: 40,
                acquire_p95_ms: Some(0.5),
                pool: Some((8.0, 8.0, 3.0, Some(0.01))),
            },
        };
        let table = result.table();
        assert!(table.contains("| P95 | 450 ms | 12.50 ms |"), "{table}");
        assert!(table.contains("| throughput | 2000 req/s | 5000 req/s |"), "{table}");
        assert!(table.contains("| cache hit rate | 87 % | 95.0 % |"), "{table}");
        assert!(table.contains("| memory | 65 % | 4.9 % (50 MiB RSS of 1.0 GiB) |"), "{table}");
        assert!(table.contains("| CPU | 55 % | 50.0 % of 2 cores |"), "{table}");
        assert!(table.contains("| — | 0.80x of 6250 req/s |"), "{table}");
        assert!(table.contains("(5200 bytes with headers; same paths"), "{table}");
        assert!(table.contains("| — | 0.91x of 5500 req/s, P95 9.00 ms |"), "{table}");
        assert!(table.contains("| database share of request time | — | 12.5 % (40 queries) |"));
        assert!(
            table.contains("| database pool | — | 8 of 8 open, 3 in use, 0.01 waiting; acquire P95 0.50 ms over 40 acquires |"),
            "{table}"
        );
        assert!(result.check().is_ok());
        let failed =
            WorkloadResult { wrk: WrkResult { non_2xx: 1, ..result.wrk.clone() }, ..result };
        assert!(failed.check().is_err());
    }
}
