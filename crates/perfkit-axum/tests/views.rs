//! The answers built at the edge from the service's parts: summary, dashboard and the
//! application view agree with the parts they are read from.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use perfkit::metrics::Method;
use support::{Call, path, send};

#[tokio::test]
async fn summary_and_dashboard_are_built_from_the_parts() {
    let (service, app) = support::app().await;
    for step in 1..=5u64 {
        for _ in 0..20 {
            service.recorder().record_request(
                Some("/api/posts"),
                Method::Get,
                200,
                Duration::from_millis(20 * step),
            );
        }
        service.cache().set("post:1", b"x", None).await.unwrap();
        let _ = service.cache().get("post:1").await.unwrap();
        let _ = service.cache().get("post:2").await.unwrap();
        service.collect_now().await;
    }
    let latest = service.readout().latest().unwrap();

    let summary = send(&app, Call::get(&path("/summary"))).await.json();
    assert_eq!(summary["snapshot"]["p95"].as_f64(), latest.p95);
    assert_eq!(summary["snapshot"]["cacheHitRate"].as_f64(), Some(0.5));
    assert_ne!(summary["score"]["status"], "unknown", "{summary}");
    assert_eq!(summary["activeAlerts"], service.parts().alerts.active_alerts().len());

    let dashboard = send(&app, Call::get(&path("/dashboard"))).await.json();
    for field in
        ["summary", "metrics", "history", "trends", "alerts", "optimization", "cache", "health"]
    {
        assert!(dashboard.get(field).is_some(), "dashboard lacks {field}");
    }
    // The support app collected once before these five.
    assert_eq!(dashboard["history"].as_array().unwrap().len(), 6);
    assert_eq!(dashboard["cache"]["hits"], 5);
    assert_eq!(dashboard["cache"]["misses"], 5);
    assert_eq!(dashboard["service"]["lastCollection"], serde_json::json!(latest.timestamp));

    let application = send(&app, Call::get(&path("/metrics/application"))).await.json();
    assert_eq!(application["requests"]["total"], 100);
    assert_eq!(application["cache"]["hitRate"], 0.5);
    assert_eq!(application["activeConnections"], 0.0);
    assert!(application["queueLength"].is_null(), "no queue control: {application}");
}
