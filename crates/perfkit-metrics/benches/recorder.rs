#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly
//! `record_request` against the prometheus crate's histogram paths and a locked
//! hdrhistogram, on one thread and on two threads at once.
//!
//! Each group holds the subject and its baselines, so `cargo xtask bench` can print ratios
//! from one run. The two-thread group measures the time for one record on each of two
//! threads started together: total throughput is `2 / time`.

use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use perfkit_metrics::{Method, Recorder};
use prometheus::{Histogram, HistogramOpts, HistogramVec};

const ROUTE: &str = "/api/posts/{id}";
const LATENCY: Duration = Duration::from_micros(12_345);

/// One named operation under measurement, callable from any thread.
type Operation = (&'static str, Box<dyn Fn() + Send + Sync>);

/// The operations compared, each usable from any thread.
#[derive(Clone)]
struct Subjects {
    recorder: Arc<Recorder>,
    histogram: Histogram,
    histogram_vec: HistogramVec,
    locked_hdr: Arc<Mutex<hdrhistogram::Histogram<u64>>>,
}

impl Subjects {
    fn new() -> Self {
        let recorder = Arc::new(Recorder::default());
        // Warm the route table, as a running service would have.
        recorder.record_request(Some(ROUTE), Method::Get, 200, LATENCY);
        let histogram = Histogram::with_opts(HistogramOpts::new("plain", "plain histogram"))
            .expect("histogram");
        let histogram_vec = HistogramVec::new(
            HistogramOpts::new("labelled", "labelled histogram"),
            &["method", "route", "status"],
        )
        .expect("histogram vec");
        let locked_hdr = Arc::new(Mutex::new(
            hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("hdr"),
        ));
        Subjects { recorder, histogram, histogram_vec, locked_hdr }
    }

    fn operations(&self) -> Vec<Operation> {
        let recorder = Arc::clone(&self.recorder);
        let routed = Arc::clone(&self.recorder);
        let histogram = self.histogram.clone();
        let histogram_vec = self.histogram_vec.clone();
        let locked_hdr = Arc::clone(&self.locked_hdr);
        vec![
            (
                "perfkit_no_route",
                Box::new(move || {
                    recorder.record_request(None, Method::Get, black_box(200), black_box(LATENCY));
                }),
            ),
            (
                "perfkit_route",
                Box::new(move || {
                    routed.record_request(
                        Some(black_box(ROUTE)),
                        Method::Get,
                        black_box(200),
                        black_box(LATENCY),
                    );
                }),
            ),
            (
                "prometheus_histogram_observe",
                Box::new(move || histogram.observe(black_box(0.012_345))),
            ),
            (
                "prometheus_histogram_vec_labelled",
                Box::new(move || {
                    histogram_vec
                        .with_label_values(&[black_box("GET"), black_box(ROUTE), black_box("200")])
                        .observe(black_box(0.012_345));
                }),
            ),
            (
                "mutex_hdrhistogram",
                Box::new(move || {
                    let mut histogram =
                        locked_hdr.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let _ = histogram.record(black_box(12_345));
                }),
            ),
        ]
    }
}

fn single_thread(c: &mut Criterion) {
    let subjects = Subjects::new();
    let mut group = c.benchmark_group("record_request");
    for (name, operation) in subjects.operations() {
        group.bench_function(name, |b| b.iter(&operation));
    }
    group.finish();
}

fn two_threads(c: &mut Criterion) {
    let subjects = Subjects::new();
    let mut group = c.benchmark_group("record_request_2_threads");
    for (name, operation) in subjects.operations() {
        let operation: Arc<dyn Fn() + Send + Sync> = Arc::from(operation);
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let barrier = Arc::new(Barrier::new(2));
                let workers: Vec<_> = (0..2)
                    .map(|_| {
                        let operation = Arc::clone(&operation);
                        let barrier = Arc::clone(&barrier);
                        std::thread::spawn(move || {
                            barrier.wait();
                            let started = Instant::now();
                            for _ in 0..iterations {
                                operation();
                            }
                            started.elapsed()
                        })
                    })
                    .collect();
                // Both threads did `iterations` records; the slower one bounds throughput.
                workers
                    .into_iter()
                    .map(|worker| worker.join().unwrap_or_default())
                    .max()
                    .unwrap_or_default()
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

criterion_group! { name = benches; config = config(); targets = single_thread, two_threads }
criterion_main!(benches);
