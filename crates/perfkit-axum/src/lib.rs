//! perfkit's HTTP face for axum: the `/api/performance` router, the request-metrics
//! middleware, auth, JSON errors, the OpenAPI document and the live stream.
//!
//! - [`router`] serves every endpoint of perfkit's API (`docs/API.md`) over a
//!   [`PerformanceService`](perfkit::PerformanceService), plus `/` and the health probes.
//! - [`RequestMetricsLayer`] records every request of the host app into the service's
//!   recorder by matched route, method and status.
//! - [`ApiError`] is the one error every failure is reported as; the extractors
//!   ([`ApiJson`], [`ApiQuery`], [`ApiPath`], [`JsonBytes`]) turn bad input into it, for a
//!   host's own handlers too.
//! - [`openapi`] is the OpenAPI 3.1 document, generated from the routes themselves.
//!
//! # Embedding
//!
//! ```
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
//! let config = ApiConfig { admin_token: "s3cret".into(), ..ApiConfig::default() };
//!
//! // Your app, with perfkit's API merged in and every request recorded.
//! let app = Router::new()
//!     .route("/api/posts/{id}", get(|| async { "a post" }))
//!     .merge(router(service.clone(), config))
//!     .layer(RequestMetricsLayer::new(Arc::clone(service.recorder())));
//!
//! let response = app
//!     .clone()
//!     .oneshot(Request::get("/api/posts/7").body(Body::empty()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), 200);
//!
//! let response = app
//!     .oneshot(Request::get("/api/performance/metrics/application").body(Body::empty()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), 200);
//! // Recorded by route template, slowest first: both routes, never a raw path.
//! let routes: Vec<String> =
//!     service.recorder().snapshot().routes.slowest.into_iter().map(|r| r.route).collect();
//! assert!(routes.contains(&"/api/posts/{id}".to_owned()));
//! assert!(routes.contains(&"/api/performance/metrics/application".to_owned()));
//! # Ok::<(), perfkit::PerfkitError>(())
//! # }).unwrap();
//! ```

mod auth;
mod auth_throttle;
mod config;
mod error;
mod extract;
mod layer;
mod live;
pub mod middleware;
mod openapi;
mod page;
mod prepared;
mod respond;
mod router;
mod routes;
mod state;
mod views;

pub use config::ApiConfig;
pub use error::{ApiError, ErrorKind};
pub use extract::{ApiJson, ApiPath, ApiQuery, BodyLimit, JsonBytes, LimitQuery, MAX_LIMIT};
pub use layer::{
    RequestMetrics, RequestMetricsFuture, RequestMetricsLayer, SERVER_ERROR_KIND, UNMATCHED_ROUTE,
};
pub use openapi::{openapi, openapi_json};
pub use router::router;
