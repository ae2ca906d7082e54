//! `cargo xtask bench`: runs the criterion benchmarks, then prints each subject beside the
//! baseline its issue names, from the same run, with the target and whether it is met.

use std::path::Path;

use anyhow::{Context, Result};

use crate::shell::{cargo, execute, workspace_root};

/// A figure to judge, from criterion's mean estimate of `group/function`.
#[derive(Clone, Copy)]
struct Bench {
    group: &'static str,
    function: &'static str,
}

const fn bench(group: &'static str, function: &'static str) -> Bench {
    Bench { group, function }
}

/// How a subject is judged against its baseline.
#[derive(Clone, Copy)]
enum Target {
    /// subject time <= factor x baseline time.
    AtMostTimes(f64),
    /// baseline time >= factor x subject time (the subject is `factor` times faster).
    FasterBy(f64),
    /// subject time - baseline time <= this many nanoseconds (a layer's added cost).
    AddsAtMostNanos(f64),
    /// Two-thread throughput >= factor x one-thread throughput, where `subject` is the
    /// two-thread time for one operation on each thread and `baseline` the one-thread time.
    ScalesBy(f64),
    /// subject time <= this many nanoseconds; no baseline.
    UnderNanos(f64),
}

struct Comparison {
    what: &'static str,
    subject: Bench,
    baseline: Option<Bench>,
    target: Target,
}

const COMPARISONS: &[Comparison] = &[
    Comparison {
        what: "record_request, no route, vs prometheus Histogram::observe",
        subject: bench("record_request", "perfkit_no_route"),
        baseline: Some(bench("record_request", "prometheus_histogram_observe")),
        target: Target::AtMostTimes(1.5),
    },
    Comparison {
        what: "record_request, with route, vs HistogramVec::with_label_values(3).observe",
        subject: bench("record_request", "perfkit_route"),
        baseline: Some(bench("record_request", "prometheus_histogram_vec_labelled")),
        target: Target::AtMostTimes(1.0),
    },
    Comparison {
        what: "record_request, with route, vs Mutex<hdrhistogram>::record",
        subject: bench("record_request", "perfkit_route"),
        baseline: Some(bench("record_request", "mutex_hdrhistogram")),
        target: Target::AtMostTimes(f64::INFINITY),
    },
    Comparison {
        what: "2-thread scaling, record_request no route",
        subject: bench("record_request_2_threads", "perfkit_no_route"),
        baseline: Some(bench("record_request", "perfkit_no_route")),
        target: Target::ScalesBy(1.6),
    },
    Comparison {
        what: "2-thread scaling, record_request with route",
        subject: bench("record_request_2_threads", "perfkit_route"),
        baseline: Some(bench("record_request", "perfkit_route")),
        target: Target::ScalesBy(1.6),
    },
    Comparison {
        what: "2-thread scaling, prometheus Histogram::observe (for reference)",
        subject: bench("record_request_2_threads", "prometheus_histogram_observe"),
        baseline: Some(bench("record_request", "prometheus_histogram_observe")),
        target: Target::ScalesBy(0.0),
    },
    Comparison {
        what: "exposition of 1 000 routes vs prometheus gather+encode of 1 000 counters + 1 000 histograms",
        subject: bench("exposition_1000_routes", "perfkit_render"),
        baseline: Some(bench("exposition_1000_routes", "prometheus_gather_encode")),
        target: Target::AtMostTimes(f64::INFINITY),
    },
    Comparison {
        what: "MemoryCache get vs raw moka get (throughput >= 0.85x)",
        subject: bench("memory_get", "perfkit"),
        baseline: Some(bench("memory_get", "moka")),
        target: Target::AtMostTimes(1.0 / 0.85),
    },
    Comparison {
        what: "MemoryCache set vs raw moka insert (throughput >= 0.85x)",
        subject: bench("memory_set", "perfkit"),
        baseline: Some(bench("memory_set", "moka")),
        target: Target::AtMostTimes(1.0 / 0.85),
    },
    Comparison {
        what: "MemoryCache set vs moka insert with the same eviction listener (for reference)",
        subject: bench("memory_set", "perfkit"),
        baseline: Some(bench("memory_set", "moka_listener")),
        target: Target::AtMostTimes(1.0 / 0.85),
    },
    Comparison {
        what: "RedisCache get vs raw fred GET (throughput >= 0.9x)",
        subject: bench("redis_get", "perfkit"),
        baseline: Some(bench("redis_get", "fred")),
        target: Target::AtMostTimes(1.0 / 0.9),
    },
    Comparison {
        what: "RedisCache set vs raw fred SET (throughput >= 0.9x)",
        subject: bench("redis_set", "perfkit"),
        baseline: Some(bench("redis_set", "fred")),
        target: Target::AtMostTimes(1.0 / 0.9),
    },
    Comparison {
        what: "RedisCache mget of 100 keys vs 100 single GETs",
        subject: bench("redis_mget_100", "perfkit"),
        baseline: Some(bench("redis_mget_100", "single_calls")),
        target: Target::FasterBy(10.0),
    },
    Comparison {
        what: "RedisCache mset of 100 keys vs 100 single SETs",
        subject: bench("redis_mset_100", "perfkit"),
        baseline: Some(bench("redis_mset_100", "single_calls")),
        target: Target::FasterBy(10.0),
    },
    Comparison {
        what: "lz4 compression of a 4 KiB JSON value vs copying it",
        subject: bench("lz4_encode_4k_json", "perfkit"),
        baseline: Some(bench("lz4_encode_4k_json", "copy")),
        target: Target::AtMostTimes(f64::INFINITY),
    },
    Comparison {
        what: "alert engine evaluate, 100 rules (far below 1 ms)",
        subject: bench("evaluate_100_rules", "no_notifier"),
        baseline: None,
        target: Target::UnderNanos(1_000_000.0),
    },
    Comparison {
        what: "alert engine evaluate, 100 rules, receiver stalled (under 1 ms)",
        subject: bench("evaluate_100_rules", "stalled_notifier"),
        baseline: None,
        target: Target::UnderNanos(1_000_000.0),
    },
    Comparison {
        what: "optimizer evaluate, one snapshot with 100 checks of history",
        subject: bench("optimizer_evaluate", "snapshot_with_100_check_history"),
        baseline: None,
        target: Target::UnderNanos(1_000_000.0),
    },
    Comparison {
        what: "RequestMetricsLayer cost per request around a bare service (autometrics: 140-150 ns)",
        subject: bench("request_metrics_service", "service_with_layer"),
        baseline: Some(bench("request_metrics_service", "service_alone")),
        target: Target::AddsAtMostNanos(150.0),
    },
    Comparison {
        what: "RequestMetricsLayer on a router vs tower's identity layer on it (for reference; routing noise ±300 ns)",
        subject: bench("request_metrics_layer", "with_layer"),
        baseline: Some(bench("request_metrics_layer", "identity_layer")),
        target: Target::AddsAtMostNanos(f64::INFINITY),
    },
    Comparison {
        what: "RequestMetricsLayer, whole cost over a router with no layer at all (for reference)",
        subject: bench("request_metrics_layer", "with_layer"),
        baseline: Some(bench("request_metrics_layer", "without_layer")),
        target: Target::AddsAtMostNanos(f64::INFINITY),
    },
    Comparison {
        what: "RequestMetricsLayer recording alone (two clock reads and record_request)",
        subject: bench("request_metrics_layer", "recording_alone"),
        baseline: None,
        target: Target::UnderNanos(150.0),
    },
    Comparison {
        what: "system probe, fresh reading (twice a second must stay cheap)",
        subject: bench("system_probe", "sample_fresh"),
        baseline: None,
        target: Target::UnderNanos(5_000_000.0),
    },
];

