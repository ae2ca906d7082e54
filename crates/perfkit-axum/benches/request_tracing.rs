#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly
//! What request tracing adds to `RequestMetricsLayer`, around a bare tower service (routing
//! noise would hide tens of nanoseconds), against the Rust peer: tower-http's `TraceLayer`
//! with tracing-opentelemetry, over the same exporter (perfkit-otel's pipeline, sending to a
//! port nothing listens on, so exports fail at once and cost the export thread little).
//!
//! - `layer`: the layer without tracing, no subscriber: today's layer.
//! - `layer_tracing_off`: the same under a subscriber with perfkit-otel's layer: what a host
//!   that traces other things pays for a layer whose tracing is off (target: within 5 ns).
//! - `layer_sampled_100` / `layer_sampled_1`: tracing on, every request sampled / one in a
//!   hundred (targets: at most 0.7x of the peer's added cost / at most 100 ns added).
//! - `layer_sampled_100_no_exemplars`: every request sampled, exemplars off: against
//!   `layer_sampled_100` (exemplars on, the default), what the exemplar store costs a sampled
//!   request (its span's ids read, its bucket found, one cell written).
//! - `layer_unsampled`: tracing on, no request sampled: the unsampled path alone.
//! - `peer_trace_layer`: `TraceLayer::new_for_http()` under tracing-opentelemetry's default
//!   layer, every span sampled, over `service_alone`.

use std::hint::black_box;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, Response};
use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::trace::TracerProvider as _;
use perfkit_axum::{RequestMetricsLayer, RequestTracing};
use perfkit_metrics::Recorder;
use perfkit_otel::{SamplerSetting, TracePipeline, TraceSettings};
use tower::{Layer as _, Service, ServiceExt};
use tracing_subscriber::layer::SubscriberExt as _;

fn handler()
-> impl Service<Request<Body>, Response = Response<Body>, Error = std::convert::Infallible> + Clone
{
    tower::service_fn(|_request: Request<Body>| async {
        Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
    })
}

/// A pipeline over the OTLP exporter to a closed port, sampling everything it is asked to.
fn pipeline() -> TracePipeline {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = TraceSettings::new("bench");
    settings.endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    settings.sampler = SamplerSetting::AlwaysOn;
    drop(listener);
    TracePipeline::build(&settings).unwrap()
}

/// Times one request through `service` on `runtime`, its response (and with it the peer's
/// span, which ends with the body) dropped within.
fn bench_service<S, B>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    mut service: S,
) where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
{
    group.bench_function(name, |b| {
        b.iter(|| {
            runtime.block_on(async {
                let request = Request::get("/items/42")
                    .header("host", "shop.example:8080")
                    .header("user-agent", "bench/1.0")
                    .body(Body::empty())
                    .unwrap();
                black_box(service.ready().await.unwrap().call(request).await.unwrap().status())
            })
        });
    });
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let recorder = Arc::new(Recorder::default());
    let layer = || RequestMetricsLayer::new(Arc::clone(&recorder));
    let pipeline = pipeline();
    let ours = || tracing_subscriber::registry().with(pipeline.layer());
    let mut group = c.benchmark_group("request_tracing_service");

    bench_service(&mut group, &runtime, "service_alone", handler());
    bench_service(&mut group, &runtime, "layer", layer().layer(handler()));
    tracing::subscriber::with_default(ours(), || {
        bench_service(&mut group, &runtime, "layer_tracing_off", layer().layer(handler()));
        let sampled = layer().with_tracing(RequestTracing::always());
        bench_service(&mut group, &runtime, "layer_sampled_100", sampled.layer(handler()));
        let plain = layer().with_tracing(RequestTracing::always().exemplars(false));
        let name = "layer_sampled_100_no_exemplars";
        bench_service(&mut group, &runtime, name, plain.layer(handler()));
        let one_in_100 = layer().with_tracing(RequestTracing::ratio(0.01));
        bench_service(&mut group, &runtime, "layer_sampled_1", one_in_100.layer(handler()));
        let none = layer().with_tracing(RequestTracing::ratio(0.0));
        bench_service(&mut group, &runtime, "layer_unsampled", none.layer(handler()));
    });
    let peer = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(pipeline.provider().tracer("peer")));
    tracing::subscriber::with_default(peer, || {
        let traced = tower_http::trace::TraceLayer::new_for_http().layer(handler());
        bench_service(&mut group, &runtime, "peer_trace_layer", traced);
    });
    group.finish();
    black_box(recorder.snapshot().requests.total);
    black_box(pipeline.shutdown(std::time::Duration::from_millis(100)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
