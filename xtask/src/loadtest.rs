//! `cargo xtask loadtest`: the release server under `wrk -c 1000`, on
//! `/api/performance/summary` and, as the baseline of the same run, on
//! `/api/performance/health/live` (the cheapest endpoint). Prints both side by side and fails
//! when the summary run saw a socket error or a non-2xx answer.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::prerequisites::{is_root, on_path};
use crate::server::{Server, binary_path, with_open_file_limit};
use crate::shell::{cargo, execute};

/// What a run is asked for.
struct Plan {
    connections: u32,
    duration: Duration,
}

impl Plan {
    fn from_args(args: &[String]) -> Result<Plan> {
        let mut plan = Plan { connections: 1000, duration: Duration::from_secs(15) };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args.next().with_context(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--connections" => plan.connections = value.parse().context("--connections")?,
                "--duration" => {
                    plan.duration = Duration::from_secs(value.parse().context("--duration (s)")?);
                }
                other => bail!("unknown loadtest option {other:?} (--connections N, --duration S)"),
            }
        }
        Ok(plan)
    }
}

/// The endpoints measured: the baseline first, then the subject.
const TARGETS: [(&str, &str); 2] = [
    ("health/live (baseline)", "/api/performance/health/live"),
    ("summary", "/api/performance/summary"),
];

pub(crate) fn run(args: &[String]) -> Result<()> {
    let plan = Plan::from_args(args)?;
    ensure_wrk()?;
    execute(cargo().args(["build", "--release", "-p", "perfkit-server"]))
        .context("cannot build the release server")?;
    let mut server = Server::start(&binary_path("release"), &[])?;
    let outcome = measure(&server.base, &plan);
    let stopped = server.stop();
    let results = outcome?;
    stopped?;

    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "\n== wrk -c {} for {} s per endpoint, server and wrk sharing {cores} cores ==",
        plan.connections,
        plan.duration.as_secs()
    );
    println!("{}", table(&results));
    let (name, summary) = &results[1];
    if summary.socket_errors() > 0 || summary.non_2xx > 0 {
        bail!(
            "{name}: {} socket errors (connect {}, read {}, write {}, timeout {}) and {} non-2xx answers",
            summary.socket_errors(),
            summary.connect_errors,
            summary.read_errors,
            summary.write_errors,
            summary.timeouts,
            summary.non_2xx
        );
    }
    println!("ok: {name} served every request without an error");
    Ok(())
}

fn measure(base: &str, plan: &Plan) -> Result<Vec<(&'static str, WrkResult)>> {
    let mut results = Vec::new();
    for (name, path) in TARGETS {
        println!("wrk: {name} ({path})");
        let output = with_open_file_limit("wrk")
            .args(["-t", "2", "-c", &plan.connections.to_string()])
            .arg("-d")
            .arg(format!("{}s", plan.duration.as_secs()))
            .args(["--timeout", "5s", "--latency"])
            .arg(format!("{base}{path}"))
            .output()
            .context("cannot run wrk")?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            bail!(
                "wrk failed with {}: {text}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        results
            .push((name, WrkResult::parse(&text).with_context(|| format!("wrk said:\n{text}"))?));
    }
    Ok(results)
}

fn table(results: &[(&str, WrkResult)]) -> String {
    let mut lines = vec![format!(
        "{:<24} {:>12} {:>10} {:>10} {:>10} {:>10} {:>14} {:>8}",
        "endpoint", "requests/s", "avg", "p50", "p99", "max", "socket errors", "non-2xx"
    )];
    for (name, r) in results {
        lines.push(format!(
            "{:<24} {:>12.0} {:>10} {:>10} {:>10} {:>10} {:>14} {:>8}",
            name,
            r.requests_per_sec,
            millis(r.latency_avg_ms),
            millis(r.latency_p50_ms),
            millis(r.latency_p99_ms),
            millis(r.latency_max_ms),
            r.socket_errors(),
            r.non_2xx
        ));
    }
    lines.join("\n")
}

fn millis(value: f64) -> String {
    format!("{value:.2} ms")
}

/// `wrk` on PATH: installed with apt-get when running as root on Debian, else named.
fn ensure_wrk() -> Result<()> {
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

/// `program` run through sh after raising the soft open-file limit to the hard one: 1000
/// connections need more descriptors than the usual soft limit of 1024.
/// The figures of one wrk run.
#[derive(Debug, Default, PartialEq)]
struct WrkResult {
    requests_per_sec: f64,
    latency_avg_ms: f64,
    latency_max_ms: f64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    connect_errors: u64,
    read_errors: u64,
    write_errors: u64,
    timeouts: u64,
    non_2xx: u64,
}

impl WrkResult {
    fn socket_errors(&self) -> u64 {
        self.connect_errors + self.read_errors + self.write_errors + self.timeouts
    }

    /// Reads wrk's report (run with `--latency`); absent error lines mean no errors.
    fn parse(text: &str) -> Result<WrkResult> {
        let mut result = WrkResult::default();
        let mut saw_rate = false;
        for line in text.lines().map(str::trim) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["Latency", avg, _stdev, max, ..] => {
                    result.latency_avg_ms = duration_ms(avg)?;
                    result.latency_max_ms = duration_ms(max)?;
                }
                ["50%", value] => result.latency_p50_ms = duration_ms(value)?,
                ["99%", value] => result.latency_p99_ms = duration_ms(value)?,
                ["Requests/sec:", value] => {
                    result.requests_per_sec = value.parse().context("Requests/sec")?;
                    saw_rate = true;
                }
                ["Non-2xx", "or", "3xx", "responses:", value] => {
                    result.non_2xx = value.parse().context("non-2xx count")?;
                }
                ["Socket", "errors:", ..] => {
                    for pair in line.trim_start_matches("Socket errors:").split(',') {
                        let mut parts = pair.split_whitespace();
                        let (Some(kind), Some(count)) = (parts.next(), parts.next()) else {
                            bail!("unexpected socket error line {line:?}");
                        };
                        let count: u64 = count.parse().context("socket error count")?;
                        match kind {
                            "connect" => result.connect_errors = count,
                            "read" => result.read_errors = count,
                            "write" => result.write_errors = count,
                            "timeout" => result.timeouts = count,
                            other => bail!("unknown socket error kind {other:?}"),
                        }
                    }
                }
                _ => {}
            }
        }
        if !saw_rate {
            bail!("no Requests/sec line in wrk's report");
        }
        Ok(result)
    }
}