/// Criterion's mean estimate for `bench`, in nanoseconds, if that bench has run.
fn mean_nanos(criterion_dir: &Path, bench: Bench) -> Option<f64> {
    let path = criterion_dir.join(bench.group).join(bench.function).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

fn human(nanos: f64) -> String {
    match nanos {
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.2} µs", n / 1e3),
        n => format!("{n:.1} ns"),
    }
}

/// One line of the report, and whether the target was met (`None`: not measured).
fn judge(criterion_dir: &Path, comparison: &Comparison) -> (String, Option<bool>) {
    let Some(subject) = mean_nanos(criterion_dir, comparison.subject) else {
        return (format!("{}: not measured in this run", comparison.what), None);
    };
    let baseline = comparison.baseline.and_then(|b| mean_nanos(criterion_dir, b));
    let (figures, met) = match (comparison.target, baseline) {
        (Target::AtMostTimes(factor), Some(base)) => {
            let ratio = subject / base;
            let goal =
                if factor.is_finite() { format!(" (target <= {factor}x)") } else { String::new() };
            (format!("{} vs {} = {ratio:.2}x{goal}", human(subject), human(base)), ratio <= factor)
        }
        (Target::FasterBy(factor), Some(base)) => {
            let speedup = base / subject;
            (
                format!(
                    "{} vs {} = {speedup:.1}x faster (target >= {factor}x)",
                    human(subject),
                    human(base)
                ),
                speedup >= factor,
            )
        }
        (Target::ScalesBy(factor), Some(one_thread)) => {
            let scaling = 2.0 * one_thread / subject;
            let goal = if factor > 0.0 { format!(" (target >= {factor}x)") } else { String::new() };
            (
                format!(
                    "1 thread {} per op, 2 threads {} per op each = {scaling:.2}x throughput{goal}",
                    human(one_thread),
                    human(subject)
                ),
                scaling >= factor,
            )
        }
        (Target::AddsAtMostNanos(limit), Some(base)) => {
            let added = subject - base;
            let goal = if limit.is_finite() {
                format!(" (target <= {})", human(limit))
            } else {
                String::new()
            };
            (
                format!("{} vs {} = {} added{goal}", human(subject), human(base), human(added)),
                added <= limit,
            )
        }
        (Target::UnderNanos(limit), _) => {
            (format!("{} (target < {})", human(subject), human(limit)), subject < limit)
        }
        (_, None) => (format!("{} (baseline not measured)", human(subject)), false),
    };
    let verdict = if met { "ok  " } else { "MISS" };
    (format!("{verdict} {}: {figures}", comparison.what), Some(met))
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    // Extra arguments go to cargo bench (`-p perfkit-metrics`, `--bench recorder`, ...).
    let mut command = cargo();
    command.arg("bench");
    if args.is_empty() {
        command.arg("--workspace");
    } else {
        command.args(args);
    }
    execute(&mut command).context("cargo bench failed")?;
    report()
}

/// Prints the comparison table from the estimates criterion left in target/criterion.
pub(crate) fn report() -> Result<()> {
    let criterion_dir = workspace_root().join("target/criterion");
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("\n== perfkit benchmarks against their baselines ({cores} cores) ==");
    let (mut met, mut missed) = (0, 0);
    for comparison in COMPARISONS {
        let (line, verdict) = judge(&criterion_dir, comparison);
        match verdict {
            Some(true) => met += 1,
            Some(false) => missed += 1,
            None => {}
        }
        println!("{line}");
    }
    println!("== {met} targets met, {missed} missed ==");
    Ok(())
}
