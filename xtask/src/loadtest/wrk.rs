//! Running wrk with one of the generated scripts, a progress bar while it runs, and reading
//! the JSON line its `done` callback prints.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::placement::Placement;
use super::script::RESULT_PREFIX;
use crate::prerequisites::{is_root, on_path};
use crate::shell::execute;

/// One wrk run: where, how hard, for how long.
pub(crate) struct Load<'a> {
    /// `http://127.0.0.1:PORT/path`.
    pub(crate) url: &'a str,
    pub(crate) script: &'a Path,
    pub(crate) connections: u32,
    pub(crate) duration: Duration,
    /// What the progress bar says.
    pub(crate) label: &'a str,
}

/// The figures of one wrk run.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct WrkResult {
    pub(crate) seconds: f64,
    pub(crate) requests: u64,
    /// Bytes read from the server: answers, headers included.
    pub(crate) bytes: u64,
    pub(crate) connect_errors: u64,
    pub(crate) read_errors: u64,
    pub(crate) write_errors: u64,
    pub(crate) timeouts: u64,
    /// Answers with a status of 400 or more (wrk's `errors.status`).
    pub(crate) non_2xx: u64,
    pub(crate) latency_mean_ms: f64,
    pub(crate) latency_max_ms: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
    /// Latency in ms at each of [`PERCENTILE_POINTS`](super::merge::PERCENTILE_POINTS), so
    /// segments of one target can be merged; empty when wrk's script did not report it.
    pub(crate) distribution: Vec<f64>,
}

impl WrkResult {
    pub(crate) fn socket_errors(&self) -> u64 {
        self.connect_errors + self.read_errors + self.write_errors + self.timeouts
    }

    pub(crate) fn requests_per_sec(&self) -> f64 {
        if self.seconds > 0.0 { self.requests as f64 / self.seconds } else { 0.0 }
    }

    /// The mean answer, headers included, in bytes.
    pub(crate) fn mean_answer_bytes(&self) -> u64 {
        self.bytes.checked_div(self.requests).unwrap_or(0)
    }

    /// Socket errors and error answers over requests.
    pub(crate) fn error_rate(&self) -> f64 {
        let errors = (self.socket_errors() + self.non_2xx) as f64;
        if self.requests == 0 {
            if errors > 0.0 { 1.0 } else { 0.0 }
        } else {
            errors / self.requests as f64
        }
    }

    /// The errors, said in words, or `None` when there were none.
    pub(crate) fn errors_in_words(&self) -> Option<String> {
        (self.socket_errors() + self.non_2xx > 0).then(|| {
            format!(
                "{} socket errors (connect {}, read {}, write {}, timeout {}) and {} answers >= 400",
                self.socket_errors(),
                self.connect_errors,
                self.read_errors,
                self.write_errors,
                self.timeouts,
                self.non_2xx
            )
        })
    }

    /// Reads the `done` callback's JSON line out of wrk's output.
    pub(crate) fn parse(output: &str) -> Result<WrkResult> {
        let line = output
            .lines()
            .find_map(|line| line.strip_prefix(RESULT_PREFIX))
            .context("wrk printed no result line (did the script's done callback run?)")?;
        let json: Value = serde_json::from_str(line).context("wrk's result line")?;
        let number = |pointer: &str| -> Result<f64> {
            json.pointer(pointer)
                .and_then(Value::as_f64)
                .with_context(|| format!("{pointer} in {line}"))
        };
        let count = |pointer: &str| -> Result<u64> { Ok(number(pointer)? as u64) };
        let ms = |pointer: &str| -> Result<f64> { Ok(number(pointer)? / 1e3) };
        Ok(WrkResult {
            seconds: number("/duration_us")? / 1e6,
            requests: count("/requests")?,
            bytes: count("/bytes")?,
            connect_errors: count("/errors/connect")?,
            read_errors: count("/errors/read")?,
            write_errors: count("/errors/write")?,
            timeouts: count("/errors/timeout")?,
            non_2xx: count("/errors/status")?,
            latency_mean_ms: ms("/latency_us/mean")?,
            latency_max_ms: ms("/latency_us/max")?,
            p50_ms: ms("/latency_us/p50")?,
            p90_ms: ms("/latency_us/p90")?,
            p95_ms: ms("/latency_us/p95")?,
            p99_ms: ms("/latency_us/p99")?,
            p999_ms: ms("/latency_us/p999")?,
            distribution: json
                .pointer("/percentiles_us")
                .and_then(Value::as_array)
                .map(|points| points.iter().filter_map(Value::as_f64).map(|us| us / 1e3).collect())
                .unwrap_or_default(),
        })
    }

