#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly
//! Rendering the exposition of 1 000 routes, against the prometheus crate's own `gather` +
//! `TextEncoder` over the same families: the same names, labels, series and bucket bounds
//! (`http_requests_total{method,route,status}`, an 11-bucket
//! `http_request_duration_seconds{route}`, and the recorder's eight small families).
//!
//! - `perfkit_render`: `PrometheusExporter::render`, what a scrape runs.
//! - `perfkit_collector_gather_encode`: the same recorder through `RecorderCollector`, a
//!   registry and `TextEncoder` (the exporter's path before it wrote text itself).
//! - `prometheus_gather_encode`: the baseline, prometheus's own vectors.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use perfkit_core::SystemClock;
use perfkit_metrics::{Method, PrometheusExporter, Recorder, RecorderCollector, RecorderConfig};
use prometheus::{
    Counter, CounterVec, Gauge, Histogram, HistogramOpts, HistogramVec, Opts, Registry, TextEncoder,
};

const ROUTES: usize = 1_000;
const SAMPLES: u64 = 20;

fn route(index: usize) -> String {
    format!("/api/resource{index}/{{id}}")
}

fn micros(sample: u64) -> u64 {
    500 + sample * 997
}

fn recorder() -> Arc<Recorder> {
    let config = RecorderConfig { max_routes: ROUTES, ..RecorderConfig::default() };
    let recorder = Arc::new(Recorder::new(config, Arc::new(SystemClock)).expect("config"));
    for index in 0..ROUTES {
        let route = route(index);
        for sample in 0..SAMPLES {
            let duration = Duration::from_micros(micros(sample));
            recorder.record_request(Some(&route), Method::Get, 200, duration);
        }
    }
    recorder
}

/// The recorder's families, built from prometheus's own metric types.
fn prometheus_registry() -> Registry {
    let registry = Registry::new();
    let register = |collector: Box<dyn prometheus::core::Collector>| {
        registry.register(collector).expect("register");
    };
    let requests = CounterVec::new(
        Opts::new("http_requests_total", "requests"),
        &["method", "route", "status"],
    )
    .expect("counter");
    let durations = HistogramVec::new(
        HistogramOpts::new("http_request_duration_seconds", "durations"),
        &["route"],
    )
    .expect("histogram");
    register(Box::new(requests.clone()));
    register(Box::new(durations.clone()));
    for index in 0..ROUTES {
        let route = route(index);
        requests.with_label_values(&["GET", &route, "2xx"]).inc_by(20.0);
        let histogram = durations.with_label_values(&[&route]);
        #[allow(clippy::cast_precision_loss)]
        for sample in 0..SAMPLES {
            histogram.observe(micros(sample) as f64 / 1e6);
        }
    }
    let kinds =
        CounterVec::new(Opts::new("http_errors_total", "by kind"), &["kind"]).expect("counter");
    kinds.with_label_values(&["other"]);
    register(Box::new(kinds));
    for name in [
        "http_slow_requests_total",
        "db_slow_queries_total",
        "websocket_connections_total",
        "websocket_messages_total",
    ] {
        register(Box::new(Counter::new(name, "count").expect("counter")));
    }
    let tracked = Gauge::new("http_routes_tracked", "routes").expect("gauge");
    #[allow(clippy::cast_precision_loss)]
    tracked.set(ROUTES as f64);
    register(Box::new(tracked));
    let db = Histogram::with_opts(HistogramOpts::new("db_query_duration_seconds", "db"))
        .expect("histogram");
    register(Box::new(db));
    registry
}

fn gather_encode(registry: &Registry) -> String {
    TextEncoder::new().encode_to_string(&registry.gather()).expect("encode")
}

fn render(c: &mut Criterion) {
    let recorder = recorder();
    let exporter = PrometheusExporter::new(Arc::clone(&recorder), None).expect("exporter");
    let collector = Registry::new();
    collector.register(Box::new(RecorderCollector::new(recorder).expect("collector"))).unwrap();
    let baseline = prometheus_registry();
    let (ours, theirs) = (exporter.render().expect("render"), gather_encode(&baseline));
    eprintln!(
        "exposition of {ROUTES} routes: perfkit {} lines, {} bytes; prometheus {} lines, {} bytes",
        ours.lines().count(),
        ours.len(),
        theirs.lines().count(),
        theirs.len()
    );

    let mut group = c.benchmark_group("exposition_1000_routes");
    group.bench_function("perfkit_render", |b| {
        b.iter(|| black_box(exporter.render().expect("render")));
    });
    group.bench_function("perfkit_collector_gather_encode", |b| {
        b.iter(|| black_box(gather_encode(&collector)));
    });
    group.bench_function("prometheus_gather_encode", |b| {
        b.iter(|| black_box(gather_encode(&baseline)));
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
