//! Assembles the routes and the layers every response passes through.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Uri, header};
use axum::routing::any;
use axum::{Extension, Router};
use perfkit::PerformanceService;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::api::config::{ApiConfig, ApiConfigError};
use crate::api::prepared::COMPRESS_ABOVE_BYTES;
use crate::api::respond;
use crate::api::routes;
use crate::api::state::AppState;
use crate::extract::BodyLimit;
use crate::middleware::{
    JsonErrorsLayer, MarkOwnTrafficLayer, RESTRICTIVE_CSP, RequestTimeoutLayer,
};

/// The router serving every endpoint of `docs/openapi.json` under `config.api_prefix`
/// (default `/api/performance`), with `/` (the live dashboard, with its assets under
/// `/assets/`, feature `dashboard`) and the health probes `<prefix>/health/live` and
/// `<prefix>/health/ready`.
///
/// Every failure, including axum's own rejections, unknown paths under the prefix and
/// wrong methods, is answered with perfkit's JSON error. The router installs no fallback:
/// merge it into an app that has its own, or [`nest`] it under a prefix of yours; paths
/// outside the API prefix stay the host's. Bodies are limited to `config.body_limit`,
/// requests to `config.request_timeout`; live data is `Cache-Control: no-store`; every
/// response is `X-Content-Type-Options: nosniff` with a restrictive Content-Security-Policy
/// ([`RESTRICTIVE_CSP`](crate::middleware::RESTRICTIVE_CSP), the dashboard page its own);
/// large responses are gzipped when the client accepts it.
///
/// A request without an `Authorization` header is answered 401; wrong tokens are limited
/// per client address (429 with `Retry-After`) when the app is served with
/// `into_make_service_with_connect_info::<SocketAddr>()` (without it, the first request
/// logs a warning that the throttle is off). Every admin action is logged under the
/// `perfkit::audit` target.
///
/// Add [`RequestMetricsLayer`](crate::RequestMetricsLayer) to the outermost router to
/// record requests; this router does not add it, so an app that merges it records each
/// request once. Every answer of this router carries
/// [`OwnTrafficMark`](crate::middleware::OwnTrafficMark), so the layer records perfkit's
/// own traffic (API, dashboard, assets, scrapes, stream) apart from the host's, or not at
/// all (the recorder's `own_traffic`).
///
/// # Errors
/// The config's problem ([`ApiConfig::validate`]): an empty or weak admin token, an API
/// prefix that is not a plain path. Nothing is built then.
///
/// ```
/// use axum::body::Body;
/// use axum::http::Request;
/// use perfkit::PerformanceService;
/// use perfkit_axum::{ApiConfig, ApiConfigError, router};
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let service = PerformanceService::builder().build()?;
/// let token = "correct-horse-battery".to_owned();
/// let app = router(service.clone(), ApiConfig { admin_token: token, ..ApiConfig::default() })?;
///
/// let request = Request::delete("/api/performance/alerts").body(Body::empty()).unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 401, "admin endpoints need the token");
///
/// // No token at all would lock the admin API for good: refused up front.
/// let refused = router(service, ApiConfig::default()).unwrap_err();
/// assert_eq!(refused, ApiConfigError::EmptyToken);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub fn router(service: PerformanceService, config: ApiConfig) -> Result<Router, ApiConfigError> {
    config.validate()?;
    let prefix = config.api_prefix.clone();
    let (routes, mut document) = routes::api(&prefix).split_for_parts();
    let (unlayered, unlayered_document) = routes::unlayered(&prefix).split_for_parts();
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
        // perfkit's answers are perfkit's: the host's metrics layer keeps them apart.
        .layer(MarkOwnTrafficLayer)
        .layer(CompressionLayer::new().gzip(true).compress_when(compress_when))
        // Error statuses and panics below as perfkit's JSON error, in a concrete future that
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
    Ok(routes
        // Perfkit's JSON 404 covers its own prefix only: no fallback, so a host app with a
        // fallback of its own can `merge` this router, and the host's 404s stay the host's.
        .route(&prefix, any(respond::not_found))
        .route(&format!("{prefix}/"), any(respond::not_found))
        .route(&format!("{prefix}/{{*rest}}"), any(respond::not_found))
        .route_layer(stack)
        .merge(unlayered)
        .with_state(state))
}

/// `host` with `perfkit` (what [`router`] built) nested under `prefix`, answering at
/// `prefix` and at `prefix/` alike.
///
/// axum's own `Router::nest("/ops", ...)` serves the nested router's `/` at `/ops` only, and
/// `/ops/` falls through to the host's fallback; no route inside the nested router can
/// change that. This adds the `/ops/` route, served as `/ops`.
///
/// # Panics
/// Where axum's `Router::nest` panics: a `prefix` that is empty, `/`, or not a path.
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use perfkit::PerformanceService;
/// use perfkit_axum::{ApiConfig, nest, router};
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let service = PerformanceService::builder().build()?;
/// let config = ApiConfig { admin_token: "correct-horse-battery".into(), ..ApiConfig::default() };
/// let host = Router::new().route("/", get(|| async { "the host's home" }));
/// let app = nest(host, "/ops", router(service, config)?);
///
/// for path in ["/ops", "/ops/", "/ops/api/performance/summary"] {
///     let response = app.clone().oneshot(Request::get(path).body(Body::empty())?).await?;
///     assert_eq!(response.status(), 200, "{path}");
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub fn nest<S>(host: Router<S>, prefix: &str, perfkit: Router) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let bare = prefix.trim_end_matches('/').to_owned();
    let nested: Router = Router::new().nest(&bare, perfkit.clone());
    let served_as_bare = {
        let bare = bare.clone();
        nested.map_request(move |mut request: Request| {
            if let Some(uri) = without_trailing_slash(request.uri(), &bare) {
                *request.uri_mut() = uri;
            }
            request
        })
    };
    host.nest(&bare, perfkit.with_state(())).route_service(&format!("{bare}/"), served_as_bare)
}

/// `uri` with its path `bare`, its query kept; `None` if that is no URI (it always is).
fn without_trailing_slash(uri: &Uri, bare: &str) -> Option<Uri> {
    let path_and_query = match uri.query() {
        Some(query) => format!("{bare}?{query}"),
        None => bare.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}
