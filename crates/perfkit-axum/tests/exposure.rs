//! Safe to expose, at the router: failed authentication is limited per client address (429
//! with `Retry-After`, even for the right token while blocked, others unaffected), a request
//! without credentials is 401 and no guess (even from a blocked address), and every
//! response carries `nosniff` and a restrictive Content-Security-Policy while the dashboard
//! keeps its own.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use perfkit_axum::middleware::RESTRICTIVE_CSP;
use support::{Call, TOKEN, app, path, send};
use tower::ServiceExt;

/// `DELETE /alerts` from `peer` with `token`, as the server sees it with connect info.
async fn clear_alerts(app: &Router, peer: &str, token: &str) -> (StatusCode, Option<String>) {
    clear_alerts_with(app, peer, Some(token)).await
}

/// `DELETE /alerts` from `peer`, with `token` or with no `Authorization` header at all.
async fn clear_alerts_with(
    app: &Router,
    peer: &str,
    token: Option<&str>,
) -> (StatusCode, Option<String>) {
    let mut request = Request::builder().method(Method::DELETE).uri(path("/alerts"));
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let mut request = request.body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    let response = app.clone().oneshot(request).await.unwrap();
    let retry_after =
        response.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
    (response.status(), retry_after)
}

#[tokio::test(start_paused = true)]
async fn failed_authentication_is_limited_per_client_address() {
    let (_, app) = app().await;
    let attacker = "192.0.2.10:40000";
    for attempt in 0..10 {
        let (status, _) = clear_alerts(&app, attacker, &format!("guess-{attempt}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let (status, retry_after) = clear_alerts(&app, attacker, "guess-10").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after.as_deref(), Some("60"));
    // Blocked means blocked: guessing right now gains nothing, from any port of that host.
    let (status, _) = clear_alerts(&app, "192.0.2.10:40001", TOKEN).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not affected.
    assert_eq!(clear_alerts(&app, "192.0.2.11:40000", TOKEN).await.0, StatusCode::OK);
    tokio::time::advance(std::time::Duration::from_secs(30)).await;
    assert_eq!(clear_alerts(&app, attacker, TOKEN).await.1.as_deref(), Some("30"));
    tokio::time::advance(std::time::Duration::from_secs(30)).await;
    assert_eq!(clear_alerts(&app, attacker, TOKEN).await.0, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn a_request_without_credentials_is_401_and_no_guess_even_from_a_blocked_address() {
    let (_, app) = app().await;
    let client = "192.0.2.20:40000";
    // Far more than the limit of requests with no header: none counts.
    for attempt in 0..50 {
        let (status, retry_after) = clear_alerts_with(&app, client, None).await;
        assert_eq!((status, retry_after), (StatusCode::UNAUTHORIZED, None), "attempt {attempt}");
    }
    assert_eq!(clear_alerts(&app, client, TOKEN).await.0, StatusCode::OK, "still let in");
    // Wrong tokens are guesses: the address is blocked...
    for attempt in 0..10 {
        let guess = format!("guess-{attempt}");
        assert_eq!(clear_alerts(&app, client, &guess).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(clear_alerts(&app, client, "guess-10").await.0, StatusCode::TOO_MANY_REQUESTS);
    // ...yet a request without credentials is still told what it lacks: 401, not 429.
    assert_eq!(clear_alerts_with(&app, client, None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_a_client_address_nothing_is_throttled() {
    let (_, app) = app().await;
    for attempt in 0..30 {
        let answer = send(&app, Call::new(Method::DELETE, &path("/alerts")).token("wrong")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    assert_eq!(send(&app, Call::new(Method::DELETE, &path("/alerts")).admin()).await.status, 200);
}

#[tokio::test]
async fn every_response_is_nosniff_with_a_restrictive_policy_and_the_page_keeps_its_own() {
    let (_, app) = app().await;
    let calls = [
        Call::get(&path("/metrics")),
        Call::get(&path("/metrics/prometheus")),
        Call::get(&path("/health")),
        Call::get(&path("/openapi.json")),
        Call::get(&path("/no-such-endpoint")),
        Call::new(Method::PATCH, &path("/metrics")),
        Call::new(Method::DELETE, &path("/cache")),
        Call::new(Method::PUT, &path("/alerts/rules")).admin().json("{"),
    ];
    for call in calls {
        let described = format!("{} {}", call.method, call.path);
        let answer = send(&app, call).await;
        assert_eq!(answer.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{described}");
        assert_eq!(answer.headers[header::CONTENT_SECURITY_POLICY], RESTRICTIVE_CSP, "{described}");
    }
    for page in ["/", "/assets/app.js"] {
        let answer = send(&app, Call::get(page)).await;
        assert_eq!(answer.status, 200, "{page}");
        let policy = answer.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(policy.contains("script-src 'self'"), "{page}: {policy}");
        assert_eq!(answer.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{page}");
    }
}
