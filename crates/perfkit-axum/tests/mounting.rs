//! The router inside a host app: merged beside the host's own fallback, nested under a
//! prefix of the host's (axum's `nest`, and `perfkit_axum::nest`, which also answers the
//! mount with its trailing slash), under an API prefix of the host's choosing, and leaving
//! the host's paths to the host.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use perfkit::PerformanceService;
use perfkit_axum::{ApiConfig, router};
use support::{Call, TOKEN, send};

async fn perfkit_router() -> Router {
    let service = PerformanceService::builder().build().unwrap();
    service.collect_now().await;
    router(service, ApiConfig { admin_token: TOKEN.to_owned(), ..ApiConfig::default() }).unwrap()
}

async fn host_fallback() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "the host's own 404 page")
}

#[tokio::test]
async fn merges_into_a_host_app_that_has_its_own_fallback() {
    // axum panics when two merged routers both have a fallback; this must not.
    let app = Router::new()
        .route("/hello", get(|| async { "hello from the host" }))
        .fallback(host_fallback)
        .merge(perfkit_router().await);

    let host = send(&app, Call::get("/hello")).await;
    assert_eq!((host.status, host.text().as_str()), (StatusCode::OK, "hello from the host"));

    let summary = send(&app, Call::get("/api/performance/summary")).await;
    assert_eq!(summary.status, StatusCode::OK);
    assert!(summary.json()["score"].is_object());

    // Outside perfkit's prefix the host's fallback answers...
    let unknown = send(&app, Call::get("/no/such/page")).await;
    assert_eq!(
        (unknown.status, unknown.text().as_str()),
        (StatusCode::NOT_FOUND, "the host's own 404 page")
    );
    // ...and under it, perfkit's JSON error.
    for path in ["/api/performance", "/api/performance/", "/api/performance/nope/deeper"] {
        let answer = send(&app, Call::get(path)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.error_code(), "not_found", "{path}");
    }
}

#[tokio::test]
async fn a_host_without_a_fallback_keeps_its_own_404s() {
    let app = Router::new()
        .route("/hello", get(|| async { "hello from the host" }))
        .merge(perfkit_router().await);
    let answer = send(&app, Call::get("/wp-admin/setup.php")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.body.is_empty(), "not perfkit's to answer: {}", answer.text());
}

#[tokio::test]
async fn nests_under_a_prefix_of_the_host() {
    let app = Router::new()
        .nest("/ops", perfkit_router().await)
        .route("/", get(|| async { "the host's home" }))
        .fallback(host_fallback);

    let summary = send(&app, Call::get("/ops/api/performance/summary")).await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text());
    let health = send(&app, Call::get("/ops/api/performance/health")).await;
    assert!(health.status == StatusCode::OK || health.status == StatusCode::SERVICE_UNAVAILABLE);
    let admin =
        send(&app, Call::new(axum::http::Method::DELETE, "/ops/api/performance/alerts")).await;
    assert_eq!(
        (admin.status, admin.error_code().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let wrong_method =
        send(&app, Call::new(axum::http::Method::POST, "/ops/api/performance/summary")).await;
    assert_eq!(wrong_method.error_code(), "method_not_allowed");

    // The dashboard knows where it is mounted: its assets and API calls carry the prefix.
    let page = send(&app, Call::get("/ops")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(r#"src="/ops/assets/app.js""#), "{}", page.text());
    assert!(page.text().contains(r#"<meta name="perfkit-mount" content="/ops">"#));
    let script = send(&app, Call::get("/ops/assets/api.js")).await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.text().contains("perfkit-mount"));

    let missing = send(&app, Call::get("/ops/api/performance/nope")).await;
    assert_eq!(
        (missing.status, missing.error_code().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    // The un-prefixed API is not there, and the host's paths stay the host's.
    let unprefixed = send(&app, Call::get("/api/performance/summary")).await;
    assert_eq!(unprefixed.text(), "the host's own 404 page");
    let home = send(&app, Call::get("/")).await;
    assert_eq!(home.text(), "the host's home");
}

#[tokio::test]
async fn nested_with_perfkit_nest_the_mount_answers_with_and_without_its_slash() {
    let host =
        Router::new().route("/", get(|| async { "the host's home" })).fallback(host_fallback);
    let app = perfkit_axum::nest(host, "/ops", perfkit_router().await);

    for mount in ["/ops", "/ops/", "/ops/?tab=metrics"] {
        let page = send(&app, Call::get(mount)).await;
        assert_eq!(page.status, StatusCode::OK, "{mount}: {}", page.text());
        assert!(page.text().contains(r#"<meta name="perfkit-mount" content="/ops">"#), "{mount}");
        assert!(page.text().contains(r#"src="/ops/assets/app.js""#), "{mount}");
    }
    let summary = send(&app, Call::get("/ops/api/performance/summary")).await;
    assert_eq!(summary.status, StatusCode::OK);
    let missing = send(&app, Call::get("/ops/api/performance/nope")).await;
    assert_eq!(missing.error_code(), "not_found");
    assert_eq!(send(&app, Call::get("/")).await.text(), "the host's home");
    assert_eq!(send(&app, Call::get("/elsewhere")).await.text(), "the host's own 404 page");
}

#[tokio::test]
async fn the_api_prefix_is_a_setting_and_the_page_follows_it() {
    let service = PerformanceService::builder().build().unwrap();
    service.collect_now().await;
    let config = ApiConfig {
        admin_token: TOKEN.to_owned(),
        api_prefix: "/perf/v1".to_owned(),
        ..ApiConfig::default()
    };
    let app = perfkit_axum::nest(
        Router::new().fallback(host_fallback),
        "/ops",
        router(service, config).unwrap(),
    );

    for path in ["/summary", "/dashboard", "/metrics", "/health/live", "/openapi.json"] {
        let answer = send(&app, Call::get(&format!("/ops/perf/v1{path}"))).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
    }
    let admin = send(&app, Call::new(axum::http::Method::DELETE, "/ops/perf/v1/alerts")).await;
    assert_eq!(admin.status, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&app, Call::get("/ops/perf/v1/nope")).await.error_code(), "not_found");
    // The default prefix is gone, and is the host's again.
    let old = send(&app, Call::get("/ops/api/performance/summary")).await;
    assert_eq!(old.text(), "the host's own 404 page");
    // The document and the page name the prefix in force.
    let document = send(&app, Call::get("/ops/perf/v1/openapi.json")).await.json();
    assert!(document["paths"]["/perf/v1/summary"].is_object(), "{}", document["paths"]);
    let page = send(&app, Call::get("/ops/")).await.text();
    assert!(page.contains(r#"<meta name="perfkit-api" content="/perf/v1">"#), "{page}");
}

#[tokio::test]
async fn a_prefix_that_is_not_a_plain_path_is_refused() {
    let service = PerformanceService::builder().build().unwrap();
    for prefix in ["", "/", "perf", "/perf/", "/a/{id}"] {
        let config = ApiConfig {
            admin_token: TOKEN.to_owned(),
            api_prefix: prefix.to_owned(),
            ..ApiConfig::default()
        };
        let refused = router(service.clone(), config).unwrap_err();
        assert!(
            matches!(refused, perfkit_axum::ApiConfigError::InvalidPrefix { .. }),
            "{prefix:?}: {refused}"
        );
    }
}
