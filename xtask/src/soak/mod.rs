//! `cargo xtask soak --duration 10m`: mixed load for a long while, and whether the server
//! grows. perfkit-server `--demo` over a private Redis serves the demo's Zipf reads to wrk
//! while a second thread keeps cycling through the other work a real deployment sees:
//! Prometheus scrapes, pattern deletes, live-stream clients connecting and leaving, and
//! optimizer config updates. The run has phases: a warm-up under load (the first fifth),
//! a pause in which the server settles (the quiet baseline), the rest under load, and a
//! second pause (quiet after). Every `--sample-every` (10 s) under load, and once settled in
//! each pause, the server's resident memory, open file descriptors and tokio tasks are
//! sampled. Two checks, each a growth under 5 %: the first loaded sample after the warm-up
//! against the last loaded one, and the quiet sample after against the quiet baseline. A
//! loaded server holds more descriptors and tasks than a quiet one, so comparing across the
//! two (as this check once did) would hide a leak. The samples are printed, drawn as an SVG
//! chart, and with `--write-docs` written into docs/RELIABILITY.md (chart in docs/soak.svg).
//!
//! `--leaky` proves the check can fail: it builds the server with the test-only
//! `leak-stream-descriptors` feature (one descriptor kept per live-stream client) and
//! succeeds only when the soak check fails on open descriptors.

mod activity;
mod chart;
mod options;
mod sample;
mod table;
mod verdict;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::loadtest::redis::PrivateRedis;
use crate::loadtest::wrk::{self, Load};
use crate::loadtest::{demo_script, docs, machine};
use crate::server::{Server, binary_path, target_dir};
use crate::shell::{cargo, execute, workspace_root};
use activity::Counts;
use options::Options;
use sample::{Phase, Sample};
use verdict::Verdict;

/// The server feature that keeps one descriptor per live-stream client (test-only).
const LEAK_FEATURE: &str = "leak-stream-descriptors";

pub(crate) fn run(args: &[String]) -> Result<()> {
    let options = Options::from_args(args)?;
    wrk::ensure_wrk()?;
    let mut build = cargo();
    build.args(["build", "--release", "-p", "perfkit-server"]);
    if options.leaky {
        build.args(["--features", LEAK_FEATURE]);
    }
    execute(&mut build).context("cannot build the release server")?;
    let machine = machine::describe();
    let redis = PrivateRedis::start()?;
    let mut server =
        Server::start(&binary_path("release"), &["--demo", "--redis-url", &redis.url])?;
    let outcome = soak(&server, &options);
    let stopped = server.stop();
    let (samples, activity) = outcome?;
    stopped?;
    drop(redis);

    let verdicts = verdict::verdicts(&samples)?;
    let table = table::table(&samples, &verdicts, &activity);
    let kind = if options.leaky { " (leaking build)" } else { "" };
    println!("\n== Soak{kind}: {} of mixed load ==\n\n{table}", humanize(options.duration));
    write_chart(&samples, &options)?;
    if options.write_docs {
        let body = format!("![RSS, descriptors and tasks over the soak](soak.svg)\n\n{table}");
        docs::write_section(
            &workspace_root().join("docs").join("RELIABILITY.md"),
            "soak",
            &docs::Record {
                title: "Soak: mixed load, memory, descriptors and tasks (`cargo xtask soak`)",
                command: &options.command_line(),
                machine: &machine,
            },
            &body,
        )?;
    }
    judge(&verdicts, options.leaky)
}

/// The run's outcome: every verdict passed, or (with `--leaky`) the descriptors failed.
fn judge(verdicts: &[Verdict], leaky: bool) -> Result<()> {
    let failed: Vec<String> =
        verdicts.iter().filter(|v| !v.passed()).map(Verdict::to_string).collect();
    if leaky {
        let caught = verdicts.iter().any(|v| !v.passed() && v.series == "open descriptors");
        if !caught {
            bail!("the soak check missed the leaking build's descriptors: {verdicts:?}");
        }
        println!("ok: the leaking build failed the soak check, as it must: {}", failed.join("; "));
        return Ok(());
    }
    if !failed.is_empty() {
        bail!("grew more than 5 %: {}", failed.join("; "));
    }
    println!("ok: RSS, descriptors and tasks grew less than 5 % under load and back at baseline");
    Ok(())
}

fn write_chart(samples: &[Sample], options: &Options) -> Result<()> {
    let svg = chart::svg(samples);
    let chart_path = if options.write_docs {
        workspace_root().join("docs").join("soak.svg")
    } else {
        target_dir().join("xtask-soak").join("soak.svg")
    };
    if let Some(dir) = chart_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&chart_path, svg)
        .with_context(|| format!("cannot write {}", chart_path.display()))?;
    println!("chart: {}", chart_path.display());
    Ok(())
}

/// The phases in turn: start, warm-up under load, quiet baseline, under load, quiet after.
fn soak(server: &Server, options: &Options) -> Result<(Vec<Sample>, Counts)> {
    let started = Instant::now();
    let mut samples = vec![Sample::take(server, started, Phase::Start)?];
    let mut counts = Counts::default();
    let phases = [
        (Phase::WarmUp, options.warm_up(), Phase::QuietBaseline),
        (Phase::Loaded, options.duration.saturating_sub(options.warm_up()), Phase::QuietAfter),
    ];
    for (phase, length, quiet) in phases {
        let run = Run { server, options, started, phase, length };
        counts.add(&run.under_load(&mut samples)?);
        samples.push(Sample::take_settled(server, started, quiet)?);
    }
    Ok((samples, counts))
}

/// One stretch under load.
struct Run<'a> {
    server: &'a Server,
    options: &'a Options,
    started: Instant,
    phase: Phase,
    length: Duration,
}

impl Run<'_> {
    /// wrk and the side actions for `length`, sampled every `sample_every` while both run
    /// (never at the very end, when wrk may already have closed its connections).
    fn under_load(&self, samples: &mut Vec<Sample>) -> Result<Counts> {
        let script = demo_script()?;
        let url = format!("{}/api/posts", self.server.base);
        let done = AtomicBool::new(false);
        let phase_started = Instant::now();
        std::thread::scope(|scope| {
            let load = scope.spawn(|| {
                wrk::run(&Load {
                    url: &url,
                    script: &script,
                    connections: self.options.connections,
                    duration: self.length,
                    label: self.phase.name(),
                })
            });
            let activity = scope.spawn(|| activity::cycle(&self.server.base, &done));
            let mut next_sample = self.options.sample_every;
            let sampled = loop {
                if next_sample >= self.length {
                    break Ok(());
                }
                std::thread::sleep(next_sample.saturating_sub(phase_started.elapsed()));
                match Sample::take(self.server, self.started, self.phase) {
                    Ok(sample) => samples.push(sample),
                    Err(error) => break Err(error),
                }
                next_sample += self.options.sample_every;
            };
            // The side actions stop with wrk, so the quiet sample that follows is quiet.
            let load = load.join().map_err(|_| anyhow::anyhow!("the load thread panicked"));
            done.store(true, Ordering::Relaxed);
            let counts =
                activity.join().map_err(|_| anyhow::anyhow!("the activity thread panicked"))?;
            sampled?;
            let load = load??;
            let mut counts = counts?;
            counts.reads = load.requests;
            counts.read_errors = load.socket_errors() + load.non_2xx;
            Ok(counts)
        })
    }
}

fn humanize(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}
