//! What the database tests share: one recorder behind the process's one global subscriber
//! (sqlx's SQLite driver logs from its own worker threads, which only a global subscriber
//! reaches), and requests to the router.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test file uses a different part; test helpers panic

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use perfkit::metrics::Recorder;
use tower::ServiceExt;

pub(crate) const TOKEN: &str = "database-test-token";

/// The recorder the global subscriber's query-timing layer records into; installed once.
pub(crate) fn recorder() -> Arc<Recorder> {
    static RECORDER: OnceLock<Arc<Recorder>> = OnceLock::new();
    Arc::clone(RECORDER.get_or_init(|| {
        let recorder = Arc::new(Recorder::default());
        tracing::subscriber::set_global_default(perfkit_sqlx::subscriber(Arc::clone(&recorder)))
            .expect("the only global subscriber of this test binary");
        recorder
    }))
}

/// Sends a GET (with the admin token when `admin`) and returns the status and body text.
pub(crate) async fn get(router: &Router, uri: &str, admin: bool) -> (StatusCode, String) {
    let mut request = Request::get(uri);
    if admin {
        request = request.header("authorization", format!("Bearer {TOKEN}"));
    }
    let response = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 1 << 24).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// A GET whose answer is JSON.
pub(crate) async fn get_json(
    router: &Router,
    uri: &str,
    admin: bool,
) -> (StatusCode, serde_json::Value) {
    let (status, text) = get(router, uri, admin).await;
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{uri}: {e}: {text}")))
}
