//! The apps compared: plain axum, the same with perfkit's router and `RequestMetricsLayer`,
//! the same with `axum-prometheus`'s layer and its `/metrics`; and plain axum serving a
//! prepared answer of a given size on every path, the floor for answers as large as the
//! demo's or `/summary`'s.

use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::http::header::CONTENT_TYPE;
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
    /// Plain axum answering every GET with the same prepared JSON of this many bytes: what a
    /// user who kept rendered answers in memory would serve, with nothing around it.
    Sized(usize),
}

/// The largest prepared answer `sized` serves.
const MAX_SIZED: usize = 16 << 20;

impl FromStr for Target {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self> {
        Ok(match name {
            "plain" => Target::Plain,
            "perfkit" => Target::Perfkit,
            "axum-prometheus" => Target::AxumPrometheus,
            other => match other.strip_prefix("sized=").map(str::parse::<usize>) {
                Some(Ok(bytes)) if (2..=MAX_SIZED).contains(&bytes) => Target::Sized(bytes),
                _ => bail!(
                    "unknown target {other:?} (plain, perfkit, axum-prometheus, \
                     sized=BYTES with 2..={MAX_SIZED} bytes)"
                ),
            },
        })
    }
}

/// The cheap answer every app serves: small, serialized on each request.
async fn hello() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "message": "hello", "status": "ok" }))
}

/// A JSON string of exactly `bytes` bytes (at least 2: the quotes).
fn prepared_json(bytes: usize) -> axum::body::Bytes {
    let mut json = vec![b'x'; bytes];
    json[0] = b'"';
    json[bytes - 1] = b'"';
    json.into()
}

fn app(target: Target) -> Result<Router> {
    let plain = Router::new().route("/api/hello", get(hello));
    Ok(match target {
        Target::Plain => plain,
        Target::Perfkit => {
            let service =
                PerformanceService::builder().build().context("cannot build the service")?;
            let config = ApiConfig {
                admin_token: "loadtest-admin-token".to_owned(),
                ..ApiConfig::default()
            };
            let perfkit = perfkit_axum::router(service.clone(), config)?;
            let app = plain
                .merge(perfkit)
                .layer(RequestMetricsLayer::new(Arc::clone(service.recorder())));
            service.start();
            app
        }
        Target::AxumPrometheus => {
            let (layer, handle) = axum_prometheus::PrometheusMetricLayer::pair();
            plain.route("/metrics", get(move || async move { handle.render() })).layer(layer)
        }
        Target::Sized(bytes) => {
            let json = prepared_json(bytes);
            Router::new().fallback(get(move || {
                let json = json.clone();
                async move { ([(CONTENT_TYPE, "application/json")], json) }
            }))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sized_target_names_its_answer_size_within_bounds() {
        assert_eq!("sized=5300".parse::<Target>().unwrap(), Target::Sized(5300));
        for refused in ["sized=1", "sized=", "sized=x", "sized=99999999999", "huge"] {
            assert!(refused.parse::<Target>().is_err(), "{refused}");
        }
    }

    #[test]
    fn the_prepared_answer_is_json_of_exactly_the_size() {
        let json = prepared_json(5300);
        assert_eq!(json.len(), 5300);
        assert!(serde_json::from_slice::<String>(&json).is_ok());
        assert_eq!(&prepared_json(2)[..], b"\"\"");
    }
}
