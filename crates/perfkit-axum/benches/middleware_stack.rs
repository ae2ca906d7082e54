#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly
//! What perfkit's middleware stack costs on `/health/live`, layer by layer.
//!
//! The baseline is what a user would write: a plain axum router with the same handler (a
//! small JSON body). Each `plain+<layer>` subject adds one layer to it the way
//! [`perfkit_axum::router`] adds it (`route_layer`), so `plain+<layer> - plain` is that
//! layer's cost per request. `tower_http_stack` is the stack as it was before it was made
//! cheap (tower-http's timeout, catch-panic, set-header and compression, axum's boxed
//! `from_fn` error rewriting); `perfkit_layers_one_by_one` is perfkit's own layers, one
//! `route_layer` each (axum boxes and clones per layer per request); `perfkit_stack` the same
//! layers as one `ServiceBuilder` stack, as `router` installs them now; `perfkit_router` is the
//! real router serving the real probe.
//!
//! Each request goes through `tower::ServiceExt::oneshot` on a current-thread runtime, so
//! these are single-core costs: contention between cores (the timer wheel's lock, shared
//! reference counts) does not show here and only adds to the differences.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use criterion::{Criterion, criterion_group, criterion_main};
use perfkit::PerformanceService;
use perfkit_axum::middleware::{JsonErrorsLayer, RequestTimeoutLayer};
use perfkit_axum::{ApiConfig, ApiError, router};
use serde::Serialize;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

const PATH: &str = "/api/performance/health/live";
const TIMEOUT: Duration = Duration::from_secs(30);
const BODY_LIMIT: usize = 1 << 20;

#[derive(Serialize)]
struct Probe {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

async fn live() -> Json<Probe> {
    Json(Probe { status: "up", reason: None })
}

fn plain() -> Router {
    Router::new().route(PATH, get(live))
}

/// The state the old `from_fn_with_state` middleware cloned per request: three `Arc`s.
#[derive(Clone)]
struct OldState {
    _service: Arc<()>,
    _config: Arc<usize>,
    _document: Arc<str>,
}

/// The old error rewriting, as it was: a boxed `from_fn` future on every request.
async fn old_json_errors(State(_): State<OldState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    ApiError::NotFound.into_response()
}

fn old_state() -> OldState {
    OldState { _service: Arc::new(()), _config: Arc::new(BODY_LIMIT), _document: Arc::from("{}") }
}

fn compression() -> CompressionLayer<impl Predicate> {
    let when = SizeAbove::new(1024)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE);
    CompressionLayer::new().gzip(true).compress_when(when)
}

fn no_store() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    )
}

fn panic_json(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("handler panicked".into()).into_response()
}

/// The stack as `router` built it before: tower-http's layers and a boxed `from_fn`.
fn tower_http_stack() -> Router {
    plain()
        .route_layer(axum::extract::DefaultBodyLimit::disable())
        .route_layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .route_layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, TIMEOUT))
        .route_layer(CatchPanicLayer::custom(panic_json))
        .route_layer(no_store())
        .route_layer(axum::middleware::from_fn_with_state(old_state(), old_json_errors))
        .route_layer(compression())
}

/// perfkit's layers as `router` installed them before: one `route_layer` each, so axum
/// boxes and clones a service per layer per request.
fn perfkit_layers_one_by_one() -> Router {
    plain()
        .route_layer(axum::extract::DefaultBodyLimit::disable())
        .route_layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .route_layer(RequestTimeoutLayer::new(TIMEOUT))
        .route_layer(CatchPanicLayer::custom(panic_json))
        .route_layer(no_store())
        .route_layer(JsonErrorsLayer::new(BODY_LIMIT))
        .route_layer(compression())
}

/// perfkit's layers as `router` installs them now: one `ServiceBuilder` stack under one
/// `route_layer`; panics caught by the JSON-errors layer, bodies limited by axum's own limit.
/// perfkit's whole router, with a token it accepts.
#[allow(clippy::expect_used)] // a bench's set-up: a refused config should stop it loudly
fn perfkit_router(service: PerformanceService) -> Router {
    let config = ApiConfig { admin_token: "bench-admin-token-0123".into(), ..ApiConfig::default() };
    router(service, config).expect("the bench's config is valid")
}

fn perfkit_stack() -> Router {
    plain().route_layer(
        tower::ServiceBuilder::new()
            .layer(compression())
            .layer(JsonErrorsLayer::new(BODY_LIMIT))
            .layer(no_store())
            .layer(RequestTimeoutLayer::new(TIMEOUT))
            .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT)),
    )
}

fn bench(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    let service = PerformanceService::builder().build().expect("service");
    let subjects: Vec<(&str, Router)> = vec![
        ("plain", plain()),
        ("plain+identity", plain().route_layer(tower::layer::util::Identity::new())),
        (
            "plain+body_limit",
            plain()
                .route_layer(axum::extract::DefaultBodyLimit::disable())
                .route_layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
        ),
        (
            "plain+timeout(tower_http)",
            plain()
                .route_layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, TIMEOUT)),
        ),
        ("plain+timeout(perfkit)", plain().route_layer(RequestTimeoutLayer::new(TIMEOUT))),
        ("plain+catch_panic", plain().route_layer(CatchPanicLayer::custom(panic_json))),
        ("plain+no_store", plain().route_layer(no_store())),
        (
            "plain+json_errors(from_fn)",
            plain().route_layer(axum::middleware::from_fn_with_state(old_state(), old_json_errors)),
        ),
        ("plain+json_errors(perfkit)", plain().route_layer(JsonErrorsLayer::new(BODY_LIMIT))),
        ("plain+compression", plain().route_layer(compression())),
        ("tower_http_stack", tower_http_stack()),
        ("perfkit_layers_one_by_one", perfkit_layers_one_by_one()),
        ("perfkit_stack", perfkit_stack()),
        ("perfkit_router", perfkit_router(service)),
    ];
    let mut group = c.benchmark_group("middleware_stack");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    for (name, app) in subjects {
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let request = Request::get(PATH).body(Body::empty()).unwrap();
                    let response = app.clone().oneshot(request).await.unwrap();
                    assert_eq!(response.status(), StatusCode::OK);
                    black_box(response)
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
