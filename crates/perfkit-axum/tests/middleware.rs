//! The request-metrics layer records by matched route: raw paths never become series.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use perfkit::core::SystemClock;
use perfkit::metrics::{OVERFLOW_ROUTE, Recorder, RecorderConfig};
use perfkit_axum::{RequestMetricsLayer, UNMATCHED_ROUTE};
use tower::{Service, ServiceExt};

const DISTINCT_PATHS: usize = 1_000_000;

fn routes_of(recorder: &Recorder) -> Vec<(String, u64)> {
    let mut routes: Vec<(String, u64)> =
        recorder.snapshot().routes.slowest.into_iter().map(|r| (r.route, r.count)).collect();
    routes.sort();
    routes
}

#[tokio::test]
async fn a_million_distinct_raw_paths_leave_one_series_per_route() {
    let recorder = Arc::new(Recorder::default());
    let mut app = Router::new()
        .route("/items/{id}", get(|| async { "item" }))
        .route("/health", get(|| async { "ok" }))
        .layer(RequestMetricsLayer::new(Arc::clone(&recorder)))
        .into_service::<Body>();
    for i in 0..DISTINCT_PATHS {
        // Half hit the parameterised route, half match nothing; every raw path is new.
        let uri = if i % 2 == 0 { format!("/items/{i}") } else { format!("/scan/{i}/x") };
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let response = app.ready().await.unwrap().call(request).await.unwrap();
        assert!(response.status() == 200 || response.status() == 404);
    }
    let half = (DISTINCT_PATHS / 2) as u64;
    assert_eq!(
        routes_of(&recorder),
        vec![("/items/{id}".to_owned(), half), (UNMATCHED_ROUTE.to_owned(), half)]
    );
    let metrics = recorder.snapshot();
    assert_eq!(metrics.requests.total, DISTINCT_PATHS as u64);
    assert_eq!(metrics.routes.tracked, 2);
    assert_eq!(metrics.routes.overflow_requests, 0);
    assert_eq!(metrics.errors.by_kind.len(), 0, "plain 404s of the host app carry no error kind");
}

#[tokio::test]
async fn routes_beyond_the_cap_fold_into_the_overflow_series() {
    let config = RecorderConfig { max_routes: 2, ..RecorderConfig::default() };
    let recorder = Arc::new(Recorder::new(config, Arc::new(SystemClock)).unwrap());
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .route("/b", get(|| async { "b" }))
        .route("/c", get(|| async { "c" }))
        .layer(RequestMetricsLayer::new(Arc::clone(&recorder)));
    for path in ["/a", "/b", "/c", "/c", "/nowhere"] {
        let request = Request::get(path).body(Body::empty()).unwrap();
        app.clone().oneshot(request).await.unwrap();
    }
    let metrics = recorder.snapshot();
    assert_eq!(metrics.routes.tracked, 2);
    assert_eq!(metrics.routes.overflow_requests, 3, "/c twice and the unmatched one");
    assert_eq!(metrics.requests.total, 5);
    let text = perfkit::metrics::PrometheusExporter::new(Arc::clone(&recorder), None)
        .unwrap()
        .render()
        .unwrap();
    assert!(text.contains(OVERFLOW_ROUTE), "{text}");
}

#[cfg(feature = "api")]
#[tokio::test]
async fn the_api_routers_answers_are_recorded_apart_from_the_hosts() {
    let service = perfkit::PerformanceService::builder().build().unwrap();
    let config = perfkit_axum::ApiConfig {
        admin_token: "test-admin-token-0123456789".to_owned(),
        ..perfkit_axum::ApiConfig::default()
    };
    let app = perfkit_axum::router(service.clone(), config)
        .unwrap()
        .layer(RequestMetricsLayer::new(Arc::clone(service.recorder())));
    for (method, path) in [
        ("GET", "/api/performance/summary"),
        ("DELETE", "/api/performance/cache"),
        ("GET", "/api/performance/history?limit=0"),
        ("GET", "/api/performance/nothing/here"),
        ("POST", "/api/performance/summary"),
        ("GET", "/not/perfkits"),
    ] {
        let request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        app.clone().oneshot(request).await.unwrap();
    }
    let metrics = service.recorder().snapshot();
    // perfkit's five answers (refusals and unknown paths under its prefix included) are its
    // own; only the path outside the prefix is the host's.
    assert_eq!((metrics.requests.total, metrics.own.requests), (1, 5));
    assert!(metrics.errors.by_kind.is_empty(), "{:?}", metrics.errors.by_kind);
    let routes: Vec<String> = routes_of(service.recorder()).into_iter().map(|(r, _)| r).collect();
    assert_eq!(routes, vec![UNMATCHED_ROUTE.to_owned()], "raw paths never become routes");
}
