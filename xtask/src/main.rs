//! perfkit's project automation, in the cargo-xtask pattern: `cargo xtask <command>`.
//!
//! Commands:
//! - `ci`: every check CI runs, in order, stopping at the first failure.
//! - `bench`: the criterion benchmarks, then a table of each figure beside its baseline.
//! - `schemathesis`: schemathesis against the running server's OpenAPI document.
//! - `loadtest`: the release server under `wrk -c 1000`, summary beside the cheapest endpoint.

mod bench;
mod ci;
mod loadtest;
mod machine;
mod prerequisites;
mod schemathesis;
mod server;
mod shell;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci             prerequisites (redis-server, alertmanager), formatting, clippy
                 (warnings denied), tests, doc tests, cargo-deny
  bench [--write-docs] [ARGS]
                 run the criterion benchmarks (ARGS go to cargo bench, default
                 --workspace) and compare each figure with its baseline: met,
                 missed, or reference (a row with no target, never counted as met);
                 --write-docs writes the table, command, machine and date into
                 docs/BENCHMARKS.md between its markers
  bench-report [--write-docs]
                 print the comparison from the last run's estimates, without running
  loadtest [--connections N] [--duration S]
                 start the release perfkit-server and load /api/performance/summary
                 and /health/live with wrk (default -c 1000 for 15 s each); fails on
                 socket errors or non-2xx answers from summary
  schemathesis [--max-examples N]
                 start perfkit-server and run schemathesis (--checks all, admin
                 token) against its OpenAPI document; default 100 examples per
                 operation, `ci` runs 10
  help           show this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("bench-report") => bench::report(&args[1..]),
        Some("loadtest") => loadtest::run(&args[1..]),
        Some("schemathesis") => schemathesis::run(&args[1..]),
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
