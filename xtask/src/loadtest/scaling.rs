//! `--scaling`: how cost grows. Throughput and P99 of the demo's `/api/posts` (memory
//! cache, Zipf keys) at 10, 100, 1000 and 5000 connections; the recorder's memory and
//! scrape time at 10, 1 000 and 100 000 recorded routes (the route cap holds them);
//! `delete_pattern` at 1 000 to 1 000 000 Redis keys while the demo is loaded.

use std::fmt::Write as _;

use anyhow::Result;
use serde_json::{Value, json};

use super::delete_pattern::{self, DeleteRow};
use super::options::Options;
use super::targets::routes_cost;
use super::wrk::{self, Load, WrkResult};
use super::{demo_script, warm_up};
use crate::server::{Server, binary_path};

/// The connection counts of the throughput table.
const CONNECTIONS: [u32; 4] = [10, 100, 1000, 5000];
/// The route counts of the recorder table.
const ROUTES: [usize; 3] = [10, 1_000, 100_000];

/// The figures of a scaling run.
pub(crate) struct ScalingResult {
    by_connections: Vec<(u32, WrkResult)>,
    by_routes: Vec<Value>,
    deletes: Vec<DeleteRow>,
}

/// Runs both tables.
pub(crate) fn run(options: &Options) -> Result<ScalingResult> {
    let mut server = Server::start(&binary_path("release"), &["--demo"])?;
    let outcome = by_connections(&server, options);
    let stopped = server.stop();
    let by_connections = outcome?;
    stopped?;
    let by_routes = ROUTES.iter().map(|&count| routes_cost(count)).collect::<Result<_>>()?;
    let deletes = delete_pattern::run()?;
    Ok(ScalingResult { by_connections, by_routes, deletes })
}

fn by_connections(server: &Server, options: &Options) -> Result<Vec<(u32, WrkResult)>> {
    let script = demo_script()?;
    let url = format!("{}/api/posts", server.base);
    warm_up(&url, &script, 100)?;
    CONNECTIONS
        .iter()
        .map(|&connections| {
            let load = Load {
                url: &url,
                script: &script,
                connections,
                duration: options.duration,
                label: "demo /api/posts",
            };
            Ok((connections, wrk::run(&load)?))
        })
        .collect()
}

impl ScalingResult {
    /// Both tables, as markdown.
    pub(crate) fn table(&self) -> String {
        let mut text = String::from(
            "| connections | requests/s | P50 | P99 | errors |\n|---|---|---|---|---|\n",
        );
        for (connections, run) in &self.by_connections {
            let _ = writeln!(
                text,
                "| {connections} | {:.0} | {:.2} ms | {:.2} ms | {} |",
                run.requests_per_sec(),
                run.p50_ms,
                run.p99_ms,
                run.socket_errors() + run.non_2xx
            );
        }
        text.push_str(
            "\n| routes recorded | routes tracked (cap) | recorder RSS growth | scrape (render) | exposition |\n\
             |---|---|---|---|---|\n",
        );
        for figures in &self.by_routes {
            let _ = writeln!(
                text,
                "| {} | {} | {} KiB | {:.2} ms | {} bytes |",
                figures["routes_recorded"],
                figures["routes_tracked"],
                figures["rss_growth_kib"],
                figures["render_ms"].as_f64().unwrap_or(f64::NAN),
                figures["exposition_bytes"]
            );
        }
        text.push('\n');
        text.push_str(&delete_pattern::table(&self.deletes));
        text
    }

    /// The figures as JSON, for `--out`.
    pub(crate) fn to_json(&self) -> Value {
        let runs: Vec<Value> = self
            .by_connections
            .iter()
            .map(|(connections, run)| json!({ "connections": connections, "wrk": run.to_json() }))
            .collect();
        json!({
            "mode": "scaling",
            "by_connections": runs,
            "by_routes": self.by_routes,
            "delete_pattern": delete_pattern::to_json(&self.deletes),
        })
    }

    /// The errors any run saw, said in words.
    pub(crate) fn errors(&self) -> Vec<String> {
        self.by_connections
            .iter()
            .filter_map(|(connections, run)| {
                run.errors_in_words().map(|errors| format!("c={connections}: {errors}"))
            })
            .chain(delete_pattern::errors(&self.deletes))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_tables_are_printed() {
        let result = ScalingResult {
            by_connections: vec![(
                10,
                WrkResult { seconds: 1.0, requests: 500, p99_ms: 2.0, ..WrkResult::default() },
            )],
            by_routes: vec![json!({
                "routes_recorded": 1000, "routes_tracked": 256, "rss_growth_kib": 300,
                "render_ms": 1.5, "exposition_bytes": 90000,
            })],
            deletes: Vec::new(),
        };
        let table = result.table();
        assert!(table.contains("| 10 | 500 | 0.00 ms | 2.00 ms | 0 |"), "{table}");
        assert!(table.contains("| 1000 | 256 | 300 KiB | 1.50 ms | 90000 bytes |"), "{table}");
        assert!(result.errors().is_empty());
    }
}
