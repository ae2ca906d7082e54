//! The seed's load test: `perfkit-server --demo` (memory cache, or a private Redis) under
//! Zipf-distributed requests for pages and users, and the seed's table beside its figures.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::options::Options;
use super::placement::Placement;
use super::process::{CpuReading, cores, machine_memory_kib, resident_kib};
use super::redis::PrivateRedis;
use super::targets::TargetApp;
use super::wrk::{self, Load, WrkResult};
use super::{demo_script, fixed_script, warm_up};
use crate::server::{Server, binary_path};

/// What the seed promised, in its words.
const SEED: [(&str, &str); 9] = [
    ("concurrent users", "1000"),
    ("P50", "—"),
    ("P95", "450 ms"),
    ("P99", "—"),
    ("throughput", "2000 req/s"),
    ("error rate", "0.2 %"),
    ("cache hit rate", "87 %"),
    ("memory", "65 %"),
    ("CPU", "55 %"),
];

/// The figures of one seed run.
pub(crate) struct SeedResult {
    connections: u32,
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
}

/// Runs the seed's load test and fails on any error.
pub(crate) fn run(options: &Options) -> Result<SeedResult> {
    let backend = if options.redis { "redis" } else { "memory" };
    run_demo(options, options.redis, &[], backend)
}

/// The demo on memory or a private Redis, with `extra` server flags, labelled `backend`.
pub(crate) fn run_demo(
    options: &Options,
    on_redis: bool,
    extra: &[&str],
    backend: &'static str,
) -> Result<SeedResult> {
    let redis = if on_redis { Some(PrivateRedis::start()?) } else { None };
    let mut args = vec!["--demo"];
    if let Some(redis) = &redis {
        args.extend(["--redis-url", &redis.url]);
    }
    args.extend(extra);
    let mut server = Server::start(&binary_path("release"), &args)?;
    let outcome = measure(&server, options, backend);
    let stopped = server.stop();
    let mut result = outcome?;
    stopped?;
    drop(redis);
    result.plain = plain_baseline(options)?;
    Ok(result)
}

/// The plain axum app's cheap JSON answer at the same connections and duration.
fn plain_baseline(options: &Options) -> Result<WrkResult> {
    let app = TargetApp::start("plain", &Placement::shared())?;
    let script = fixed_script()?;
    let url = format!("{}/api/hello", app.base);
    warm_up(&url, &script, options.connections)?;
    wrk::run(&Load {
        url: &url,
        script: &script,
        connections: options.connections,
        duration: options.duration,
        label: "plain axum JSON handler",
    })
}

fn measure(server: &Server, options: &Options, backend: &'static str) -> Result<SeedResult> {
    let script = demo_script()?;
    let url = format!("{}/api/posts", server.base);
    warm_up(&url, &script, options.connections)?;
    let stats_before = cache_stats(&server.base)?;
    let cpu_before = CpuReading::now(server.pid())?;
    let wrk = wrk::run(&Load {
        url: &url,
        script: &script,
        connections: options.connections,
        duration: options.duration,
        label: &format!("demo ({backend})"),
    })?;
    let cpu_after = CpuReading::now(server.pid())?;
    let rss_kib = resident_kib(server.pid())?;
    let stats_after = cache_stats(&server.base)?;
    let hit_rate = hit_rate(&stats_before, &stats_after);
    let cores = cores();
    Ok(SeedResult {
        connections: options.connections,
        backend,
        wrk,
        hit_rate,
        rss_kib,
        machine_kib: machine_memory_kib()?,
        cpu_share: cpu_before.share_since(&cpu_after, cores),
        cores,
        plain: WrkResult::default(),
    })
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

impl SeedResult {
    /// Fails when the run saw a socket error or an error answer: zero errors is the pass.
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(errors) = self.wrk.errors_in_words() {
            bail!("the demo at c={}: {errors}", self.connections);
        }
        Ok(())
    }

    /// The seed's table, as markdown: each figure beside the seed's.
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
            "| throughput beside plain axum (its JSON handler, same load, same run) | — | \
             {ratio:.2}x of {plain:.0} req/s |"
        );
        text
    }

    /// The figures as JSON, for `--out`.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "mode": "seed",
            "backend": self.backend,
            "connections": self.connections,
            "wrk": self.wrk.to_json(),
            "cache_hit_rate": self.hit_rate,
            "server_rss_kib": self.rss_kib,
            "machine_memory_kib": self.machine_kib,
            "server_cpu_share_of_all_cores": self.cpu_share,
            "cores": self.cores,
            "plain_axum_wrk": self.plain.to_json(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let result = SeedResult {
            connections: 1000,
            backend: "memory",
            wrk: WrkResult { seconds: 2.0, requests: 10_000, p95_ms: 12.5, ..WrkResult::default() },
            hit_rate: Some(0.95),
            rss_kib: 51_200,
            machine_kib: 1024 * 1024,
            cpu_share: 0.5,
            cores: 2,
            plain: WrkResult { seconds: 2.0, requests: 12_500, ..WrkResult::default() },
        };
        let table = result.table();
        assert!(table.contains("| P95 | 450 ms | 12.50 ms |"), "{table}");
        assert!(table.contains("| throughput | 2000 req/s | 5000 req/s |"), "{table}");
        assert!(table.contains("| cache hit rate | 87 % | 95.0 % |"), "{table}");
        assert!(table.contains("| memory | 65 % | 4.9 % (50 MiB RSS of 1.0 GiB) |"), "{table}");
        assert!(table.contains("| CPU | 55 % | 50.0 % of 2 cores |"), "{table}");
        assert!(table.contains("| — | 0.80x of 6250 req/s |"), "{table}");
        assert!(result.check().is_ok());
        let failed = SeedResult { wrk: WrkResult { non_2xx: 1, ..result.wrk.clone() }, ..result };
        assert!(failed.check().is_err());
    }
}
