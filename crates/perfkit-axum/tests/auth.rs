//! Admin endpoints refuse a missing, wrong or malformed token with 401 and change nothing.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, header};
use perfkit::PerformanceService;
use perfkit_axum::{ApiConfig, ApiConfigError};
use serde_json::Value;
use support::{Call, app_with, path, send};

/// Everything an admin endpoint could change, read without going through the router.
#[derive(Debug, PartialEq)]
struct Observed {
    cached_keys: Vec<bool>,
    optimizer_config: Value,
    optimizer_runs: usize,
    active_alerts: usize,
    alert_rules: Value,
    requests_recorded: u64,
    history: usize,
}

const KEYS: [&str; 3] = ["user:1", "user:2", "post:1"];

async fn observe(service: &PerformanceService) -> Observed {
    let mut cached_keys = Vec::new();
    for key in KEYS {
        cached_keys.push(service.cache().exists(key).await.unwrap());
    }
    Observed {
        cached_keys,
        optimizer_config: serde_json::to_value(service.parts().optimizer.config()).unwrap(),
        optimizer_runs: service.parts().optimizer.history(1000).len(),
        active_alerts: service.parts().alerts.active_alerts().len(),
        alert_rules: serde_json::to_value(service.parts().alerts.rules()).unwrap(),
        requests_recorded: service.recorder().snapshot().requests.total,
        history: service.readout().history(1000).len(),
    }
}

/// A service with something to lose: cached keys, a firing alert, a recorded request.
async fn seeded(config: ApiConfig) -> (PerformanceService, axum::Router) {
    let (service, app) = app_with(config).await;
    for key in KEYS {
        service.cache().set(key, b"value", None).await.unwrap();
    }
    let rules = perfkit::alerting::RuleSet::from_json(
        r#"{"rules":[{"name":"always","severity":"low","kind":"threshold",
            "metric":"memoryUsage","comparison":"above","threshold":0.0}]}"#,
    )
    .unwrap();
    service.parts().alerts.replace_rules(rules).unwrap();
    service.recorder().record_request(
        Some("/x"),
        perfkit::metrics::Method::Get,
        200,
        Duration::from_millis(1),
    );
    service.collect_now().await;
    assert_eq!(service.parts().alerts.active_alerts().len(), 1, "the planted alert fires");
    (service, app)
}

fn admin_calls() -> Vec<Call> {
    let config = r#"{"cacheOptimization":{"hitRateThreshold":0.5}}"#;
    vec![
        Call::new(Method::DELETE, &path("/cache")),
        Call::new(Method::DELETE, &path("/cache/pattern")).json(r#"{"pattern":"user"}"#),
        Call::new(Method::POST, &path("/cache/optimize")),
        Call::new(Method::POST, &path("/optimization/run")),
        Call::new(Method::POST, &path("/optimization/force")),
        Call::new(Method::PUT, &path("/optimization/config")).json(config),
        Call::new(Method::PUT, &path("/optimization/auto")).json(r#"{"enabled":true}"#),
        Call::new(Method::DELETE, &path("/alerts")),
        Call::new(Method::PUT, &path("/alerts/rules")).json(r#"{"rules":[]}"#),
        Call::new(Method::DELETE, &path("/metrics")),
    ]
}

#[tokio::test]
async fn admin_endpoints_refuse_bad_tokens_and_change_nothing() {
    let (service, app) =
        seeded(ApiConfig { admin_token: support::TOKEN.to_owned(), ..ApiConfig::default() }).await;
    let before = observe(&service).await;
    let wrong_same_length: String = support::TOKEN.chars().rev().collect();
    for call in admin_calls() {
        let label = format!("{} {}", call.method, call.path);
        let variants = [
            ("no token", call.clone()),
            ("wrong token", call.clone().token("nope")),
            ("wrong token of the right length", call.clone().token(&wrong_same_length)),
            (
                "another scheme",
                call.clone().header("authorization", &format!("Basic {}", support::TOKEN)),
            ),
        ];
        for (what, call) in variants {
            let answer = send(&app, call).await;
            assert_eq!(answer.status, 401, "{label} with {what}: {}", answer.text());
            assert_eq!(answer.error_code(), "unauthorized", "{label}");
            assert_eq!(answer.headers[header::WWW_AUTHENTICATE], "Bearer", "{label}");
            assert_eq!(observe(&service).await, before, "{label} with {what} changed state");
        }
    }
}

#[tokio::test]
async fn the_right_token_changes_things() {
    let (service, app) =
        seeded(ApiConfig { admin_token: support::TOKEN.to_owned(), ..ApiConfig::default() }).await;
    let before = observe(&service).await;
    for call in admin_calls() {
        let label = format!("{} {}", call.method, call.path);
        let answer = send(&app, call.admin()).await;
        assert_eq!(answer.status, 200, "{label}: {}", answer.text());
    }
    let after = observe(&service).await;
    assert_eq!(after.cached_keys, vec![false, false, false]);
    assert_eq!(after.optimizer_runs, 2);
    assert_eq!(after.active_alerts, 0);
    assert_eq!(after.alert_rules, serde_json::json!({"rules": []}));
    assert_eq!(after.history, 0);
    assert_ne!(after.optimizer_config, before.optimizer_config);
}

#[tokio::test]
async fn an_empty_or_weak_token_is_refused_when_the_router_is_built() {
    let service = PerformanceService::builder().build().unwrap();
    let refused = |token: &str| {
        let config = ApiConfig { admin_token: token.to_owned(), ..ApiConfig::default() };
        perfkit_axum::router(service.clone(), config).err()
    };
    assert_eq!(refused(""), Some(ApiConfigError::EmptyToken));
    for weak in ["s3cret", "aaaaaaaaaaaaaaaaaaaaaaaa"] {
        assert!(matches!(refused(weak), Some(ApiConfigError::WeakToken { .. })), "{weak}");
    }
    let message = refused("").unwrap().to_string();
    assert!(message.contains("admin token is empty"), "{message}");
    assert_eq!(refused(support::TOKEN), None);
}
