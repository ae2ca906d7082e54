//! `cargo xtask loadtest`: the guide's load test reproduced. Builds the release
//! perfkit-server, starts it with `--demo` (memory cache, or a private redis-server with
//! `--redis`), warms up, drives `/api/posts` and `/api/users/{id}/posts` with wrk and a Zipf
//! key distribution, and prints the guide's table beside the guide's figures.
//! `--compare` measures perfkit's layer and server beside plain axum and axum-prometheus;
//! `--scaling` measures how cost grows with connections and routes; `--cores 1,2,4,8` how
//! the comparison scales with the cores the server is pinned to (a large machine); `--near`
//! runs the demo on memory, on Redis without the near cache and on Redis with it.
//!
//! Everything runs on loopback, each run bounded in time and connections.

mod compare;
mod cores;
mod delete_pattern;
pub(crate) mod docs;
mod guide_workload;
pub(crate) mod http;
pub(crate) mod machine;
mod merge;
mod near;
mod options;
mod placement;
pub(crate) mod process;
pub(crate) mod redis;
mod scaling;
pub(crate) mod script;
mod targets;
pub(crate) mod wrk;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::server::target_dir;
use crate::shell::{cargo, execute, workspace_root};
use options::{Mode, Options};

/// How long each target is loaded before it is measured: connections opened, caches and
/// allocator warm.
pub(crate) const WARM_UP: Duration = Duration::from_secs(3);

pub(crate) fn run(args: &[String]) -> Result<()> {
    let options = Options::from_args(args)?;
    wrk::ensure_wrk()?;
    if !options.no_build {
        execute(cargo().args(["build", "--release", "-p", "perfkit-server"]))
            .context("cannot build the release server")?;
    }
    if !options.no_build && options.mode != Mode::Near {
        // Built on its own: together, axum's features would unify and rebuild the server.
        targets::build()?;
    }
    let cores = process::cores();
    // Said before the run, so the load average is the machine's and not the run's own.
    let machine = machine::describe();
    let (title, table, json, errors) = match options.mode {
        Mode::Seed => {
            let result = guide_workload::run(&options)?;
            let errors = result.check().err().map(|e| vec![e.to_string()]).unwrap_or_default();
            let title = format!(
                "Load test: the guide's table ({} cache)",
                if options.redis { "Redis" } else { "memory" }
            );
            (title, result.table(), result.to_json(), errors)
        }
        Mode::Compare => {
            let rows = compare::run(&options)?;
            let title = "Load test: perfkit beside plain axum and axum-prometheus, throughput and CPU per request".to_owned();
            (title, compare::table(&rows), compare::to_json(&rows), compare::errors(&rows))
        }
        Mode::Scaling => {
            let result = scaling::run(&options)?;
            let title = "Load test: how cost grows".to_owned();
            (title, result.table(), result.to_json(), result.errors())
        }
        Mode::Cores => {
            let rows = cores::run(&options)?;
            let title = "Load test: scaling with cores (server and wrk pinned apart)".to_owned();
            let (table, json) = (
                cores::table(&rows, options.connections),
                cores::to_json(&rows, options.connections),
            );
            (title, table, json, cores::errors(&rows))
        }
        Mode::Near => {
            let result = near::run(&options)?;
            let title = "Load test: the demo on memory, on Redis, and on Redis with the near cache"
                .to_owned();
            (title, result.table(), result.to_json(), result.errors())
        }
    };
    let command = command_line(args);
    let sharing = if options.mode == Mode::Cores {
        format!("server and wrk pinned apart on {cores} cores")
    } else {
        format!("wrk and the server sharing {cores} cores")
    };
    let timing = match options.mode {
        Mode::Seed | Mode::Compare | Mode::Near | Mode::Cores if options.rounds > 1 => format!(
            "{} s per target in {} rounds of {} s, the targets taken in turn in each",
            options.duration.as_secs(),
            options.rounds,
            options.segment().as_secs()
        ),
        _ => format!("{} s per run", options.duration.as_secs()),
    };
    println!("\n== {title}: {timing}, {sharing} ==\n\n{table}");
    if let Some(out) = &options.out {
        write_json(out, &command, &machine, json)?;
    }
    if options.write_docs {
        let section = match (options.mode, options.postgres_replicas) {
            (Mode::Seed, _) if options.redis => "loadtest-redis".to_owned(),
            // PostgreSQL, with and without replicas, each beside SQLite's table, not over it.
            (Mode::Seed, Some(replicas)) => format!("loadtest-postgres-{replicas}-replicas"),
            (Mode::Seed, None) => "loadtest".to_owned(),
            (Mode::Compare, _) => "loadtest-compare".to_owned(),
            (Mode::Scaling, _) => "loadtest-scaling".to_owned(),
            (Mode::Cores, _) => "loadtest-cores".to_owned(),
            (Mode::Near, _) => "loadtest-near".to_owned(),
        };
        let path = workspace_root().join("docs").join("BENCHMARKS.md");
        docs::write_section(
            &path,
            &section,
            &docs::Record {
                title: &format!("{title} ({timing})"),
                command: &command,
                machine: &machine,
            },
            &table,
        )?;
    }
    if !errors.is_empty() {
        bail!("errors under load:\n  {}", errors.join("\n  "));
    }
    println!("ok: no socket errors and no error answers");
    Ok(())
}

fn command_line(args: &[String]) -> String {
    // `--write-docs` and `--no-build` say how this run was made, not what it measured.
    let shown: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|arg| !matches!(*arg, "--write-docs" | "--no-build"))
        .collect();
    // `--out FILE` names a file of this machine: not part of the command to rerun.
    let mut words = vec!["cargo xtask loadtest"];
    let mut skip_next = false;
    for arg in shown {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        if arg == "--out" {
            skip_next = true;
            continue;
        }
        words.push(arg);
    }
    words.join(" ")
}

fn write_json(path: &PathBuf, command: &str, machine: &str, mut json: Value) -> Result<()> {
    json["command"] = Value::from(command);
    json["machine"] = Value::from(machine);
    json["date"] = Value::from(machine::today());
    let text = serde_json::to_string_pretty(&json).context("the result as JSON")?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// The demo's Zipf script, written into the target directory.
pub(crate) fn demo_script() -> Result<PathBuf> {
    script::write(&scripts_dir(), "demo-zipf.lua", &script::zipf_demo_script())
}

/// The fixed-path script, written into the target directory.
fn fixed_script() -> Result<PathBuf> {
    script::write(&scripts_dir(), "fixed-path.lua", &script::fixed_path_script())
}

fn scripts_dir() -> PathBuf {
    target_dir().join("xtask-loadtest")
}

/// Loads `url` for [`WARM_UP`]; its figures are not the run's (the answers' size is).
fn warm_up(url: &str, script: &std::path::Path, connections: u32) -> Result<wrk::WrkResult> {
    wrk::run(&wrk::Load { url, script, connections, duration: WARM_UP, label: "warm-up" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_recorded_leaves_out_local_paths_and_the_docs_flag() {
        let args =
            ["--compare", "--out", "/tmp/r.json", "--write-docs", "--no-build", "--duration", "5"]
                .map(String::from);
        assert_eq!(command_line(&args), "cargo xtask loadtest --compare --duration 5");
    }
}
