//! `cargo xtask soak --duration 10m`: mixed load for a long while, and whether the server
//! grows. perfkit-server `--demo` over a private Redis serves the demo's Zipf reads to wrk
//! throughout while a second thread keeps cycling through the other work a real deployment
//! sees: Prometheus scrapes, pattern deletes, live-stream clients connecting and leaving,
//! and optimizer config updates. Every `--sample-every` (10 s) the server's resident memory,
//! open file descriptors and tokio tasks are sampled; after the warm-up (the first fifth of
//! the run) each may grow by less than 5 %. The samples are printed, drawn as an SVG chart,
//! and with `--write-docs` written into docs/RELIABILITY.md (chart in docs/soak.svg).

mod activity;
mod chart;
mod options;
mod sample;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::loadtest::redis::PrivateRedis;
use crate::loadtest::wrk::{self, Load};
use crate::loadtest::{demo_script, docs, machine};
use crate::server::{Server, binary_path, target_dir};
use crate::shell::{cargo, execute, workspace_root};
use options::Options;
use sample::{Growth, Sample};

/// The largest growth after warm-up that passes.
const GROWTH_LIMIT: f64 = 0.05;

pub(crate) fn run(args: &[String]) -> Result<()> {
    let options = Options::from_args(args)?;
    wrk::ensure_wrk()?;
    execute(cargo().args(["build", "--release", "-p", "perfkit-server"]))
        .context("cannot build the release server")?;
    let machine = machine::describe();
    let redis = PrivateRedis::start()?;
    let mut server =
        Server::start(&binary_path("release"), &["--demo", "--redis-url", &redis.url])?;
    let outcome = soak(&server, &options);
    let stopped = server.stop();
    let (samples, activity) = outcome?;
    stopped?;
    drop(redis);

    let growth = sample::growth(&samples, options.warm_up());
    let table = sample::table(&samples, &growth, &activity);
    println!("\n== Soak: {} of mixed load ==\n\n{table}", humanize(options.duration));
    let svg = chart::svg(&samples, options.warm_up());
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
    let grown: Vec<&Growth> = growth.iter().filter(|g| g.ratio > GROWTH_LIMIT).collect();
    if !grown.is_empty() {
        let said: Vec<String> = grown.iter().map(|g| g.to_string()).collect();
        bail!("grew more than 5 % after warm-up: {}", said.join("; "));
    }
    println!("ok: RSS, descriptors and tasks grew less than 5 % after warm-up");
    Ok(())
}

fn soak(server: &Server, options: &Options) -> Result<(Vec<Sample>, activity::Counts)> {
    let script = demo_script()?;
    let url = format!("{}/api/posts", server.base);
    let done = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let load = scope.spawn(|| {
            wrk::run(&Load {
                url: &url,
                script: &script,
                connections: options.connections,
                duration: options.duration,
                label: "soak",
            })
        });
        let activity = scope.spawn(|| activity::cycle(&server.base, &done));
        let mut samples = Vec::new();
        let mut next_sample = Duration::ZERO;
        while started.elapsed() < options.duration {
            samples.push(Sample::take(server, started.elapsed())?);
            next_sample += options.sample_every;
            let wait = next_sample.min(options.duration).saturating_sub(started.elapsed());
            std::thread::sleep(wait);
        }
        done.store(true, Ordering::Relaxed);
        let counts =
            activity.join().map_err(|_| anyhow::anyhow!("the activity thread panicked"))?;
        let load = load.join().map_err(|_| anyhow::anyhow!("the load thread panicked"))??;
        samples.push(Sample::take(server, started.elapsed())?);
        let mut counts = counts?;
        counts.reads = load.requests;
        counts.read_errors = load.socket_errors() + load.non_2xx;
        Ok((samples, counts))
    })
}

fn humanize(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}
