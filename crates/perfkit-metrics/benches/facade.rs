//! The `metrics` facade through perfkit's recorder beside metrics-exporter-prometheus, the
//! recorder a Rust team would otherwise install, measured in the same run: an increment through
//! a cached handle, the `counter!` macro with two dynamic labels (a registry lookup per call),
//! a histogram record (the peer set to real buckets, the same bounds, not its default
//! summary), the text exposition of 1 000 series, and two threads recording into one handle.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use metrics::{Counter, Histogram, Key, Label, Recorder as _};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use perfkit_metrics::{FacadeRecorder, PrometheusExporter, Recorder};

const BOUNDS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const REGIONS: [&str; 4] = ["eu", "us", "ap", "sa"];
const PLANS: [&str; 3] = ["free", "pro", "team"];
static METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

struct Subjects {
    perfkit: FacadeRecorder,
    exporter: PrometheusExporter,
    peer: PrometheusRecorder,
}

impl Subjects {
    fn new() -> Self {
        let recorder = Arc::new(Recorder::default());
        let peer = PrometheusBuilder::new()
            .set_buckets(&BOUNDS)
            .unwrap_or_else(|error| panic!("the peer's buckets: {error}"))
            .build_recorder();
        Subjects {
            perfkit: FacadeRecorder::new(Arc::clone(&recorder)),
            exporter: PrometheusExporter::new(recorder, None).unwrap_or_else(|e| panic!("{e}")),
            peer,
        }
    }

    fn recorders(&self) -> [(&'static str, &dyn metrics::Recorder); 2] {
        [("perfkit", &self.perfkit), ("metrics_exporter_prometheus", &self.peer)]
    }

    /// The two recorders and the facade's no-op one, whose time is the macro's own cost.
    fn with_noop(&self) -> [(&'static str, &dyn metrics::Recorder); 3] {
        let [perfkit, peer] = self.recorders();
        [perfkit, peer, ("noop_recorder", &metrics::NoopRecorder)]
    }
}

fn cached_increment(c: &mut Criterion) {
    let subjects = Subjects::new();
    let mut group = c.benchmark_group("facade_counter_cached");
    for (name, recorder) in subjects.recorders() {
        let counter: Counter = recorder.register_counter(&Key::from_name("orders"), &METADATA);
        group.bench_function(name, |b| b.iter(|| counter.increment(black_box(1))));
    }
    group.finish();
}

fn macro_with_dynamic_labels(c: &mut Criterion) {
    let subjects = Subjects::new();
    let mut group = c.benchmark_group("facade_macro_2_labels");
    for (name, recorder) in subjects.with_noop() {
        let mut i = 0usize;
        metrics::with_local_recorder(recorder, || {
            group.bench_function(name, |b| {
                b.iter(|| {
                    i = i.wrapping_add(1);
                    let (region, plan) = (REGIONS[i % 4], PLANS[i % 3]);
                    metrics::counter!("orders_placed", "region" => region, "plan" => plan)
                        .increment(1);
                });
            });
        });
    }
    group.finish();
}

fn histogram_record(c: &mut Criterion) {
    let subjects = Subjects::new();
    let mut group = c.benchmark_group("facade_histogram_record");
    for (name, recorder) in subjects.recorders() {
        let histogram: Histogram =
            recorder.register_histogram(&Key::from_name("checkout_seconds"), &METADATA);
        let mut value = 0.0f64;
        group.bench_function(name, |b| {
            b.iter(|| {
                value = if value > 12.0 { 0.001 } else { value * 1.7 + 0.001 };
                histogram.record(black_box(value));
            });
        });
    }
    group.finish();
}

fn exposition_1000_series(c: &mut Criterion) {
    let subjects = Subjects::new();
    // Ten names of a hundred label sets each, the anchors' shape: counters, gauges and
    // histograms.
    for (_, recorder) in subjects.recorders() {
        for name in 0..10 {
            for user in 0..100 {
                let labels = vec![Label::new("user", format!("u{user}"))];
                let key = Key::from_parts(format!("series_{name}"), labels);
                match name % 3 {
                    0 => recorder.register_counter(&key, &METADATA).increment(user),
                    1 => recorder.register_gauge(&key, &METADATA).set(user as f64),
                    _ => recorder.register_histogram(&key, &METADATA).record(user as f64 / 50.0),
                }
            }
        }
    }
    let handle = subjects.peer.handle();
    let mut group = c.benchmark_group("facade_exposition_1000_series");
    group.bench_function("perfkit", |b| {
        b.iter(|| black_box(subjects.exporter.render().unwrap_or_default()));
    });
    group.bench_function("metrics_exporter_prometheus", |b| b.iter(|| black_box(handle.render())));
    group.finish();
}

/// Both threads increment the same handle `iterations` times (and, for reference, each its own
/// series); the slower thread bounds throughput.
fn two_threads(c: &mut Criterion) {
    let subjects = Subjects::new();
    let mut group = c.benchmark_group("facade_counter_cached_2_threads");
    let separate = subjects.perfkit.register_counter(&Key::from_name("orders_b"), &METADATA);
    let mut subjects_and_handles: Vec<(&str, Counter, Counter)> = subjects
        .recorders()
        .into_iter()
        .map(|(name, recorder)| {
            let counter = recorder.register_counter(&Key::from_name("orders"), &METADATA);
            (name, counter.clone(), counter)
        })
        .collect();
    // Each thread its own series: what this machine's two cores give with nothing shared.
    let own = subjects.perfkit.register_counter(&Key::from_name("orders"), &METADATA);
    subjects_and_handles.push(("perfkit_separate_series", own, separate));
    for (name, first, second) in subjects_and_handles {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let barrier = Arc::new(Barrier::new(2));
                let workers: Vec<_> = [first.clone(), second.clone()]
                    .into_iter()
                    .map(|counter| {
                        let barrier = Arc::clone(&barrier);
                        std::thread::spawn(move || {
                            barrier.wait();
                            let started = Instant::now();
                            for _ in 0..iterations {
                                counter.increment(black_box(1));
                            }
                            started.elapsed()
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap_or_default()).max().unwrap_or_default()
            });
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = cached_increment, macro_with_dynamic_labels, histogram_record,
        exposition_1000_series, two_threads
}
criterion_main!(benches);