/// A wrk duration (`812.00us`, `1.25ms`, `2.00s`, `1.00m`) in milliseconds.
fn duration_ms(text: &str) -> Result<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().with_context(|| format!("duration {text:?}"))?;
    let scale = match unit {
        "us" => 1e-3,
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3600e3,
        _ => bail!("unknown duration unit in {text:?}"),
    };
    Ok(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 15s test @ http://127.0.0.1:8080/api/performance/summary
  2 threads and 1000 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    45.12ms   10.01ms   1.20s    80.00%
    Req/Sec    11.00k     1.00k   13.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%   50.00ms
     90%   60.00ms
     99%   90.50ms
  330000 requests in 15.00s, 300.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 12
  Non-2xx or 3xx responses: 5
Requests/sec:  22000.50
Transfer/sec:     20.00MB
";

    #[test]
    fn reads_every_figure_of_a_wrk_report() {
        let result = WrkResult::parse(REPORT).unwrap();
        assert_eq!(
            result,
            WrkResult {
                requests_per_sec: 22000.5,
                latency_avg_ms: 45.12,
                latency_max_ms: 1200.0,
                latency_p50_ms: 0.812,
                latency_p99_ms: 90.5,
                connect_errors: 0,
                read_errors: 3,
                write_errors: 0,
                timeouts: 12,
                non_2xx: 5,
            }
        );
        assert_eq!(result.socket_errors(), 15);
    }

    #[test]
    fn a_clean_report_has_no_errors_and_a_report_without_a_rate_is_refused() {
        let clean: String = REPORT
            .lines()
            .filter(|l| !l.contains("Socket errors") && !l.contains("Non-2xx"))
            .map(|l| format!("{l}\n"))
            .collect();
        let result = WrkResult::parse(&clean).unwrap();
        assert_eq!((result.socket_errors(), result.non_2xx), (0, 0));
        assert!(WrkResult::parse("wrk: connection refused").is_err());
    }

    #[test]
    fn options_have_defaults_and_are_checked() {
        let plan = Plan::from_args(&[]).unwrap();
        assert_eq!((plan.connections, plan.duration), (1000, Duration::from_secs(15)));
        let args = ["--duration", "3", "--connections", "50"].map(String::from);
        let plan = Plan::from_args(&args).unwrap();
        assert_eq!((plan.connections, plan.duration), (50, Duration::from_secs(3)));
        assert!(Plan::from_args(&["--threads".to_owned(), "2".to_owned()]).is_err());
        assert!(Plan::from_args(&["--duration".to_owned()]).is_err());
    }
}
