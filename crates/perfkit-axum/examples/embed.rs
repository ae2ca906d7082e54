//! Embedding perfkit in an existing axum app: the app keeps its own routes, gains
//! `/api/performance/*`, and every request (its own and perfkit's) is recorded by matched
//! route.
//!
//! ```text
//! PERFKIT_ADMIN_TOKEN=s3cret cargo run -p perfkit-axum --example embed
//! curl localhost:3000/api/posts/1
//! curl localhost:3000/api/performance/summary
//! curl -X DELETE -H 'Authorization: Bearer s3cret' localhost:3000/api/performance/alerts
//! ```
#![allow(clippy::expect_used)] // start-up failures should stop the example loudly

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use perfkit::PerformanceService;
use perfkit_axum::{ApiConfig, RequestMetricsLayer, router};

/// The host app's own handler: a cache-aside read through perfkit's cache.
async fn post(
    State(service): State<PerformanceService>,
    Path(id): Path<u64>,
) -> Json<serde_json::Value> {
    let key = format!("post:{id}");
    let cache = service.cache();
    let hit = matches!(cache.get(&key).await, Ok(Some(_)));
    if !hit {
        // The slow source the cache protects.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = cache.set(&key, id.to_string().as_bytes(), Some(Duration::from_secs(60))).await;
    }
    Json(serde_json::json!({ "id": id, "cached": hit }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let service = PerformanceService::builder().build().expect("the performance service builds");
    service.start();

    let config = ApiConfig {
        admin_token: std::env::var("PERFKIT_ADMIN_TOKEN").unwrap_or_default(),
        ..ApiConfig::default()
    };
    let app = Router::new()
        .route("/api/posts/{id}", get(post))
        .with_state(service.clone())
        .merge(router(service.clone(), config))
        // Outermost, so it sees the matched route of every request, perfkit's included.
        .layer(RequestMetricsLayer::new(Arc::clone(service.recorder())));

    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:3000").await.expect("port 3000 is free");
    println!("listening on http://127.0.0.1:3000 (try /api/posts/1 and /api/performance/summary)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("the server runs");
    service.shutdown().await;
}
