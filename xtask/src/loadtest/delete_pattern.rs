//! `delete_pattern` under load (part of `--scaling`): N keys written into a private Redis
//! under the server's namespace, then `DELETE /api/performance/cache/pattern` while wrk
//! loads the demo's `/api/posts`; the delete's time and the P99 of the requests served
//! meanwhile.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::redis::PrivateRedis;
use super::wrk::{self, Load, WrkResult};
use super::{demo_script, warm_up};
use crate::server::{Server, binary_path};

/// The key counts measured.
const KEYS: [u64; 3] = [1_000, 100_000, 1_000_000];
/// The server's default namespace, and the prefix the keys are written and deleted under.
const NAMESPACE: &str = "perfkit:";
const PREFIX: &str = "bulk:";
/// Load before the delete starts, so the P99 covers requests served around it.
const LEAD: Duration = Duration::from_secs(1);
/// The load's length: the delete normally ends well within it.
const LOAD: Duration = Duration::from_secs(10);

/// One delete under load.
pub(crate) struct DeleteRow {
    keys: u64,
    deleted: u64,
    delete_ms: f64,
    load: WrkResult,
}

/// Measures every key count on one server over one private Redis.
pub(crate) fn run() -> Result<Vec<DeleteRow>> {
    let redis = PrivateRedis::start()?;
    let mut server =
        Server::start(&binary_path("release"), &["--demo", "--redis-url", &redis.url])?;
    let outcome = measure(&server, &redis);
    let stopped = server.stop();
    let rows = outcome?;
    stopped?;
    Ok(rows)
}

fn measure(server: &Server, redis: &PrivateRedis) -> Result<Vec<DeleteRow>> {
    let script = demo_script()?;
    let url = format!("{}/api/posts", server.base);
    warm_up(&url, &script, 100)?;
    KEYS.iter()
        .map(|&keys| {
            fill(redis.port, keys)?;
            std::thread::scope(|scope| {
                let load = scope.spawn(|| {
                    wrk::run(&Load {
                        url: &url,
                        script: &script,
                        connections: 100,
                        duration: LOAD,
                        label: "demo during delete_pattern",
                    })
                });
                std::thread::sleep(LEAD);
                let started = Instant::now();
                let answer = super::http::request_json(
                    "DELETE",
                    &server.base,
                    "/api/performance/cache/pattern",
                    Some(&json!({ "pattern": PREFIX })),
                );
                let delete_ms = started.elapsed().as_secs_f64() * 1e3;
                let load = load.join().map_err(|_| anyhow::anyhow!("the wrk thread panicked"))?;
                let deleted = answer?["deleted"].as_u64().context("no deleted count")?;
                Ok(DeleteRow { keys, deleted, delete_ms, load: load? })
            })
        })
        .collect()
}

/// Writes `count` keys `perfkit:bulk:N` through `redis-cli --pipe`.
fn fill(port: u16, count: u64) -> Result<()> {
    let mut child = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("cannot run redis-cli")?;
    let mut stdin = std::io::BufWriter::new(child.stdin.take().context("redis-cli stdin")?);
    for index in 0..count {
        let key = format!("{NAMESPACE}{PREFIX}{index}");
        write!(stdin, "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$1\r\nx\r\n", key.len())?;
    }
    drop(stdin);
    let status = child.wait()?;
    if !status.success() {
        bail!("redis-cli --pipe failed with {status}");
    }
    Ok(())
}

/// The table, as markdown.
pub(crate) fn table(rows: &[DeleteRow]) -> String {
    let mut text = format!(
        "| keys under the prefix | deleted | delete_pattern time | /api/posts P99 over {} s around it (c=100) | requests/s | errors |\n\
         |---|---|---|---|---|---|\n",
        LOAD.as_secs()
    );
    for row in rows {
        let _ = writeln!(
            text,
            "| {} | {} | {:.0} ms | {:.2} ms | {:.0} | {} |",
            row.keys,
            row.deleted,
            row.delete_ms,
            row.load.p99_ms,
            row.load.requests_per_sec(),
            row.load.socket_errors() + row.load.non_2xx
        );
    }
    text
}

/// The rows as JSON, for `--out`.
pub(crate) fn to_json(rows: &[DeleteRow]) -> Value {
    rows.iter()
        .map(|row| {
            json!({
                "keys": row.keys, "deleted": row.deleted, "delete_ms": row.delete_ms,
                "load": row.load.to_json(),
            })
        })
        .collect()
}

/// Errors: a short count, or errors under load.
pub(crate) fn errors(rows: &[DeleteRow]) -> Vec<String> {
    rows.iter()
        .flat_map(|row| {
            let short = (row.deleted != row.keys)
                .then(|| format!("delete_pattern deleted {} of {} keys", row.deleted, row.keys));
            let load = row
                .load
                .errors_in_words()
                .map(|e| format!("during the delete of {}: {e}", row.keys));
            short.into_iter().chain(load)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_tabled_and_a_short_delete_is_an_error() {
        let load = WrkResult { seconds: 10.0, requests: 1000, p99_ms: 3.5, ..WrkResult::default() };
        let rows = vec![
            DeleteRow { keys: 1000, deleted: 1000, delete_ms: 12.4, load: load.clone() },
            DeleteRow { keys: 5, deleted: 4, delete_ms: 1.0, load },
        ];
        let table = table(&rows);
        assert!(table.contains("| 1000 | 1000 | 12 ms | 3.50 ms | 100 | 0 |"), "{table}");
        assert_eq!(errors(&rows), vec!["delete_pattern deleted 4 of 5 keys".to_owned()]);
        assert_eq!(to_json(&rows)[0]["deleted"], 1000);
    }
}
