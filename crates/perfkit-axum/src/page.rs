//! The page at `/`: a plain index of the API until the dashboard arrives.

use axum::response::Html;

use crate::auth::Reader;

const INDEX: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>perfkit</title>
<style>body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;line-height:1.5}code{background:#f3f3f3;padding:0 .2em}</style>
</head>
<body>
<h1>perfkit</h1>
<p>Performance monitoring and optimization for this service. The dashboard is coming; until then, the API:</p>
<ul>
<li><a href="/api/performance/summary">Summary</a>: snapshot, score, status, alerts, recommendations</li>
<li><a href="/api/performance/dashboard">Dashboard data</a></li>
<li><a href="/api/performance/metrics">Metrics</a>
 (<a href="/api/performance/metrics/system">system</a>,
 <a href="/api/performance/metrics/application">application</a>,
 <a href="/api/performance/metrics/prometheus">Prometheus</a>)</li>
<li><a href="/api/performance/report">Report</a> and <a href="/api/performance/history?limit=100">history</a></li>
<li><a href="/api/performance/cache/stats">Cache statistics</a></li>
<li><a href="/api/performance/optimization/recommendations">Recommendations</a>,
 <a href="/api/performance/optimization/history">optimization history</a>,
 <a href="/api/performance/optimization/config">optimizer config</a></li>
<li><a href="/api/performance/alerts">Alerts</a> and <a href="/api/performance/alerts/rules">alert rules</a></li>
<li><a href="/api/performance/health">Health</a>
 (<a href="/api/performance/health/live">live</a>, <a href="/api/performance/health/ready">ready</a>)</li>
<li>Live stream: WebSocket at <code>/api/performance/stream</code></li>
<li><a href="/api/performance/openapi.json">OpenAPI document</a></li>
</ul>
<p>Changes (DELETE, POST, PUT) need <code>Authorization: Bearer &lt;admin token&gt;</code>.</p>
</body>
</html>
"#;

/// A plain page linking the API.
#[utoipa::path(get, path = "/", tag = "meta",
    responses((status = 200, description = "An HTML page linking the API", body = String, content_type = "text/html")))]
pub(crate) async fn index(_: Reader) -> Html<&'static str> {
    Html(INDEX)
}
