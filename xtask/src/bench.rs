//! `cargo xtask bench`: runs the criterion benchmarks, then prints each subject beside the
//! baseline its issue names, from the same run, with the target and whether it is met.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::machine;
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

/// What a row measures: how the subject's figure is derived from its time and its baseline's.
#[derive(Clone, Copy)]
enum Measure {
    /// subject time / baseline time.
    Ratio,
    /// baseline time / subject time (how many times faster the subject is).
    Speedup,
    /// subject time - baseline time, in nanoseconds (a layer's added cost).
    AddedNanos,
    /// Two-thread throughput / one-thread throughput, where `subject` is the two-thread time
    /// for one operation on each thread and `baseline` the one-thread time.
    Scaling,
    /// The subject's time alone, in nanoseconds; no baseline.
    Time,
    /// (subject - its base) / (baseline - its base): what one layer adds over what another
    /// adds, each over its own base (tracing on over the layer alone, against a peer's
    /// tracing over the bare service).
    AddedRatio { subject_base: Bench, baseline_base: Bench },
}

impl Measure {
    /// Whether `figure` meets `target`: an upper bound for ratios, added cost and time, a lower
    /// bound for speedup and scaling.
    fn meets(self, figure: f64, target: f64) -> bool {
        match self {
            Measure::Ratio | Measure::AddedNanos | Measure::Time | Measure::AddedRatio { .. } => {
                figure <= target
            }
            Measure::Speedup | Measure::Scaling => figure >= target,
        }
    }
}

struct Comparison {
    what: &'static str,
    subject: Bench,
    baseline: Option<Bench>,
    measure: Measure,
    /// The figure to meet; `None` makes the row a reference, printed and never judged.
    target: Option<f64>,
}

const fn judged(
    what: &'static str,
    subject: Bench,
    baseline: Option<Bench>,
    measure: Measure,
    target: f64,
) -> Comparison {
    Comparison { what, subject, baseline, measure, target: Some(target) }
}

const fn reference(
    what: &'static str,
    subject: Bench,
    baseline: Option<Bench>,
    measure: Measure,
) -> Comparison {
    Comparison { what, subject, baseline, measure, target: None }
}

