//! What recording many routes costs: the resident memory a `Recorder` with the default
//! route cap grows by when N distinct routes are recorded, and how long
//! `PrometheusExporter::render` of it takes. The cap is what keeps both bounded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use perfkit::metrics::{Method, PrometheusExporter, Recorder};

/// Records `count` distinct routes and returns the figures as one JSON object.
pub(crate) fn measure(count: usize) -> Result<serde_json::Value> {
    let before = resident_kib()?;
    let recorder = Arc::new(Recorder::default());
    for index in 0..count {
        let route = format!("/api/route{index}/{{id}}");
        recorder.record_request(Some(&route), Method::Get, 200, Duration::from_micros(250));
    }
    let after = resident_kib()?;
    let exporter = PrometheusExporter::new(Arc::clone(&recorder), None)
        .context("cannot build the exporter")?;
    // The first render allocates; the figure is the median of a few after it.
    let mut bytes = exporter.render().context("render")?.len();
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        bytes = exporter.render().context("render")?.len();
        times.push(started.elapsed());
    }
    times.sort();
    Ok(serde_json::json!({
        "routes_recorded": count,
        "routes_tracked": recorder.config().max_routes.min(count),
        "rss_growth_kib": after.saturating_sub(before),
        "render_ms": times[times.len() / 2].as_secs_f64() * 1e3,
        "exposition_bytes": bytes,
    }))
}

/// This process's resident set (`VmRSS` of `/proc/self/status`), in KiB.
fn resident_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .context("no VmRSS in /proc/self/status")
}
