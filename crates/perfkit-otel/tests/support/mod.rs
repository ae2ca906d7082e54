#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)] // shared by test binaries
//! Test support: perfkit-testing's OTLP/HTTP receiver under short names, settings read as
//! from the environment, subscribers over a pipeline, and an app behind the traced request
//! layer with a cache read under a route.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use perfkit_axum::{RequestMetricsLayer, RequestTracing};
use perfkit_cache::{CacheAside, MemoryCache};
use perfkit_metrics::Recorder;
use perfkit_otel::{TracePipeline, TraceSettings};

pub use perfkit_testing::{OtlpAnswer as Answer, OtlpReceiver as Receiver, SpanAttribute as Attr};

/// `Some(Text(value))`.
pub fn text(value: &str) -> Option<Attr> {
    Attr::text(value)
}

/// Settings read from `env` as the process's variables would be, with a short interval.
pub fn settings(env: &[(&str, String)]) -> TraceSettings {
    let table: HashMap<String, String> =
        env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    let mut settings =
        TraceSettings::from_env(&|name| table.get(name).cloned(), "perfkit-otel-tests").unwrap();
    settings.export_interval = std::time::Duration::from_millis(20);
    settings
}

/// A thread-local subscriber with `pipeline`'s layer, for the current thread (and so a
/// `current_thread` runtime run on it).
pub fn subscribe(pipeline: &TracePipeline) -> tracing::subscriber::DefaultGuard {
    use tracing_subscriber::layer::SubscriberExt as _;
    tracing::subscriber::set_default(tracing_subscriber::registry().with(pipeline.layer()))
}

/// The same subscriber as a dispatcher, for futures spawned onto other threads.
pub fn dispatch(pipeline: &TracePipeline) -> tracing::Dispatch {
    use tracing_subscriber::layer::SubscriberExt as _;
    tracing::Dispatch::new(tracing_subscriber::registry().with(pipeline.layer()))
}

/// `/posts/{id}`: a cache-aside read over a memory cache (computed the first time, a hit
/// after); `/boom`: a 500; both behind the traced request layer.
pub fn app(tracing: RequestTracing) -> (Router, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let posts = CacheAside::new(Arc::new(MemoryCache::default()));
    let app = Router::new()
        .route(
            "/posts/{id}",
            get(move |axum::extract::Path(id): axum::extract::Path<u32>| {
                let posts = posts.clone();
                async move {
                    let key = format!("post:{id}");
                    let (value, _) = posts
                        .get_or_compute(&key, None, || async move {
                            Ok(format!("post {id}").into_bytes())
                        })
                        .await
                        .unwrap();
                    value
                }
            }),
        )
        .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .layer(RequestMetricsLayer::new(Arc::clone(&recorder)).with_tracing(tracing));
    (app, recorder)
}

/// GET `path` through `app`, with `traceparent` when given; the status.
pub async fn get_status(app: &Router, path: &str, traceparent: Option<&str>) -> StatusCode {
    use tower::ServiceExt as _;
    let mut request = axum::http::Request::get(path).header("host", "shop.test:8080");
    if let Some(parent) = traceparent {
        request = request.header("traceparent", parent);
    }
    let request = request.body(axum::body::Body::empty()).unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}
