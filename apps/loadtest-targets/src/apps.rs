//! The three apps compared: plain axum, the same with perfkit's router and
//! `RequestMetricsLayer`, the same with `axum-prometheus`'s layer and its `/metrics`.

use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::routing::get;
use axum::{Json, Router};
use perfkit::PerformanceService;
use perfkit_axum::{ApiConfig, RequestMetricsLayer};

/// Which app to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The JSON handler alone: the baseline.
    Plain,
    /// The handler, perfkit's router merged in, every request recorded by perfkit's layer.
    Perfkit,
    /// The handler with axum-prometheus's layer and its `/metrics` route.
    AxumPrometheus,
}

impl FromStr for Target {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self> {
        Ok(match name {
            "plain" => Target::Plain,
            "perfkit" => Target::Perfkit,
            "axum-prometheus" => Target::AxumPrometheus,
            other => bail!("unknown target {other:?} (plain, perfkit, axum-prometheus)"),
        })
    }
}

/// The cheap answer every app serves: small, serialized on each request.
async fn hello() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "message": "hello", "status": "ok" }))
}

fn app(target: Target) -> Result<Router> {
    let plain = Router::new().route("/api/hello", get(hello));
    Ok(match target {
        Target::Plain => plain,
        Target::Perfkit => {
            let service =
                PerformanceService::builder().build().context("cannot build the service")?;
            let config = ApiConfig::default();
            let app = plain
                .merge(perfkit_axum::router(service.clone(), config))
                .layer(RequestMetricsLayer::new(Arc::clone(service.recorder())));
            service.start();
            app
        }
        Target::AxumPrometheus => {
            let (layer, handle) = axum_prometheus::PrometheusMetricLayer::pair();
            plain.route("/metrics", get(move || async move { handle.render() })).layer(layer)
        }
    })
}

/// Serves `target` on a free loopback port until killed.
pub(crate) async fn serve(target: Target) -> Result<()> {
    let app = app(target)?;
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.context("cannot bind 127.0.0.1:0")?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await.context("the server failed")
}
