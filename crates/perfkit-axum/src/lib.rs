//! perfkit's HTTP face for axum: the request-metrics layer, JSON errors and extractors; with
//! the `api` feature the `/api/performance` router, auth, the OpenAPI document and the live
//! stream; with `dashboard` the live dashboard page.
//!
//! | feature | adds | over |
//! |---|---|---|
//! | (none) | [`RequestMetricsLayer`], [`ApiError`]/[`ErrorKind`], the extractors ([`ApiJson`], [`ApiQuery`], [`ApiPath`], [`JsonBytes`]), [`middleware`] | `perfkit-metrics`, axum, tower |
//! | `api` | `router`, `ApiConfig` (with `ProgramInfo`), `openapi`, `From` the perfkit crates' errors into [`ApiError`] | `perfkit` (with `openapi`), utoipa, tower-http |
//! | `dashboard` (implies `api`) | the page at `/` and its assets under `/assets/` | |
//! | `otel` | request spans continue a caller's W3C `traceparent`; [`PropagateTraceContextLayer`] and [`inject_trace_context`] for outgoing requests; unsampled requests kept afterwards by the tail rules | `opentelemetry` (the API), `tracing-opentelemetry` |
//!
//! The defaults are `api` and `dashboard`. The API's contract is `docs/openapi.json` in the
//! repository, served by the router at `<api prefix>/openapi.json`.
//!
//! # The layer alone
//!
//! A host that wants request metrics and nothing else:
//! `perfkit-axum = { version = "0.1", default-features = false }`, with `perfkit-metrics`
//! for the recorder.
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use axum::body::Body;
//! use axum::http::Request;
//! use perfkit_axum::RequestMetricsLayer;
//! use perfkit_metrics::Recorder;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let recorder = Arc::new(Recorder::default());
//! let app = Router::new()
//!     .route("/api/posts/{id}", get(|| async { "a post" }))
//!     .layer(RequestMetricsLayer::new(Arc::clone(&recorder)));
//!
//! let response = app.oneshot(Request::get("/api/posts/7").body(Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(response.status(), 200);
//! // Recorded by route template, never by raw path.
//! assert_eq!(recorder.snapshot().routes.slowest[0].route, "/api/posts/{id}");
//! # });
//! ```
//!
//! # Embedding the API (feature `api`)
//!
//! Merge the router into your app (or `nest` it under a prefix of yours), put the layer
//! outermost, and serve with `into_make_service_with_connect_info::<SocketAddr>()`: the
//! throttle on failed authentication tells clients apart by their address, and without it
//! the router logs a warning at the first request and throttles nobody.
//!
#![cfg_attr(feature = "api", doc = "```")]
#![cfg_attr(not(feature = "api"), doc = "```ignore")]
//! use std::net::SocketAddr;
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use axum::body::Body;
//! use axum::http::Request;
//! use perfkit::PerformanceService;
//! use perfkit_axum::{ApiConfig, RequestMetricsLayer, router};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let service = PerformanceService::builder().build()?;
//! // At least 16 bytes, not all one character: `router` refuses a weak token.
//! let config = ApiConfig { admin_token: "correct-horse-battery".into(), ..ApiConfig::default() };
//!
//! // Your app, with perfkit's API merged in and every request recorded.
//! let app = Router::new()
//!     .route("/api/posts/{id}", get(|| async { "a post" }))
//!     .merge(router(service.clone(), config)?)
//!     .layer(RequestMetricsLayer::new(Arc::clone(service.recorder())));
//!
//! let response = app
//!     .clone()
//!     .oneshot(Request::get("/api/performance/metrics/application").body(Body::empty()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), 200);
//!
//! // Served so that the router sees each client's address:
//! let _serve = async {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
//! };
//!
//! // A cache-aside read over the service's cache says whether it was a hit.
//! use perfkit::cache::{CacheAside, Lookup};
//! let posts = CacheAside::new(Arc::clone(service.cache()));
//! let (_, lookup) = posts.get_or_compute("post:7", None, || async { Ok(b"a post".to_vec()) }).await?;
//! assert_eq!(lookup, Lookup::Computed);
//! let (_, lookup) = posts.get_or_compute("post:7", None, || async { Ok(b"a post".to_vec()) }).await?;
//! assert!(lookup.is_hit());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

// The embedding guide's snippets are doc tests of this crate, so the guide cannot drift from
// the code.
#[cfg(all(doctest, feature = "dashboard"))]
#[doc = include_str!("../../../docs/EMBEDDING.md")]
struct EmbeddingGuide;

mod error;
mod extract;
mod layer;
pub mod middleware;
mod trace;

#[cfg(feature = "api")]
mod api;
#[cfg(feature = "dashboard")]
mod dashboard;

#[cfg(feature = "api")]
pub use api::config::{ApiConfig, ApiConfigError, MIN_TOKEN_BYTES};
#[cfg(feature = "api")]
pub use api::dashboard_config::{BusinessMetric, DashboardConfig, MAX_BUSINESS_METRICS};
#[cfg(feature = "api")]
pub use api::openapi::{openapi, openapi_json};
#[cfg(feature = "api")]
pub use api::program_info::ProgramInfo;
#[cfg(feature = "api")]
pub use api::router::{nest, router};
pub use error::{ApiError, ErrorKind};
pub use extract::{ApiJson, ApiPath, ApiQuery, BodyLimit, JsonBytes, LimitQuery, MAX_LIMIT};
pub use layer::{
    RequestMetrics, RequestMetricsFuture, RequestMetricsLayer, SERVER_ERROR_KIND, UNMATCHED_ROUTE,
};
pub use trace::{
    DEFAULT_MAX_KEPT_PER_SECOND, REQUEST_SPAN_TARGET, RequestTracing, USER_AGENT_MAX_LEN,
};
#[cfg(feature = "otel")]
pub use trace::{PropagateTraceContext, PropagateTraceContextLayer, inject_trace_context};
