//! The apps compared: plain axum, the same with perfkit's router and `RequestMetricsLayer`,
//! the same with the layer's request tracing on at 1 % and perfkit-otel's pipeline exporting
//! over OTLP/HTTP (to `OTEL_EXPORTER_OTLP_ENDPOINT`, a sink the xtask runs), the same with
//! `axum-prometheus`'s layer and its `/metrics`; plain axum serving a prepared answer of a
//! given size on every path, the floor for answers as large as the demo's or `/summary`'s;
//! and plain axum on the demo's routes answering from a map (`pages`).

use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::{Json, Router};
use perfkit::PerformanceService;
use perfkit_axum::{ApiConfig, RequestMetricsLayer, RequestTracing};

/// Which app to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The JSON handler alone: the baseline.
    Plain,
    /// The handler, perfkit's router merged in, every request recorded by perfkit's layer.
    Perfkit,
    /// As `Perfkit`, with request spans sampled at [`TRACED_RATIO`] and exported.
    PerfkitTraced,
    /// The handler with axum-prometheus's layer and its `/metrics` route.
    AxumPrometheus,
    /// Plain axum answering every GET with the same prepared JSON of this many bytes: what a
    /// user who kept rendered answers in memory would serve, with nothing around it.
    Sized(usize),
    /// Plain axum on the demo's read routes, reading their query and path and answering
    /// from a map of prepared pages of this many bytes (see `pages`).
    Pages(usize),
}

/// The sampling ratio of the traced target: 1 %, a production setting.
const TRACED_RATIO: f64 = 0.01;

/// The largest prepared answer `sized` serves.
const MAX_SIZED: usize = 16 << 20;
/// The largest page `pages` prepares: 11 000 of them are kept.
const MAX_PAGE: usize = 64 << 10;

impl FromStr for Target {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self> {
        Ok(match name {
            "plain" => Target::Plain,
            "perfkit" => Target::Perfkit,
            "perfkit-traced" => Target::PerfkitTraced,
            "axum-prometheus" => Target::AxumPrometheus,
            other => {
                let sized = |prefix: &str| {
                    other
                        .strip_prefix(prefix)
                        .and_then(|bytes| bytes.parse::<usize>().ok())
                        .filter(|bytes| (2..=MAX_SIZED).contains(bytes))
                };
                match (sized("sized="), sized("pages=")) {
                    (Some(bytes), _) => Target::Sized(bytes),
                    (_, Some(bytes)) if bytes <= MAX_PAGE => Target::Pages(bytes),
                    _ => bail!(
                        "unknown target {other:?} (plain, perfkit, perfkit-traced, \
                         axum-prometheus, sized=BYTES with 2..={MAX_SIZED} bytes, pages=BYTES \
                         with 2..={MAX_PAGE} bytes)"
                    ),
                }
            }
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

/// As [`prepared_json`], starting with `key`'s digits where they fit, so that each key's
/// answer is its own allocation and its own bytes, as rendered pages would be.
pub(crate) fn prepared_json_marked(bytes: usize, key: u32) -> axum::body::Bytes {
    let mut json = prepared_json(bytes).to_vec();
    let digits = key.to_string();
    if digits.len() + 2 <= bytes {
        json[1..=digits.len()].copy_from_slice(digits.as_bytes());
    }
    json.into()
}

/// The app, and the trace pipeline it exports through (kept as long as it serves).
fn app(target: Target) -> Result<(Router, Option<perfkit_otel::TracePipeline>)> {
    let plain = Router::new().route("/api/hello", get(hello));
    let mut pipeline = None;
    let app = match target {
        Target::Plain => plain,
        Target::Perfkit => with_perfkit(plain, None)?,
        Target::PerfkitTraced => {
            let traces = trace_pipeline()?;
            let sampler = traces.settings().sampler;
            let tracing =
                RequestTracing::ratio(sampler.ratio()).parent_based(sampler.is_parent_based());
            pipeline = Some(traces);
            with_perfkit(plain, Some(tracing))?
        }
        Target::AxumPrometheus => {
            let (layer, handle) = axum_prometheus::PrometheusMetricLayer::pair();
            plain.route("/metrics", get(move || async move { handle.render() })).layer(layer)
        }
        Target::Pages(bytes) => super::pages::app(bytes),
        Target::Sized(bytes) => {
            let json = prepared_json(bytes);
            Router::new().fallback(get(move || {
                let json = json.clone();
                async move { ([(CONTENT_TYPE, "application/json")], json) }
            }))
        }
    };
    Ok((app, pipeline))
}

/// `plain` with perfkit's router merged in and every request recorded by its layer, traced
/// with `tracing` when given.
fn with_perfkit(plain: Router, tracing: Option<RequestTracing>) -> Result<Router> {
    let service = PerformanceService::builder().build().context("cannot build the service")?;
    let config =
        ApiConfig { admin_token: "loadtest-admin-token".to_owned(), ..ApiConfig::default() };
    let perfkit = perfkit_axum::router(service.clone(), config)?;
    let mut layer = RequestMetricsLayer::new(Arc::clone(service.recorder()));
    if let Some(tracing) = tracing {
        layer = layer.with_tracing(tracing);
    }
    let app = plain.merge(perfkit).layer(layer);
    service.start();
    Ok(app)
}

/// perfkit-otel's pipeline from the standard variables, at [`TRACED_RATIO`] unless they
/// name a sampler, installed with its layer as the process's subscriber.
fn trace_pipeline() -> Result<perfkit_otel::TracePipeline> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let env = |name: &str| match (name, std::env::var(name).ok()) {
        ("OTEL_TRACES_SAMPLER_ARG", None) => Some(TRACED_RATIO.to_string()),
        (_, value) => value,
    };
    let settings = perfkit_otel::TraceSettings::from_env(&env, "perfkit-loadtest-traced")?;
    let pipeline = perfkit_otel::TracePipeline::install(&settings)?;
    tracing_subscriber::registry()
        .with(pipeline.layer())
        .try_init()
        .context("cannot install the tracing subscriber")?;
    Ok(pipeline)
}

/// Serves `target` on a free loopback port until killed.
pub(crate) async fn serve(target: Target) -> Result<()> {
    let (app, _pipeline) = app(target)?;
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
        assert_eq!("pages=5300".parse::<Target>().unwrap(), Target::Pages(5300));
        for refused in
            ["sized=1", "sized=", "sized=x", "sized=99999999999", "huge", "pages=1", "pages=99999"]
        {
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
