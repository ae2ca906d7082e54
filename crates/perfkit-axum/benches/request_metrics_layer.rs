#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly
//! The cost `RequestMetricsLayer` adds to a request: a router with one trivial
//! parameterised route, called with and without the layer. The difference between the two
//! is the layer's per-request cost (target: under 150 ns). `identity_layer` adds tower's
//! do-nothing layer the same way: what axum itself charges for any `Router::layer` (it
//! boxes and clones the wrapped route per request), so `with_layer - identity_layer` is
//! the cost of the recording alone.

use std::hint::black_box;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use perfkit::metrics::Recorder;
use perfkit_axum::RequestMetricsLayer;
use tower::{Service, ServiceExt};

fn trivial_router() -> Router {
    Router::new().route("/items/{id}", get(|| async { "item" }))
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let recorder = Arc::new(Recorder::default());
    let subjects = [
        ("without_layer", trivial_router()),
        ("identity_layer", trivial_router().layer(tower::layer::util::Identity::new())),
        ("with_layer", trivial_router().layer(RequestMetricsLayer::new(Arc::clone(&recorder)))),
    ];
    let mut group = c.benchmark_group("request_metrics_layer");
    for (name, router) in subjects {
        let mut service = router.into_service::<Body>();
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let request = Request::get("/items/42").body(Body::empty()).unwrap();
                    let response = service.ready().await.unwrap().call(request).await.unwrap();
                    black_box(response.status())
                })
            });
        });
    }
    // What the layer does per request, without axum around it: two clock reads and one
    // record_request by route.
    group.bench_function("recording_alone", |b| {
        b.iter(|| {
            let start = std::time::Instant::now();
            recorder.record_request(
                Some(black_box("/items/{id}")),
                perfkit::metrics::Method::Get,
                black_box(200),
                start.elapsed(),
            );
        });
    });
    group.finish();

    // The layer around a bare tower service, without a router: routing noise (about 1.5 µs
    // per request, ±300 ns run to run on 2 shared cores) would hide a 100 ns difference.
    // There is no MatchedPath without a router, so the request records as `__unmatched__`:
    // the same work, minus one reference-count bump.
    let mut group = c.benchmark_group("request_metrics_service");
    let handler = || {
        tower::service_fn(|_request: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(axum::http::Response::new(Body::empty()))
        })
    };
    let mut bare = handler();
    group.bench_function("service_alone", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let request = Request::get("/items/42").body(Body::empty()).unwrap();
                black_box(bare.ready().await.unwrap().call(request).await.unwrap().status())
            })
        });
    });
    let mut layered =
        tower::Layer::layer(&RequestMetricsLayer::new(Arc::clone(&recorder)), handler());
    group.bench_function("service_with_layer", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let request = Request::get("/items/42").body(Body::empty()).unwrap();
                black_box(layered.ready().await.unwrap().call(request).await.unwrap().status())
            })
        });
    });
    group.finish();
    black_box(recorder.snapshot().requests.total);
}

criterion_group!(benches, bench);
criterion_main!(benches);
