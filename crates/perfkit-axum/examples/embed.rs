//! Embedding perfkit in an existing axum app: the app keeps its own routes, gains
//! `/api/performance/*` and the dashboard at `/`, and every request (its own and perfkit's)
//! is recorded by matched route.
//!
//! ```text
//! PERFKIT_ADMIN_TOKEN=correct-horse-battery cargo run -p perfkit-axum --example embed
//! curl localhost:3000/api/posts/1
//! curl localhost:3000/api/performance/summary
//! curl -X DELETE -H 'Authorization: Bearer correct-horse-battery' localhost:3000/api/performance/alerts
//! ```
//!
//! Without `PERFKIT_ADMIN_TOKEN` the example generates a token and prints it: an empty one
//! would lock the admin API, and `router` refuses it.
#![allow(clippy::expect_used)] // start-up failures should stop the example loudly

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use perfkit::PerformanceService;
use perfkit::cache::CacheAside;
use perfkit_axum::{ApiConfig, RequestMetricsLayer, router};

/// The host app's own handler: a cache-aside read through perfkit's cache, which says
/// whether it was a hit.
async fn post(State(posts): State<CacheAside>, Path(id): Path<u64>) -> Json<serde_json::Value> {
    let key = format!("post:{id}");
    let found = posts
        .get_or_compute(&key, Some(Duration::from_secs(60)), || async move {
            // The slow source the cache protects.
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(id.to_string().into_bytes())
        })
        .await;
    match found {
        Ok((_, lookup)) => Json(serde_json::json!({ "id": id, "lookup": lookup.as_str() })),
        Err(error) => Json(serde_json::json!({ "id": id, "error": error.to_string() })),
    }
}

/// The admin token from `PERFKIT_ADMIN_TOKEN`, or a random one, printed.
fn admin_token() -> String {
    if let Ok(token) = std::env::var("PERFKIT_ADMIN_TOKEN") {
        return token;
    }
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).expect("the system has randomness for a token");
    let token: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    println!("PERFKIT_ADMIN_TOKEN is not set; this run's admin token is {token}");
    token
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let service = PerformanceService::builder().build().expect("the performance service builds");
    service.start();

    let config = ApiConfig { admin_token: admin_token(), ..ApiConfig::default() };
    let perfkit = router(service.clone(), config).expect("the admin token is strong enough");
    let app = Router::new()
        .route("/api/posts/{id}", get(post))
        .with_state(CacheAside::new(Arc::clone(service.cache())))
        .merge(perfkit)
        // Outermost, so it sees the matched route of every request, perfkit's included.
        .layer(RequestMetricsLayer::new(Arc::clone(service.recorder())));

    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:3000").await.expect("port 3000 is free");
    println!("listening on http://127.0.0.1:3000 (try /api/posts/1 and /api/performance/summary)");
    // With connect info, so the router can throttle wrong tokens per client address.
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("the server runs");
    service.shutdown().await;
}
