//! Assembles the routes and the layers every response passes through.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::any;
use axum::{Extension, Router};
use perfkit::PerformanceService;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::extract::BodyLimit;
use crate::middleware::{JsonErrorsLayer, RESTRICTIVE_CSP, RequestTimeoutLayer};
use crate::state::AppState;
use crate::{ApiConfig, respond, routes};

/// Responses smaller than this are sent as they are: gzip would save little (the prepared
/// answers' threshold too).
pub(crate) const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// The router serving every endpoint of API.md under `/api/performance`, plus `/` (the live
/// dashboard, with its assets under `/assets/`) and `/api/performance/health/live` and `/health/ready`.
///
/// Every failure, including axum's own rejections, unknown paths under `/api/performance`
/// and wrong methods, is answered with API.md's JSON error. The router installs no
/// fallback: merge it into an app that has its own, or nest it under a prefix of yours;
/// paths outside `/api/performance` stay the host's. Bodies are limited to `config.body_limit`, requests
/// to `config.request_timeout`; live data is `Cache-Control: no-store`; every response is
/// `X-Content-Type-Options: nosniff` with a restrictive Content-Security-Policy
/// ([`RESTRICTIVE_CSP`](crate::middleware::RESTRICTIVE_CSP), the dashboard page its own);
/// large responses are gzipped when the client accepts it.
///
/// Failed authentication is limited per client address (429 with `Retry-After`) when the
/// app is served with `into_make_service_with_connect_info::<SocketAddr>()`, and every admin
/// action is logged under the `perfkit::audit` target.
///
/// Add [`RequestMetricsLayer`](crate::RequestMetricsLayer) to the outermost router to
/// record requests; this router does not add it, so an app that merges it records each
/// request once.
///
/// ```
/// use axum::body::Body;
/// use axum::http::Request;
/// use perfkit::PerformanceService;
/// use perfkit_axum::{ApiConfig, router};
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let service = PerformanceService::builder().build()?;
/// let app = router(service, ApiConfig { admin_token: "s3cret".into(), ..ApiConfig::default() });
///
/// let request = Request::delete("/api/performance/alerts").body(Body::empty()).unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 401, "admin endpoints need the token");
/// # Ok::<(), perfkit::PerfkitError>(())
/// # }).unwrap();
/// ```
pub fn router(service: PerformanceService, config: ApiConfig) -> Router {
    let (routes, mut document) = routes::api().split_for_parts();
    let (unlayered, unlayered_document) = routes::unlayered().split_for_parts();
    document.merge(unlayered_document);
    let openapi_json = match document.to_pretty_json() {
        Ok(text) => text,
        Err(error) => {
            tracing::error!(%error, "the OpenAPI document could not be serialized");
            String::from("{}")
        }
    };
    let compress_when = SizeAbove::new(COMPRESS_ABOVE_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE);
    let state = AppState::new(service, config, &openapi_json);
    let config = Arc::clone(&state.config);
    // One `route_layer` for the whole stack: axum boxes and clones each route layer's
    // service on every request, so ten route layers cost ten boxes; one stack costs one.
    // In a `ServiceBuilder` the layer listed first runs outermost.
    let stack = ServiceBuilder::new()
        .layer(CompressionLayer::new().gzip(true).compress_when(compress_when))
        // Error statuses and panics below as API.md's JSON error, in a concrete future that
        // acts on errors only (no box, no state clone).
        .layer(JsonErrorsLayer::new(config.body_limit))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // Every response: the browser must not guess a type, nor run or frame anything an
        // answer holds (the dashboard's page sets its own, looser, policy and keeps it).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(RESTRICTIVE_CSP),
        ))
        // Answers 408 as JSON itself, and starts a timer only for requests that wait.
        .layer(RequestTimeoutLayer::new(config.request_timeout))
        // The configured limit for every body extractor (axum's and perfkit's): reading
        // stops with 413 as soon as a body passes it.
        .layer(DefaultBodyLimit::max(config.body_limit))
        // So a 413 can name the limit.
        .layer(Extension(BodyLimit(config.body_limit)));
    // `route_layer`, not `layer`: the stack wraps perfkit's routes only, never the fallback
    // of an app this router is merged into.
    routes
        // Perfkit's JSON 404 covers its own prefix only: no fallback, so a host app with a
        // fallback of its own can `merge` this router, and the host's 404s stay the host's.
        .route("/api/performance", any(respond::not_found))
        .route("/api/performance/", any(respond::not_found))
        .route("/api/performance/{*rest}", any(respond::not_found))
        .route_layer(stack)
        .merge(unlayered)
        .with_state(state)
}