    /// The figures as JSON, for `--out`.
    pub(crate) fn to_json(&self) -> Value {
        serde_json::json!({
            "seconds": self.seconds,
            "requests": self.requests,
            "requests_per_sec": self.requests_per_sec(),
            "bytes": self.bytes,
            "errors": {
                "connect": self.connect_errors, "read": self.read_errors,
                "write": self.write_errors, "timeout": self.timeouts, "status": self.non_2xx,
            },
            "error_rate": self.error_rate(),
            "latency_ms": {
                "mean": self.latency_mean_ms, "max": self.latency_max_ms, "p50": self.p50_ms,
                "p90": self.p90_ms, "p95": self.p95_ms, "p99": self.p99_ms, "p999": self.p999_ms,
            },
        })
    }
}

/// Runs wrk (two threads, 5 s request timeout) with a progress bar, and reads its result.
pub(crate) fn run(load: &Load<'_>) -> Result<WrkResult> {
    run_on(load, &Placement::shared())
}

/// [`run`] with wrk where `placement` puts it, with its thread count.
pub(crate) fn run_on(load: &Load<'_>, placement: &Placement) -> Result<WrkResult> {
    let mut child = placement
        .load_command()
        .args(["-t", &placement.wrk_threads.to_string()])
        .args(["-c", &load.connections.to_string()])
        .arg("-d")
        .arg(format!("{}s", load.duration.as_secs()))
        .args(["--timeout", "5s", "-s"])
        .arg(load.script)
        .arg(load.url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run wrk")?;
    let bar = ProgressBar::new(load.duration.as_secs());
    bar.set_style(
        ProgressStyle::with_template("{msg:40} [{bar:30}] {pos}/{len} s")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    bar.set_message(format!("{} c={}", load.label, load.connections));
    let started = Instant::now();
    // wrk prints only when it ends, so its pipes cannot fill while it runs.
    while child.try_wait()?.is_none() {
        bar.set_position(started.elapsed().as_secs().min(load.duration.as_secs()));
        std::thread::sleep(Duration::from_millis(200));
    }
    bar.finish_and_clear();
    let output = child.wait_with_output().context("wrk's output")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed with {}: {text}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    WrkResult::parse(&text).with_context(|| format!("wrk said:\n{text}"))
}

/// `wrk` on PATH: installed with apt-get when running as root on Debian, else named.
pub(crate) fn ensure_wrk() -> Result<()> {
    if on_path("wrk") {
        return Ok(());
    }
    if is_root() && on_path("apt-get") {
        println!("installing wrk with apt-get");
        execute(Command::new("apt-get").args(["update", "-qq"]))?;
        execute(
            Command::new("apt-get")
                .args(["install", "-y", "-qq", "--no-install-recommends", "wrk"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        if on_path("wrk") {
            return Ok(());
        }
    }
    bail!("the load test needs wrk: install it (Debian/Ubuntu: sudo apt-get install wrk)")
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 3s test @ http://127.0.0.1:8080/api/posts
  2 threads and 50 connections
xtask-loadtest-result {\"duration_us\":3000000,\"requests\":30000,\"bytes\":1000,\
\"errors\":{\"connect\":0,\"read\":3,\"write\":0,\"status\":5,\"timeout\":12},\
\"latency_us\":{\"mean\":1500.5,\"max\":90000,\"p50\":812,\"p90\":2000,\"p95\":3000,\
\"p99\":9050,\"p999\":20000}}
";

    #[test]
    fn reads_every_figure_of_the_result_line() {
        let result = WrkResult::parse(OUTPUT).unwrap();
        assert_eq!(
            result,
            WrkResult {
                seconds: 3.0,
                requests: 30000,
                bytes: 1000,
                connect_errors: 0,
                read_errors: 3,
                write_errors: 0,
                timeouts: 12,
                non_2xx: 5,
                latency_mean_ms: 1.5005,
                latency_max_ms: 90.0,
                p50_ms: 0.812,
                p90_ms: 2.0,
                p95_ms: 3.0,
                p99_ms: 9.05,
                p999_ms: 20.0,
                distribution: Vec::new(),
            }
        );
        assert_eq!(result.socket_errors(), 15);
        assert!((result.requests_per_sec() - 10_000.0).abs() < 1e-9);
        assert!((result.error_rate() - 20.0 / 30_000.0).abs() < 1e-12);
        assert!(result.errors_in_words().unwrap().starts_with("15 socket errors"));
    }

    #[test]
    fn a_clean_run_has_no_errors_and_output_without_a_result_is_refused() {
        let clean = WrkResult { requests: 10, seconds: 1.0, ..WrkResult::default() };
        assert_eq!((clean.error_rate(), clean.errors_in_words()), (0.0, None));
        assert!(WrkResult::parse("wrk: connection refused").is_err());
        assert!(WrkResult::parse("xtask-loadtest-result {\"requests\":1}").is_err());
    }
}
