//! Every endpoint of the API (docs/openapi.json) through the router, with the admin token where needed.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::{Method, StatusCode, header};
use perfkit::HealthStatus;
use perfkit_axum::{ApiConfig, ProgramInfo};
use serde_json::{Value, json};
use support::{Call, TOKEN, app, app_with, path, send};

/// Every endpoint: method, path, body, and a check of the answer's JSON.
#[tokio::test]
async fn every_endpoint_answers_with_its_documented_shape() {
    let (service, app) = app().await;
    service.cache().set("user:1", b"alice", None).await.unwrap();
    service.cache().set("user:2", b"bob", None).await.unwrap();
    service.cache().set("post:1", b"hello", None).await.unwrap();
    let config = serde_json::to_string(&service.parts().optimizer.config()).unwrap();
    let rules = serde_json::to_string(&service.parts().alerts.rules()).unwrap();

    type Check = fn(&Value);
    let rows: Vec<(Call, Check)> = vec![
        (Call::get(&path("/summary")), |b| {
            assert!(b["score"].is_object(), "{b}");
            assert!(b["snapshot"]["timestamp"].is_string(), "{b}");
            assert!(b["activeAlerts"].is_number(), "{b}");
            assert!(b["topRecommendations"].is_array(), "{b}");
        }),
        (Call::get(&path("/metrics")), |b| {
            assert!(b["system"].is_object(), "{b}");
            assert!(b["application"]["requests"].is_object(), "{b}");
        }),
        (Call::get(&path("/metrics/system")), |b| {
            assert!(b["process"]["pid"].is_number(), "{b}");
            // The runtime that built the answer: this test's current-thread one.
            assert_eq!(b["runtime"]["workers"], 1, "{b}");
            assert!(b["runtime"]["aliveTasks"].is_number(), "{b}");
            assert!(b["runtime"]["globalQueueDepth"].is_number(), "{b}");
            assert!(b["runtime"]["workerBusySecondsTotal"].as_f64().unwrap() >= 0.0, "{b}");
        }),
        (Call::get(&path("/metrics/application")), |b| {
            assert!(b["responseTime"].is_object(), "{b}");
            assert!(b["throughput"].is_object(), "{b}");
            assert!(b["errors"]["byKind"].is_object(), "{b}");
        }),
        (Call::get(&path("/report")), |b| assert!(b.is_object(), "{b}")),
        (Call::get(&path("/instances")), |b| {
            // The in-memory server coordinates with itself alone: it lists itself.
            let listed = b["instances"].as_array().unwrap();
            assert_eq!(listed.len(), 1, "{b}");
            assert_eq!(listed[0]["instance"], b["answeredBy"], "{b}");
            assert!(listed[0]["latest"]["timestamp"].is_string(), "{b}");
        }),
        (Call::get(&path("/history?limit=100")), |b| {
            assert_eq!(b.as_array().unwrap().len(), 1, "{b}");
            assert!(b[0]["timestamp"].is_string(), "{b}");
        }),
        (Call::get(&path("/history")), |b| assert!(b.is_array(), "{b}")),
        (Call::get(&path("/cache/stats")), |b| {
            assert_eq!(b["keys"], 3, "{b}");
            assert!(b.get("hitRate").is_some(), "{b}");
        }),
        (
            Call::new(Method::DELETE, &path("/cache/pattern"))
                .admin()
                .json(r#"{"pattern":"user"}"#),
            |b| {
                assert_eq!(b["deleted"], 2, "{b}");
                assert_eq!(b["pattern"], "user", "{b}");
            },
        ),
        (Call::new(Method::POST, &path("/cache/optimize")).admin(), |b| {
            assert!(b.is_object(), "{b}");
        }),
        (Call::new(Method::DELETE, &path("/cache")).admin(), |b| {
            assert_eq!(b["deleted"], 1, "{b}");
        }),
        (Call::get(&path("/optimization/recommendations")), |b| assert!(b.is_array(), "{b}")),
        (Call::new(Method::POST, &path("/optimization/run")).admin(), |b| {
            assert!(b.is_object(), "{b}");
        }),
        (Call::new(Method::POST, &path("/optimization/force")).admin(), |b| {
            assert!(b.is_object(), "{b}");
        }),
        (Call::get(&path("/optimization/history?limit=50")), |b| {
            assert_eq!(b.as_array().unwrap().len(), 2, "run and force are recorded: {b}");
        }),
        (Call::get(&path("/optimization/config")), |b| {
            assert!(b["cacheOptimization"]["hitRateThreshold"].is_number(), "{b}");
        }),
        (
            Call::new(Method::PUT, &path("/optimization/auto"))
                .admin()
                .json(r#"{"enabled":false}"#),
            |b| {
                assert_eq!(b, &json!({"enabled": false}));
            },
        ),
        (Call::get(&path("/dashboard")), |b| {
            for key in
                ["summary", "metrics", "history", "trends", "alerts", "optimization", "health"]
            {
                assert!(b.get(key).is_some(), "{key} missing: {b}");
            }
        }),
        (Call::get(&path("/alerts")), |b| {
            assert!(b["active"].is_array(), "{b}");
            assert!(b["history"].is_array(), "{b}");
        }),
        (Call::new(Method::DELETE, &path("/alerts")).admin(), |b| {
            assert!(b["cleared"].is_number(), "{b}");
        }),
        (Call::get(&path("/alerts/rules")), |b| {
            assert_eq!(
                b["rules"].as_array().unwrap().len(),
                6,
                "the guide's five and replica lag: {b}"
            );
        }),
        (Call::new(Method::DELETE, &path("/metrics")).admin(), |b| {
            assert_eq!(b, &json!({"reset": true}));
        }),
        (Call::get(&path("/health/live")), |b| assert_eq!(b["status"], "up", "{b}")),
        (Call::get(&path("/health/ready")), |b| {
            assert_eq!(b["status"], "up", "a snapshot was collected: {b}");
        }),
        (Call::get(&path("/openapi.json")), |b| {
            assert!(b["openapi"].as_str().unwrap().starts_with("3.1"), "{b}");
        }),
        (Call::get(&path("/info")), |b| {
            // A host that said nothing: perfkit's own version, the rest unknown.
            assert_eq!(b["name"], "perfkit", "{b}");
            assert_eq!(b["version"], env!("CARGO_PKG_VERSION"), "{b}");
            for unknown in ["gitCommit", "rustc", "configSource"] {
                assert_eq!(b[unknown], "unknown", "{unknown}: {b}");
            }
            assert!(b["buildTime"].is_null(), "{b}");
            assert_eq!(b["features"], json!([]), "{b}");
            assert!(b["startTime"].as_str().unwrap().ends_with('Z'), "{b}");
            assert!(b["uptimeSeconds"].is_u64(), "{b}");
        }),
    ];
    for (call, check) in rows {
        let label = format!("{} {}", call.method, call.path);
        let answer = send(&app, call).await;
        assert_eq!(answer.status, StatusCode::OK, "{label}: {}", answer.text());
        assert!(
            answer.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"),
            "{label}"
        );
        check(&answer.json());
    }

    // The config and rule endpoints take back what they give.
    let answer =
        send(&app, Call::new(Method::PUT, &path("/optimization/config")).admin().json(&config))
            .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json(), serde_json::from_str::<Value>(&config).unwrap());
    let answer =
        send(&app, Call::new(Method::PUT, &path("/alerts/rules")).admin().json(&rules)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json(), serde_json::from_str::<Value>(&rules).unwrap());
}

#[tokio::test]
async fn prometheus_is_text_exposition() {
    let (service, app) = app().await;
    service.recorder().record_request(
        Some("/api/posts/{id}"),
        perfkit::metrics::Method::Get,
        200,
        std::time::Duration::from_millis(3),
    );
    let answer = send(&app, Call::get(&path("/metrics/prometheus"))).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "text/plain; version=0.0.4; charset=utf-8");
    assert!(answer.text().contains("http_requests_total"), "{}", answer.text());
}

