//! The answers built at the edge from the service's parts: summary, dashboard and the
//! application view agree with the parts they are read from.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use perfkit::core::{BusinessSeries, MetricsSnapshot, SeriesKind};
use perfkit::metrics::Method;
use perfkit_axum::{ApiConfig, DashboardConfig};
use serde_json::json;
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

fn business_series(
    name: &str,
    depth: Option<&str>,
    kind: SeriesKind,
    value: f64,
) -> BusinessSeries {
    let histogram = kind == SeriesKind::Histogram;
    BusinessSeries {
        name: name.to_owned(),
        labels: depth
            .map(|d| BTreeMap::from([("depth".to_owned(), d.to_owned())]))
            .unwrap_or_default(),
        kind,
        value,
        increase: Some(value / 10.0),
        rate_per_second: Some(value / 300.0),
        sum: histogram.then_some(value * 500.0),
        p50: histogram.then_some(400.0),
        p95: histogram.then_some(900.0),
        p99: histogram.then_some(1000.0),
    }
}

/// The business series of the latest snapshot (filled by hand here; the facade's recorder
/// fills them at each collection) are in `/metrics/application`, `/metrics`, `/history`,
/// `/summary` and `/dashboard`, which also says which of them its panel shows.
#[tokio::test]
async fn the_latest_snapshots_business_series_are_served_where_the_snapshot_is() {
    let dashboard = DashboardConfig {
        business_metrics: vec![
            "demo_post_body_bytes".parse().unwrap(),
            "demo_page_reads".parse().unwrap(),
        ],
    };
    let (service, app) = support::app_with(ApiConfig { dashboard, ..support::config() }).await;
    let application = send(&app, Call::get(&path("/metrics/application"))).await.json();
    assert_eq!(application["business"], json!([]), "none emitted yet: {application}");

    let collected = service.readout().latest().unwrap();
    let business = vec![
        business_series("demo_page_reads", Some("1"), SeriesKind::Counter, 120.0),
        business_series("demo_page_reads", Some("6+"), SeriesKind::Counter, 3.0),
        business_series("demo_post_body_bytes", None, SeriesKind::Histogram, 7.0),
        business_series("demo_posts_created", None, SeriesKind::Counter, 7.0),
    ];
    let snapshot = MetricsSnapshot {
        timestamp: collected.timestamp + Duration::from_secs(30),
        business: business.clone(),
        ..collected
    };
    service.take_in_snapshot(snapshot).await;
    let expected = serde_json::to_value(&business).unwrap();

    let answer = send(&app, Call::get(&path("/metrics/application"))).await;
    // One `business` key: the view reads the series from the snapshot and nowhere else.
    assert_eq!(answer.text().matches("\"business\"").count(), 1, "{}", answer.text());
    let application = answer.json();
    assert_eq!(application["business"], expected);
    assert_eq!(application["business"][0]["ratePerSecond"], 0.4);
    assert_eq!(application["business"][2]["p95"], 900.0);
    assert_eq!(application["business"][2]["sum"], 3500.0);
    let metrics = send(&app, Call::get(&path("/metrics"))).await.json();
    assert_eq!(metrics["application"]["business"], expected);
    let history = send(&app, Call::get(&path("/history?limit=1"))).await.json();
    assert_eq!(history[0]["business"], expected);
    let summary = send(&app, Call::get(&path("/summary"))).await.json();
    assert_eq!(summary["snapshot"]["business"], expected);

    let dashboard = send(&app, Call::get(&path("/dashboard"))).await.json();
    let panel = &dashboard["business"];
    assert_eq!(panel["configured"], json!(["demo_post_body_bytes", "demo_page_reads"]));
    let shown: Vec<_> = panel["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}{}",
                s["name"].as_str().unwrap(),
                s["labels"]["depth"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(shown, ["demo_post_body_bytes", "demo_page_reads1", "demo_page_reads6+"]);
    assert_eq!(panel["omitted"], 0);
    assert_eq!(panel["series"][0], expected[2], "with the snapshot's figures");
    assert_eq!(dashboard["metrics"]["application"]["business"], expected);
    assert_eq!(dashboard["summary"]["snapshot"]["business"], expected);
}

/// Without `businessMetrics`, the panel shows the snapshot's first series; a list too long
/// is refused before the router exists.
#[tokio::test]
async fn an_unconfigured_dashboard_shows_the_first_series_and_a_long_list_is_refused() {
    let (service, app) = support::app().await;
    let collected = service.readout().latest().unwrap();
    let business: Vec<_> = (0..10)
        .map(|i| business_series(&format!("s{i:02}"), None, SeriesKind::Gauge, 1.0))
        .collect();
    let timestamp = collected.timestamp + Duration::from_secs(30);
    service.take_in_snapshot(MetricsSnapshot { timestamp, business, ..collected }).await;
    let dashboard = send(&app, Call::get(&path("/dashboard"))).await.json();
    assert_eq!(dashboard["business"]["configured"], json!([]));
    assert_eq!(dashboard["business"]["series"].as_array().unwrap().len(), 8);
    assert_eq!(dashboard["business"]["series"][0]["name"], "s00");
    assert_eq!(dashboard["business"]["omitted"], 2);

    let too_many = DashboardConfig {
        business_metrics: vec!["a".parse().unwrap(); perfkit_axum::MAX_BUSINESS_METRICS + 1],
    };
    let refused =
        perfkit_axum::router(service, ApiConfig { dashboard: too_many, ..support::config() });
    assert!(matches!(
        refused,
        Err(perfkit_axum::ApiConfigError::TooManyBusinessMetrics { count })
            if count == perfkit_axum::MAX_BUSINESS_METRICS + 1
    ));
}
