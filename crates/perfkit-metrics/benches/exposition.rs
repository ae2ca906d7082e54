#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly
//! Rendering the exposition with 1 000 routes, against the prometheus crate's own
//! `gather` + `TextEncoder` over 1 000 counters and 1 000 histograms.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use perfkit_core::SystemClock;
use perfkit_metrics::{Method, PrometheusExporter, Recorder, RecorderConfig};
use prometheus::{CounterVec, Encoder, HistogramOpts, HistogramVec, Opts, Registry, TextEncoder};

const ROUTES: usize = 1_000;

fn perfkit_exporter() -> PrometheusExporter {
    let config = RecorderConfig { max_routes: ROUTES, ..RecorderConfig::default() };
    let recorder = Arc::new(Recorder::new(config, Arc::new(SystemClock)).expect("config"));
    for route in 0..ROUTES {
        let route = format!("/api/resource{route}/{{id}}");
        for sample in 0..20u64 {
            recorder.record_request(
                Some(&route),
                Method::Get,
                200,
                Duration::from_micros(500 + sample * 997),
            );
        }
    }
    PrometheusExporter::new(recorder, None).expect("exporter")
}

fn prometheus_registry() -> Registry {
    let registry = Registry::new();
    let counters =
        CounterVec::new(Opts::new("requests_total", "requests"), &["route"]).expect("counter");
    let histograms =
        HistogramVec::new(HistogramOpts::new("duration_seconds", "durations"), &["route"])
            .expect("histogram");
    registry.register(Box::new(counters.clone())).expect("register");
    registry.register(Box::new(histograms.clone())).expect("register");
    for route in 0..ROUTES {
        let route = format!("/api/resource{route}/{{id}}");
        counters.with_label_values(&[&route]).inc_by(20.0);
        for sample in 0..20u32 {
            histograms.with_label_values(&[&route]).observe(0.0005 + f64::from(sample) * 0.000_997);
        }
    }
    registry
}

fn render(c: &mut Criterion) {
    let exporter = perfkit_exporter();
    let registry = prometheus_registry();
    let mut group = c.benchmark_group("exposition_1000_routes");
    group.bench_function("perfkit_render", |b| {
        b.iter(|| black_box(exporter.render().expect("render")));
    });
    group.bench_function("prometheus_gather_encode", |b| {
        b.iter(|| {
            let mut text = Vec::with_capacity(1 << 20);
            TextEncoder::new().encode(&registry.gather(), &mut text).expect("encode");
            black_box(text)
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = render }
criterion_main!(benches);