#[tokio::test]
async fn the_dashboard_page_and_its_assets_carry_a_strict_policy() {
    let (_, app) = app().await;
    let answer = send(&app, Call::get("/")).await;
    assert_eq!(answer.status, 200);
    assert!(answer.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let policy = answer.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    for directive in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert_eq!(answer.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    for link in [
        "/api/performance/summary",
        "/api/performance/metrics/prometheus",
        "/api/performance/openapi.json",
        "/assets/app.js",
        "/assets/style.css",
    ] {
        assert!(answer.text().contains(link), "{link} missing");
    }

    let script = send(&app, Call::get("/assets/app.js")).await;
    assert_eq!(script.status, 200);
    assert!(script.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(script.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap(), policy);
    assert_eq!(script.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    let missing = send(&app, Call::get("/assets/secret.txt")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn the_page_is_open_where_reads_are_protected_and_the_data_is_not() {
    let protected =
        ApiConfig { admin_token: TOKEN.to_owned(), protect_reads: true, ..ApiConfig::default() };
    let (_, app) = app_with(protected).await;
    assert_eq!(send(&app, Call::get("/")).await.status, 200, "the page holds no data");
    assert_eq!(send(&app, Call::get("/assets/api.js")).await.status, 200);
    assert_eq!(send(&app, Call::get(&path("/dashboard"))).await.status, 401);
    let ticket = Call::new(Method::POST, &path("/stream/ticket"));
    assert_eq!(send(&app, ticket.clone()).await.status, 401);
    let answer = send(&app, ticket.admin()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["ticket"].as_str().unwrap().len(), 32);
}

#[tokio::test]
async fn live_data_is_not_cached_and_large_answers_are_gzipped() {
    let (_, app) = app().await;
    let answer = send(&app, Call::get(&path("/summary"))).await;
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");

    let answer = send(&app, Call::get(&path("/dashboard")).header("accept-encoding", "gzip")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(&answer.body[..2], &[0x1f, 0x8b], "a gzip stream");
    // Prepared answers are served outside the layer stack: the same headers, set by hand.
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::VARY, "accept-encoding"),
        (header::CONTENT_TYPE, "application/json"),
    ] {
        assert_eq!(answer.headers[&name], value, "{name}");
    }
    assert!(answer.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&answer.body[..]), &mut decoded)
        .unwrap();
    let plain = send(&app, Call::get(&path("/dashboard"))).await;
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none(), "not asked for gzip");
    let (gzipped, plain): (serde_json::Value, serde_json::Value) =
        (serde_json::from_slice(&decoded).unwrap(), plain.json());
    let keys = |document: &serde_json::Value| -> Vec<String> {
        document.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
    };
    assert!(keys(&plain).contains(&"summary".to_owned()), "{plain}");
    assert_eq!(keys(&gzipped), keys(&plain), "the same document, gzipped");
    let refused =
        send(&app, Call::get(&path("/summary")).header("accept-encoding", "gzip;q=0")).await;
    assert!(refused.headers.get(header::CONTENT_ENCODING).is_none(), "q=0 refuses gzip");

    let answer =
        send(&app, Call::get(&path("/health/live")).header("accept-encoding", "gzip")).await;
    assert!(answer.headers.get(header::CONTENT_ENCODING).is_none(), "small answers go as they are");
}

#[tokio::test]
async fn health_aggregates_components_and_is_503_when_unhealthy() {
    let service = perfkit::PerformanceService::builder().build().unwrap();
    let app = perfkit_axum::router(service.clone(), support::config()).unwrap();
    let answer = send(&app, Call::get(&path("/health/ready"))).await;
    assert_eq!(answer.status, 503, "no snapshot yet: {}", answer.text());
    assert_eq!(answer.json()["status"], "down");
    service.collect_now().await;
    let answer = send(&app, Call::get(&path("/health/ready"))).await;
    assert_eq!(answer.status, 200, "{}", answer.text());

    // Not started: the collector is not running, which is unhealthy.
    let answer = send(&app, Call::get(&path("/health"))).await;
    assert_eq!(answer.status, 503, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["status"], "unhealthy");
    for component in ["collector", "cache", "probe", "alertNotifier"] {
        assert!(body["checks"][component]["status"].is_string(), "{component}: {body}");
    }

    service.start();
    service.collect_now().await;
    let answer = send(&app, Call::get(&path("/health"))).await;
    assert_eq!(service.readout().health().status, HealthStatus::Healthy);
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["status"], "healthy");
    service.shutdown().await;
}

#[tokio::test]
async fn a_firing_alert_is_listed_and_cleared() {
    let (service, app) = app().await;
    let rule = r#"{"rules":[{"name":"always","severity":"low","kind":"threshold",
        "metric":"memoryUsage","comparison":"above","threshold":0.0}]}"#;
    let answer =
        send(&app, Call::new(Method::PUT, &path("/alerts/rules")).admin().json(rule)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    service.collect_now().await;
    let answer = send(&app, Call::get(&path("/alerts"))).await;
    assert_eq!(answer.json()["active"].as_array().unwrap().len(), 1, "{}", answer.text());
    let answer = send(&app, Call::new(Method::DELETE, &path("/alerts")).admin()).await;
    assert_eq!(answer.json()["cleared"], 1);
    assert!(service.parts().alerts.active_alerts().is_empty());
}