const COMPARISONS: &[Comparison] = &[
    judged(
        "record_request, no route, vs prometheus Histogram::observe",
        bench("record_request", "perfkit_no_route"),
        Some(bench("record_request", "prometheus_histogram_observe")),
        Measure::Ratio,
        1.5,
    ),
    judged(
        "record_request, with route, vs HistogramVec::with_label_values(3).observe",
        bench("record_request", "perfkit_route"),
        Some(bench("record_request", "prometheus_histogram_vec_labelled")),
        Measure::Ratio,
        1.0,
    ),
    reference(
        "record_request, with route, vs Mutex<hdrhistogram>::record",
        bench("record_request", "perfkit_route"),
        Some(bench("record_request", "mutex_hdrhistogram")),
        Measure::Ratio,
    ),
    judged(
        "2-thread scaling, record_request no route",
        bench("record_request_2_threads", "perfkit_no_route"),
        Some(bench("record_request", "perfkit_no_route")),
        Measure::Scaling,
        1.6,
    ),
    judged(
        "2-thread scaling, record_request with route",
        bench("record_request_2_threads", "perfkit_route"),
        Some(bench("record_request", "perfkit_route")),
        Measure::Scaling,
        1.6,
    ),
    reference(
        "2-thread scaling, prometheus Histogram::observe",
        bench("record_request_2_threads", "prometheus_histogram_observe"),
        Some(bench("record_request", "prometheus_histogram_observe")),
        Measure::Scaling,
    ),
    judged(
        "exposition of 1 000 routes vs prometheus gather+encode of the same families",
        bench("exposition_1000_routes", "perfkit_render"),
        Some(bench("exposition_1000_routes", "prometheus_gather_encode")),
        Measure::Ratio,
        1.0,
    ),
    reference(
        "exposition of 1 000 routes through RecorderCollector + gather + TextEncoder (the old path) vs prometheus",
        bench("exposition_1000_routes", "perfkit_collector_gather_encode"),
        Some(bench("exposition_1000_routes", "prometheus_gather_encode")),
        Measure::Ratio,
    ),
    judged(
        "MemoryCache get vs raw moka get (throughput >= 0.85x)",
        bench("memory_get", "perfkit"),
        Some(bench("memory_get", "moka")),
        Measure::Ratio,
        1.0 / 0.85,
    ),
    judged(
        "MemoryCache set vs raw moka insert (throughput >= 0.85x)",
        bench("memory_set", "perfkit"),
        Some(bench("memory_set", "moka")),
        Measure::Ratio,
        1.0 / 0.85,
    ),
    reference(
        "MemoryCache set vs moka insert with the same eviction listener (what the listener costs)",
        bench("memory_set", "perfkit"),
        Some(bench("memory_set", "moka_listener")),
        Measure::Ratio,
    ),
    judged(
        "MemoryCache get_shared of a 5 KB answer vs raw moka get of Bytes (throughput >= 0.85x)",
        bench("memory_get_5k", "perfkit_shared"),
        Some(bench("memory_get_5k", "moka_bytes")),
        Measure::Ratio,
        1.0 / 0.85,
    ),
    judged(
        "MemoryCache get_shared vs get of a 5 KB answer (the copy saved: at least 1.2x faster)",
        bench("memory_get_5k", "perfkit_shared"),
        Some(bench("memory_get_5k", "perfkit_copy")),
        Measure::Ratio,
        1.0 / 1.2,
    ),
    judged(
        "RedisCache get vs raw fred GET (throughput >= 0.9x)",
        bench("redis_get", "perfkit"),
        Some(bench("redis_get", "fred")),
        Measure::Ratio,
        1.0 / 0.9,
    ),
    judged(
        "RedisCache set vs raw fred SET (throughput >= 0.9x)",
        bench("redis_set", "perfkit"),
        Some(bench("redis_set", "fred")),
        Measure::Ratio,
        1.0 / 0.9,
    ),
    judged(
        "RedisCache mget of 100 keys vs 100 GETs sent concurrently on the pool",
        bench("redis_mget_100", "perfkit"),
        Some(bench("redis_mget_100", "concurrent_gets")),
        Measure::Speedup,
        2.0,
    ),
    // mset is itself 100 SET PX pipelined on one connection (MSET cannot set a TTL), so it
    // is judged as no slower than the same SETs a user would send concurrently on the pool.
    judged(
        "RedisCache mset of 100 keys vs 100 SETs sent concurrently on the pool",
        bench("redis_mset_100", "perfkit"),
        Some(bench("redis_mset_100", "concurrent_sets")),
        Measure::Speedup,
        1.0,
    ),
    judged(
        "lz4 frame encode of a 4 KiB JSON value vs lz4_flex::compress_prepend_size alone",
        bench("lz4_encode_4k_json", "perfkit_frame"),
        Some(bench("lz4_encode_4k_json", "lz4_flex")),
        Measure::Ratio,
        1.1,
    ),
    judged(
        "lz4 frame decode of a 4 KiB JSON value vs lz4_flex::decompress_size_prepended alone",
        bench("lz4_decode_4k_json", "perfkit_frame"),
        Some(bench("lz4_decode_4k_json", "lz4_flex")),
        Measure::Ratio,
        1.1,
    ),
    reference(
        "lz4 frame encode of a 4 KiB JSON value vs copying it",
        bench("lz4_encode_4k_json", "perfkit_frame"),
        Some(bench("lz4_encode_4k_json", "copy")),
        Measure::Ratio,
    ),
    judged(
        "alert engine evaluate, 100 rules (far below 1 ms)",
        bench("evaluate_100_rules", "no_notifier"),
        None,
        Measure::Time,
        1_000_000.0,
    ),
    judged(
        "alert engine evaluate, 100 rules, receiver stalled (under 1 ms)",
        bench("evaluate_100_rules", "stalled_notifier"),
        None,
        Measure::Time,
        1_000_000.0,
    ),
    judged(
        "optimizer evaluate, one snapshot with 100 checks of history",
        bench("optimizer_evaluate", "snapshot_with_100_check_history"),
        None,
        Measure::Time,
        1_000_000.0,
    ),
    judged(
        "RequestMetricsLayer cost per request around a bare service (autometrics: 140-150 ns)",
        bench("request_metrics_service", "service_with_layer"),
        Some(bench("request_metrics_service", "service_alone")),
        Measure::AddedNanos,
        150.0,
    ),
    reference(
        "RequestMetricsLayer on a router vs tower's identity layer on it (routing noise ±300 ns)",
        bench("request_metrics_layer", "with_layer"),
        Some(bench("request_metrics_layer", "identity_layer")),
        Measure::AddedNanos,
    ),
    reference(
        "RequestMetricsLayer, whole cost over a router with no layer at all",
        bench("request_metrics_layer", "with_layer"),
        Some(bench("request_metrics_layer", "without_layer")),
        Measure::AddedNanos,
    ),
    judged(
        "RequestMetricsLayer recording alone (two clock reads and record_request)",
        bench("request_metrics_layer", "recording_alone"),
        None,
        Measure::Time,
        150.0,
    ),
    judged(
        "request tracing off: the layer under a subscriber with perfkit-otel's layer vs without",
        bench("request_tracing_service", "layer_tracing_off"),
        Some(bench("request_tracing_service", "layer")),
        Measure::AddedNanos,
        5.0,
    ),
    judged(
        "request tracing at 100 %: added over the layer vs TraceLayer + tracing-opentelemetry's added",
        bench("request_tracing_service", "layer_sampled_100"),
        Some(bench("request_tracing_service", "peer_trace_layer")),
        Measure::AddedRatio {
            subject_base: bench("request_tracing_service", "layer"),
            baseline_base: bench("request_tracing_service", "service_alone"),
        },
        0.7,
    ),
    judged(
        "request tracing at 1 %: added over the layer (unsampled: a coin and a context)",
        bench("request_tracing_service", "layer_sampled_1"),
        Some(bench("request_tracing_service", "layer")),
        Measure::AddedNanos,
        100.0,
    ),
    reference(
        "request tracing at 100 %: what the exemplar store adds (exemplars on vs off)",
        bench("request_tracing_service", "layer_sampled_100"),
        Some(bench("request_tracing_service", "layer_sampled_100_no_exemplars")),
        Measure::AddedNanos,
    ),
    reference(
        "TraceLayer + tracing-opentelemetry (the peer), added over the bare service",
        bench("request_tracing_service", "peer_trace_layer"),
        Some(bench("request_tracing_service", "service_alone")),
        Measure::AddedNanos,
    ),
    judged(
        "system probe, fresh reading (twice a second must stay cheap)",
        bench("system_probe", "sample_fresh"),
        None,
        Measure::Time,
        5_000_000.0,
    ),
    judged(
        "metrics facade: increment through a cached handle vs metrics-exporter-prometheus 0.18",
        bench("facade_counter_cached", "perfkit"),
        Some(bench("facade_counter_cached", "metrics_exporter_prometheus")),
        Measure::Ratio,
        1.0,
    ),
    judged(
        "metrics facade: counter! with two dynamic labels vs metrics-exporter-prometheus 0.18",
        bench("facade_macro_2_labels", "perfkit"),
        Some(bench("facade_macro_2_labels", "metrics_exporter_prometheus")),
        Measure::Ratio,
        0.5,
    ),
    judged(
        "metrics facade: histogram record vs metrics-exporter-prometheus 0.18 (same buckets)",
        bench("facade_histogram_record", "perfkit"),
        Some(bench("facade_histogram_record", "metrics_exporter_prometheus")),
        Measure::Ratio,
        1.0,
    ),
    judged(
        "metrics facade: exposition of 1 000 series vs metrics-exporter-prometheus 0.18 render",
        bench("facade_exposition_1000_series", "perfkit"),
        Some(bench("facade_exposition_1000_series", "metrics_exporter_prometheus")),
        Measure::Ratio,
        0.5,
    ),
    judged(
        "metrics facade: 2-thread scaling, increments through one cached handle",
        bench("facade_counter_cached_2_threads", "perfkit"),
        Some(bench("facade_counter_cached", "perfkit")),
        Measure::Scaling,
        1.8,
    ),
    reference(
        "metrics facade: 2-thread scaling, each thread its own series (the machine's own scaling)",
        bench("facade_counter_cached_2_threads", "perfkit_separate_series"),
        Some(bench("facade_counter_cached", "perfkit")),
        Measure::Scaling,
    ),
    reference(
        "metrics facade: 2-thread scaling of metrics-exporter-prometheus 0.18, one cached handle",
        bench("facade_counter_cached_2_threads", "metrics_exporter_prometheus"),
        Some(bench("facade_counter_cached", "metrics_exporter_prometheus")),
        Measure::Scaling,
    ),
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

/// How a row came out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verdict {
    Met,
    Missed,
    /// A row with no target: shown for context, never counted as met.
    Reference,
    /// The subject or its baseline did not run in this run.
    NotMeasured,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "MISSED",
            Verdict::Reference => "reference",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// One row of the comparison, with its figures as text.
struct Row {
    what: &'static str,
    subject: Option<f64>,
    baseline: Option<f64>,
    /// The derived figure (ratio, speedup, added cost, scaling or time), as text.
    figure: String,
    /// The target as text; empty for a reference.
    target: String,
    verdict: Verdict,
}

fn figure_text(measure: Measure, figure: f64) -> String {
    match measure {
        Measure::Ratio | Measure::AddedRatio { .. } => format!("{figure:.2}x"),
        Measure::Speedup => format!("{figure:.1}x faster"),
        Measure::AddedNanos => format!("{} added", human(figure)),
        Measure::Scaling => format!("{figure:.2}x throughput"),
        Measure::Time => human(figure),
    }
}

fn target_text(measure: Measure, target: f64) -> String {
    match measure {
        Measure::Ratio | Measure::AddedRatio { .. } => format!("<= {target:.2}x"),
        Measure::Speedup => format!(">= {target}x faster"),
        Measure::AddedNanos => format!("<= {} added", human(target)),
        Measure::Scaling => format!(">= {target}x throughput"),
        Measure::Time => format!("< {}", human(target)),
    }
}

/// Judges one comparison from the estimates in `criterion_dir`.
fn judge(criterion_dir: &Path, comparison: &Comparison) -> Row {
    let subject = mean_nanos(criterion_dir, comparison.subject);
    let baseline = comparison.baseline.and_then(|b| mean_nanos(criterion_dir, b));
    let target = comparison.target.map(|t| target_text(comparison.measure, t)).unwrap_or_default();
    let figure = match (subject, baseline, comparison.measure) {
        (Some(time), _, Measure::Time) => Some(time),
        (Some(subject), Some(base), Measure::Ratio) => Some(subject / base),
        (Some(subject), Some(base), Measure::Speedup) => Some(base / subject),
        (Some(subject), Some(base), Measure::AddedNanos) => Some(subject - base),
        (Some(two_threads), Some(one_thread), Measure::Scaling) => {
            Some(2.0 * one_thread / two_threads)
        }
        (Some(subject), Some(base), Measure::AddedRatio { subject_base, baseline_base }) => {
            match (
                mean_nanos(criterion_dir, subject_base),
                mean_nanos(criterion_dir, baseline_base),
            ) {
                (Some(own), Some(peers)) if base > peers => Some((subject - own) / (base - peers)),
                _ => None,
            }
        }
        _ => None,
    };
    let Some(figure) = figure else {
        return Row {
            what: comparison.what,
            subject,
            baseline,
            figure: String::new(),
            target,
            verdict: Verdict::NotMeasured,
        };
    };
    let verdict = match comparison.target {
        None => Verdict::Reference,
        Some(goal) if comparison.measure.meets(figure, goal) => Verdict::Met,
        Some(_) => Verdict::Missed,
    };
    Row {
        what: comparison.what,
        subject,
        baseline,
        figure: figure_text(comparison.measure, figure),
        target,
        verdict,
    }
}

fn console_line(row: &Row) -> String {
    let tag = match row.verdict {
        Verdict::Met => "ok  ",
        Verdict::Missed => "MISS",
        Verdict::Reference => "ref ",
        Verdict::NotMeasured => "--  ",
    };
    if row.verdict == Verdict::NotMeasured {
        return format!("{tag} {}: not measured in this run", row.what);
    }
    let times = match (row.subject, row.baseline) {
        (Some(subject), Some(base)) => format!("{} vs {} = ", human(subject), human(base)),
        _ => String::new(),
    };
    let goal =
        if row.target.is_empty() { String::new() } else { format!(" (target {})", row.target) };
    format!("{tag} {}: {times}{}{goal}", row.what, row.figure)
}

/// Counts of rows by verdict: met, missed, reference, not measured.
fn tally(rows: &[Row]) -> [usize; 4] {
    let count = |verdict| rows.iter().filter(|row| row.verdict == verdict).count();
    [
        count(Verdict::Met),
        count(Verdict::Missed),
        count(Verdict::Reference),
        count(Verdict::NotMeasured),
    ]
}

fn summary_line(rows: &[Row]) -> String {
    let [met, missed, reference, unmeasured] = tally(rows);
    format!(
        "{met} targets met, {missed} missed, {reference} reference rows (no target), \
         {unmeasured} not measured"
    )
}

/// `cargo xtask bench [--write-docs] [ARGS]`: ARGS go to cargo bench (`-p perfkit-metrics`,
/// `--bench recorder`, ...; default `--workspace`).
pub(crate) fn run(args: &[String]) -> Result<()> {
    let write_docs = args.iter().any(|arg| arg == "--write-docs");
    let cargo_args: Vec<&String> = args.iter().filter(|arg| *arg != "--write-docs").collect();
    let load_before = machine::load_average();
    let mut command = cargo();
    command.arg("bench");
    if cargo_args.is_empty() {
        // perfkit-axum's request-tracing bench needs its `otel` feature, off by default.
        command.args(["--workspace", "--features", "perfkit-axum/otel"]);
    } else {
        command.args(&cargo_args);
    }
    execute(&mut command).context("cargo bench failed")?;
    let load_after = machine::load_average();
    let rows = print_report()?;
    if write_docs {
        let mut invocation = vec!["cargo", "xtask", "bench"];
        invocation.extend(args.iter().map(String::as_str));
        write_docs_section(&invocation.join(" "), &rows, [load_before, load_after])?;
    }
    Ok(())
}

/// `cargo xtask bench-report [--write-docs]`: the comparison from the last run's estimates.
pub(crate) fn report(args: &[String]) -> Result<()> {
    let rows = print_report()?;
    if args.iter().any(|arg| arg == "--write-docs") {
        write_docs_section("cargo xtask bench-report --write-docs", &rows, [None, None])?;
    }
    Ok(())
}

/// Where criterion left its estimates: `$CARGO_TARGET_DIR/criterion`, or the workspace's
/// `target/criterion`.
fn criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
        .join("criterion")
}

