//! perfkit's project automation, in the cargo-xtask pattern: `cargo xtask <command>`.
//!
//! Commands:
//! - `ci`: every check CI runs, in order, stopping at the first failure.
//! - `public-types`: every library crate's public type names, and whether one is defined twice.
//! - `bench`: the criterion benchmarks, then a table of each figure beside its baseline.
//! - `schemathesis`: schemathesis against the running server's OpenAPI document.
//! - `fuzz`: every cargo-fuzz target in `fuzz/` for a while each (nightly, cargo-fuzz).
//! - `loadtest`: the guide's load test on the demo (`--compare`: beside plain axum and
//!   axum-prometheus; `--scaling`: by connections and routes; `--cores`: by cores).
//! - `chaos`: faults under load, and whether the server absorbs them.
//! - `soak`: mixed load for minutes, and whether memory, descriptors or tasks grow.
//! - `doc-links`: every path the docs name is in the repository.

mod bench;
mod chaos;
mod ci;
mod cluster;
mod doc_links;
mod fuzz;
mod layer_only;
mod loadtest;
mod machine;
mod prerequisites;
mod public_types;
mod schemathesis;
mod server;
mod shell;
mod soak;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci             prerequisites (redis-server, alertmanager), formatting, doc links,
                 public type names, clippy (warnings denied), tests, doc tests, the
                 layer-only host's crate count, cargo-deny
  public-types   list every library crate's public types (struct, enum, trait,
                 type, union; read from source, #[cfg(test)] left out) and fail,
                 naming both places, if one name is defined twice in the workspace
  bench [--write-docs] [ARGS]
                 run the criterion benchmarks (ARGS go to cargo bench, default
                 --workspace) and compare each figure with its baseline: met,
                 missed, or reference (a row with no target, never counted as met);
                 --write-docs writes the table, command, machine and date into
                 docs/BENCHMARKS.md between its markers
  bench-report [--write-docs]
                 print the comparison from the last run's estimates, without running
  loadtest [--redis] [--database-url URL] [--connections N] [--duration S] [--rounds N] [--out FILE] [--write-docs]
                 the guide's load test: build and start the release perfkit-server
                 --demo (memory cache, or a private redis-server with --redis; its
                 SQLite database under target/, or PostgreSQL with --database-url), warm
                 up, drive /api/posts and /api/users/{id}/posts with wrk and Zipf keys
                 (default 1000 connections for 30 s), print P50/P95/P99, throughput,
                 error rate, cache hit rate, server memory and CPU, the database's share
                 of request time and the pool beside the guide's figures, and the ratio
                 to plain axum (its JSON handler, and answers of the demo's size); fails
                 on any socket error or error answer. Each target's time is split into
                 --rounds (default 3) taken in turn, so a machine that slows down for a
                 while slows every target alike. --out writes the result as JSON;
                 --write-docs replaces its section of docs/BENCHMARKS.md
  loadtest --compare [--duration S] [--rounds N]
                 the same cheap JSON answer from plain axum, + perfkit's router and
                 layer, + axum-prometheus, and perfkit-server's /health/live and
                 /summary, at c=100 and c=1000, as ratios of plain axum (15 s per
                 target, in 3 rounds)
  loadtest --scaling [--duration S]
                 /api/posts at 10, 100, 1000 and 5000 connections; recorder memory and
                 scrape time at 10, 1 000 and 100 000 routes; delete_pattern of 1 000 to
                 1 000 000 keys in a private Redis while the demo is loaded
  loadtest --near [--connections N] [--duration S]
                 the demo on memory, on a private Redis with --no-near-cache, and on
                 Redis with the near cache (the default), in one run; fails below 0.8x
                 the memory demo's throughput with the near cache (10 s per run)
  loadtest --cores 1,2,4,8 [--connections N] [--duration S] [--no-build]
                 on a large machine: the --compare targets with the server pinned
                 (taskset) to the first N cores and wrk to cores of its own, for each
                 N; --no-build uses the release binaries already in target/
  chaos [--short] [--connections N] [--duration S] [--write-docs]
                 faults under load on perfkit-server --demo over a private Redis:
                 Redis killed and restarted, frozen, full (noeviction), stream
                 clients that stop reading; per fault: requests, >= 500s, P99,
                 recovery time, memory, what health and alerts said; fails on any
                 5xx, timeout or missed recovery. --short (CI): 3 s faults, debug build
  soak [--duration 10m] [--sample-every 10s] [--connections N] [--write-docs] [--leaky]
                 mixed load on perfkit-server --demo over a private Redis (demo reads,
                 scrapes, pattern deletes, stream clients coming and going, config
                 updates); RSS, open descriptors and tokio tasks sampled, charted (SVG)
                 and checked: each grows under 5 % from the first to the last loaded
                 sample after the warm-up (first fifth), and is back within 5 % of the
                 quiet baseline once the load stops. --leaky: a test-only leaking server
                 build (one descriptor per stream client) that the check must fail
  cluster [--delay-ms 0.5] [--instances 1,2,3] [--duration S] [--connections N]
          [--write-docs] [--no-build] [--faults]
                 a Redis Cluster (3 primaries, 3 replicas) behind a delaying proxy per
                 node and 1..N perfkit-server --demo instances on it, near cache off and
                 on: throughput, P95, hit rate, Redis commands per request, staleness
                 of a writer/reader pair across instances; fails on errors under load.
                 --faults: a primary failed over, then one killed, under load instead
                 (docs/RELIABILITY.md)
  schemathesis [--max-examples N] [--seed N|random]
                 start perfkit-server and run schemathesis (--checks all, admin
                 token) against its OpenAPI document; default 100 examples per
                 operation, `ci` runs 10; the pinned seed unless --seed
  fuzz [--time 60s] [--target NAME]
                 build the cargo-fuzz targets in fuzz/ (nightly; cargo-fuzz is
                 installed when missing) and run each for --time (default 60s) from
                 fuzz/seeds; a crash fails the run and its input is copied into
                 fuzz/regressions/<target>/, which the crates' tests replay
  doc-links      every path the docs and comments name is a file in the
                 repository, and docs/ARCHITECTURE.md is at most 300 lines
  help           show this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("public-types") => public_types::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("bench-report") => bench::report(&args[1..]),
        Some("loadtest") => loadtest::run(&args[1..]),
        Some("chaos") => chaos::run(&args[1..]),
        Some("cluster") => cluster::run(&args[1..]),
        Some("soak") => soak::run(&args[1..]),
        Some("schemathesis") => schemathesis::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("doc-links") => doc_links::run(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("unknown command {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}