#[tokio::test]
async fn reads_can_be_put_behind_the_token() {
    let config = ApiConfig {
        admin_token: support::TOKEN.to_owned(),
        protect_reads: true,
        ..ApiConfig::default()
    };
    let (_, app) = app_with(config).await;
    let answer = send(&app, Call::get(&path("/summary"))).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.error_code(), "unauthorized");
    let answer = send(&app, Call::get(&path("/summary")).admin()).await;
    assert_eq!(answer.status, 200);
    // Orchestrators and API clients need these without a token.
    for open in ["/health/live", "/health/ready", "/openapi.json"] {
        let answer = send(&app, Call::get(&path(open))).await;
        assert_ne!(answer.status, 401, "{open}");
    }
}

#[tokio::test]
async fn info_says_what_the_host_gave_and_is_a_read() {
    let program = ProgramInfo {
        name: "perfkit-server".to_owned(),
        version: "9.8.7".to_owned(),
        git_commit: "abc1234".to_owned(),
        build_time: Some("2026-01-01T00:00:00.000Z".parse().unwrap()),
        rustc: "rustc 1.90.0 (1159e78c4 2025-09-14)".to_owned(),
        features: vec!["demo".to_owned(), "tls".to_owned()],
        config_source: "/etc/perfkit.toml".to_owned(),
    };
    let config = ApiConfig {
        admin_token: TOKEN.to_owned(),
        protect_reads: true,
        program,
        ..ApiConfig::default()
    };
    let (service, app) = app_with(config).await;
    let refused = send(&app, Call::get(&path("/info"))).await;
    assert_eq!(refused.status, 401, "a read, behind the token where reads are protected");
    assert_eq!(refused.error_code(), "unauthorized");

    let answer = send(&app, Call::get(&path("/info")).admin()).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    // The recorder owns the start and the uptime: the snapshot's and the exposition's too.
    let started_at = service.recorder().started_at();
    let uptime = body["uptimeSeconds"].as_u64().unwrap();
    let expected = service.recorder().uptime().as_secs();
    assert!(uptime <= expected && uptime + 5 >= expected, "{uptime} vs {expected}");
    assert_eq!(
        body,
        json!({
            "name": "perfkit-server",
            "version": "9.8.7",
            "gitCommit": "abc1234",
            "buildTime": "2026-01-01T00:00:00.000Z",
            "rustc": "rustc 1.90.0 (1159e78c4 2025-09-14)",
            "startTime": started_at,
            "uptimeSeconds": uptime,
            "configSource": "/etc/perfkit.toml",
            "features": ["demo", "tls"],
        })
    );
}