/// Prints the comparison table from the estimates criterion left, and returns its rows.
fn print_report() -> Result<Vec<Row>> {
    let criterion_dir = criterion_dir();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let rows: Vec<Row> = COMPARISONS.iter().map(|c| judge(&criterion_dir, c)).collect();
    println!("\n== perfkit benchmarks against their baselines ({cores} cores) ==");
    for row in &rows {
        println!("{}", console_line(row));
    }
    println!("== {} ==", summary_line(&rows));
    Ok(rows)
}

const BEGIN_MARKER: &str =
    "<!-- BEGIN cargo xtask bench --write-docs: generated, edits here are overwritten -->";
const END_MARKER: &str = "<!-- END cargo xtask bench --write-docs -->";

/// Loads above this (one-minute average, 2-core machine) make wall-clock figures unreliable.
const BUSY_LOAD: f64 = 1.5;

fn markdown_section(command: &str, rows: &[Row], loads: [Option<f64>; 2]) -> String {
    let load =
        |value: Option<f64>| value.map_or_else(|| "unknown".to_owned(), |l| format!("{l:.2}"));
    let busy = loads.iter().flatten().any(|l| *l > BUSY_LOAD);
    let mut text = String::new();
    text.push_str(&format!("{BEGIN_MARKER}\n\n## Comparison table\n\n"));
    text.push_str(&format!("- Command: `{command}`\n"));
    text.push_str(&format!("- Machine: {}\n", machine::description()));
    text.push_str(&format!("- Date: {} (UTC)\n", machine::utc_date()));
    text.push_str(&format!(
        "- Load average (1 min) before and after the run: {} and {}{}\n",
        load(loads[0]),
        load(loads[1]),
        if busy { " (busy machine: figures are unreliable)" } else { "" }
    ));
    text.push_str(&format!("- Result: {}\n\n", summary_line(rows)));
    text.push_str("| comparison | subject | baseline | figure | target | verdict |\n");
    text.push_str("|---|---|---|---|---|---|\n");
    let time = |value: Option<f64>| value.map(human).unwrap_or_default();
    for row in rows {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            markdown_cell(row.what),
            time(row.subject),
            time(row.baseline),
            row.figure,
            markdown_cell(&row.target),
            row.verdict.label()
        ));
    }
    text.push_str(&format!("\n{END_MARKER}"));
    text
}

