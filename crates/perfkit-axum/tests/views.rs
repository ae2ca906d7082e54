//! The answers built at the edge from the service's parts: summary, dashboard and the
//! application view agree with the parts they are read from.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

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

/// The business series (emitted through the facade into the service's recorder) are in
/// `/metrics/application`, `/metrics`, `/history`, `/summary` and `/dashboard` with the same
/// figures as the latest snapshot's, and `/dashboard` says which of them its panel shows.
#[tokio::test]
async fn the_business_series_are_served_where_the_snapshot_is_with_its_figures() {
    let dashboard = DashboardConfig {
        business_metrics: vec![
            "demo_post_body_bytes".parse().unwrap(),
            "demo_page_reads".parse().unwrap(),
        ],
        trace_url: Some("https://tempo.example/trace/{traceId}".parse().unwrap()),
    };
    let (service, app) = support::app_with(ApiConfig { dashboard, ..support::config() }).await;
    let application = send(&app, Call::get(&path("/metrics/application"))).await.json();
    assert_eq!(application["business"], json!([]), "none emitted yet: {application}");

    let facade = perfkit::metrics_facade::recorder(&service);
    metrics::with_local_recorder(&facade, || {
        metrics::counter!("demo_page_reads", "depth" => "1").increment(120);
        metrics::counter!("demo_page_reads", "depth" => "6+").increment(3);
        for bytes in [100.0, 200.0, 300.0] {
            metrics::histogram!("demo_post_body_bytes").record(bytes);
        }
        metrics::counter!("demo_posts_created").increment(3);
    });
    let latest = service.collect_now().await;
    let expected = serde_json::to_value(&latest.business).unwrap();
    assert_eq!(expected.as_array().unwrap().len(), 4, "{expected}");

    let answer = send(&app, Call::get(&path("/metrics/application"))).await;
    // One `business` key: the recorder's, which the snapshot was filled from.
    assert_eq!(answer.text().matches("\"business\"").count(), 1, "{}", answer.text());
    let application = answer.json();
    assert_eq!(application["business"], expected);
    assert_eq!(application["business"][0]["labels"]["depth"], "1");
    assert_eq!(application["business"][0]["value"], 120.0);
    assert_eq!(application["business"][0]["increase"], 120.0);
    assert!(application["business"][0]["ratePerSecond"].is_number(), "{application}");
    assert_eq!(application["business"][2]["kind"], "histogram");
    assert_eq!(application["business"][2]["sum"], 600.0);
    assert!(application["business"][2]["p95"].is_number(), "{application}");
    let metrics = send(&app, Call::get(&path("/metrics"))).await.json();
    assert_eq!(metrics["application"]["business"], expected);
    let history = send(&app, Call::get(&path("/history?limit=1"))).await.json();
    assert_eq!(history[0]["business"], expected);
    let summary = send(&app, Call::get(&path("/summary"))).await.json();
    assert_eq!(summary["snapshot"]["business"], expected);

    let dashboard = send(&app, Call::get(&path("/dashboard"))).await.json();
    assert_eq!(dashboard["traceUrl"], "https://tempo.example/trace/{traceId}", "as configured");
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
    let facade = perfkit::metrics_facade::recorder(&service);
    metrics::with_local_recorder(&facade, || {
        for i in 0..10 {
            metrics::gauge!(format!("s{i:02}")).set(1.0);
        }
    });
    service.collect_now().await;
    let dashboard = send(&app, Call::get(&path("/dashboard"))).await.json();
    assert_eq!(dashboard["traceUrl"], serde_json::Value::Null, "none configured");
    assert_eq!(dashboard["business"]["configured"], json!([]));
    assert_eq!(dashboard["business"]["series"].as_array().unwrap().len(), 8);
    assert_eq!(dashboard["business"]["series"][0]["name"], "s00");
    assert_eq!(dashboard["business"]["omitted"], 2);

    let too_many = DashboardConfig {
        business_metrics: vec!["a".parse().unwrap(); perfkit_axum::MAX_BUSINESS_METRICS + 1],
        ..DashboardConfig::default()
    };
    let refused =
        perfkit_axum::router(service, ApiConfig { dashboard: too_many, ..support::config() });
    assert!(matches!(
        refused,
        Err(perfkit_axum::ApiConfigError::TooManyBusinessMetrics { count })
            if count == perfkit_axum::MAX_BUSINESS_METRICS + 1
    ));
}

/// A host's own cache, reported in one call a read, shows beside perfkit's cache with the
/// same figures in `/cache/stats`, `/dashboard` and the exposition.
#[tokio::test]
async fn a_host_cache_is_shown_beside_the_cache_with_one_set_of_figures() {
    let (service, app) = support::app().await;
    let lru = service.host_cache("session-lru");
    for hit in [true, true, true, false] {
        lru.record_read(hit);
    }
    lru.record_write();

    let stats = send(&app, Call::get(&path("/cache/stats"))).await.json();
    let dashboard = send(&app, Call::get(&path("/dashboard"))).await.json();
    let exposition = send(&app, Call::get(&path("/metrics/prometheus"))).await.text();
    let expected = json!([{
        "name": "session-lru", "hits": 3, "misses": 1, "hitRate": 0.75, "writes": 1
    }]);
    assert_eq!(stats["hostCaches"], expected, "{stats}");
    assert_eq!(dashboard["cache"]["hostCaches"], expected);
    assert_eq!(stats["backend"], "memory", "perfkit's own cache stays at the top level");
    for line in [
        r#"perfkit_host_cache_hits_total{cache="session-lru"} 3"#,
        r#"perfkit_host_cache_misses_total{cache="session-lru"} 1"#,
        r#"perfkit_host_cache_writes_total{cache="session-lru"} 1"#,
        r#"perfkit_host_cache_hit_rate{cache="session-lru"} 0.75"#,
    ] {
        assert!(exposition.lines().any(|l| l == line), "{line} missing:\n{exposition}");
    }
}