/// `text` made safe for a markdown table cell: comparisons as `≤`/`≥`, pipes escaped, and
/// angle brackets as entities so `Mutex<hdrhistogram>` is not read as an HTML tag.
fn markdown_cell(text: &str) -> String {
    text.replace("<=", "≤")
        .replace(">=", "≥")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Replaces the marked section of `document` with `section` (markers included), or inserts
/// it before the first second-level heading when the document has none yet.
fn replace_section(document: &str, section: &str) -> Result<String> {
    if let Some(begin) = document.find(BEGIN_MARKER) {
        let Some(end) = document[begin..].find(END_MARKER).map(|at| begin + at + END_MARKER.len())
        else {
            bail!("docs/BENCHMARKS.md has the begin marker but not the end marker");
        };
        return Ok(format!("{}{section}{}", &document[..begin], &document[end..]));
    }
    let at = document.find("\n## ").map_or(document.len(), |at| at + 1);
    Ok(format!("{}{section}\n\n{}", &document[..at], &document[at..]))
}

fn write_docs_section(command: &str, rows: &[Row], loads: [Option<f64>; 2]) -> Result<()> {
    let path = workspace_root().join("docs/BENCHMARKS.md");
    let document = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read {}", path.display()))?;
    let updated = replace_section(&document, &markdown_section(command, rows, loads))?;
    std::fs::write(&path, updated)
        .with_context(|| format!("could not write {}", path.display()))?;
    println!("wrote the comparison table into {}", path.display());
    if loads.iter().flatten().any(|l| *l > BUSY_LOAD) {
        eprintln!(
            "warning: load average above {BUSY_LOAD} during the run; the section says so, \
             but these figures should not be committed"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(verdict: Verdict) -> Row {
        Row {
            what: "a | b",
            subject: Some(1_500.0),
            baseline: Some(1_000.0),
            figure: "1.50x".to_owned(),
            target: String::new(),
            verdict,
        }
    }

    #[test]
    fn a_row_without_a_target_is_a_reference_never_met() {
        let dir = tempdir_with_estimates(&[("g", "subject", 100.0), ("g", "base", 1.0)]);
        let comparison =
            reference("r", bench("g", "subject"), Some(bench("g", "base")), Measure::Ratio);
        let judged = judge(&dir, &comparison);
        assert_eq!(judged.verdict, Verdict::Reference);
        assert_eq!(judged.figure, "100.00x");
        let rows = [judged, row(Verdict::Met), row(Verdict::Missed)];
        assert_eq!(tally(&rows), [1, 1, 1, 0]);
        assert!(summary_line(&rows).contains("1 targets met, 1 missed, 1 reference"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn targets_are_judged_in_their_direction() {
        let dir = tempdir_with_estimates(&[("g", "fast", 10.0), ("g", "slow", 40.0)]);
        let faster = |target| {
            judged("s", bench("g", "fast"), Some(bench("g", "slow")), Measure::Speedup, target)
        };
        assert_eq!(judge(&dir, &faster(4.0)).verdict, Verdict::Met);
        assert_eq!(judge(&dir, &faster(4.1)).verdict, Verdict::Missed);
        let ratio = judged("r", bench("g", "slow"), Some(bench("g", "fast")), Measure::Ratio, 1.0);
        assert_eq!(judge(&dir, &ratio).verdict, Verdict::Missed);
        let absent = judged("a", bench("g", "absent"), None, Measure::Time, 1.0);
        assert_eq!(judge(&dir, &absent).verdict, Verdict::NotMeasured);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_comparison_with_a_target_can_fail() {
        for comparison in COMPARISONS {
            if let Some(target) = comparison.target {
                assert!(target.is_finite() && target > 0.0, "{}", comparison.what);
            }
        }
    }

    #[test]
    fn the_docs_section_replaces_only_its_own_text() {
        let rows = [row(Verdict::Reference)];
        let section = markdown_section("cargo xtask bench", &rows, [Some(0.2), Some(2.0)]);
        assert!(section.contains(r"| a \| b | 1.50 µs | 1.00 µs | 1.50x |  | reference |"));
        assert_eq!(markdown_cell("Mutex<h> (<= 1.5x)"), "Mutex&lt;h&gt; (≤ 1.5x)");
        assert!(section.contains("busy machine"));
        let document = "# Benchmarks\n\nIntro.\n\n## Recorder\n\nHand-written.\n";
        let first = replace_section(document, &section).unwrap();
        assert!(first.starts_with("# Benchmarks\n\nIntro.\n\n<!-- BEGIN"));
        assert!(first.ends_with(
            "<!-- END cargo xtask bench --write-docs -->\n\n## Recorder\n\nHand-written.\n"
        ));
        let again = markdown_section("cargo xtask bench", &rows, [Some(0.1), Some(0.1)]);
        let second = replace_section(&first, &again).unwrap();
        assert_eq!(second.matches("<!-- BEGIN").count(), 1);
        assert!(!second.contains("busy machine"));
        assert!(second.ends_with("## Recorder\n\nHand-written.\n"));
    }

    /// A directory laid out as criterion leaves it, with these mean estimates.
    fn tempdir_with_estimates(estimates: &[(&str, &str, f64)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-bench-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        for (group, function, mean) in estimates {
            let path = dir.join(group).join(function).join("new");
            std::fs::create_dir_all(&path).unwrap();
            let json = format!(r#"{{"mean":{{"point_estimate":{mean}}}}}"#);
            std::fs::write(path.join("estimates.json"), json).unwrap();
        }
        dir
    }
}
