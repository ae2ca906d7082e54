//! Whatever a client sends: never a 5xx, never a panic, never a hang; always a JSON error
//! with the right code, and nothing changed.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::Method;
use perfkit_axum::ApiConfig;
use support::{Call, app, app_with, path, send};

/// Longest any single bad request may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(10);

fn table() -> Vec<(&'static str, Call, u16, &'static str)> {
    let huge = format!(r#"{{"pattern":"{}"}}"#, "x".repeat(200 * 1024));
    let put = |p: &str| Call::new(Method::PUT, &path(p)).admin();
    let pattern = || Call::new(Method::DELETE, &path("/cache/pattern")).admin();
    vec![
        ("malformed JSON", pattern().json(r#"{"pattern": "#), 400, "invalid_json"),
        ("not JSON at all", pattern().json("pattern=user"), 400, "invalid_json"),
        ("wrong type", pattern().json(r#"{"pattern": 42}"#), 400, "invalid_json"),
        ("unknown field", pattern().json(r#"{"pattern":"a","extra":1}"#), 400, "invalid_json"),
        ("missing field", pattern().json("{}"), 400, "invalid_json"),
        ("missing body", pattern().raw(Some("application/json"), Vec::new()), 400, "invalid_json"),
        ("missing body and content type", pattern(), 415, "unsupported_media_type"),
        (
            "wrong content type",
            pattern().raw(Some("text/plain"), br#"{"pattern":"a"}"#.to_vec()),
            415,
            "unsupported_media_type",
        ),
        (
            "form content type",
            put("/optimization/auto")
                .raw(Some("application/x-www-form-urlencoded"), b"enabled=true".to_vec()),
            415,
            "unsupported_media_type",
        ),
        ("huge body", pattern().json(&huge), 413, "payload_too_large"),
        ("huge rule set", put("/alerts/rules").json(&huge), 413, "payload_too_large"),
        ("empty pattern", pattern().json(r#"{"pattern":""}"#), 422, "validation_failed"),
        (
            "over-long pattern",
            pattern().json(&format!(r#"{{"pattern":"{}"}}"#, "u".repeat(300))),
            422,
            "validation_failed",
        ),
        (
            "auto as a string",
            put("/optimization/auto").json(r#"{"enabled":"yes"}"#),
            400,
            "invalid_json",
        ),
        (
            "config of the wrong type",
            put("/optimization/config")
                .json(r#"{"cacheOptimization":{"hitRateThreshold":"high"}}"#),
            400,
            "invalid_json",
        ),
        ("config with an array", put("/optimization/config").json("[1,2,3]"), 400, "invalid_json"),
        // serde's derive would read `[]` as the default config: reset everything.
        ("config an empty array", put("/optimization/config").json("[]"), 400, "invalid_json"),
        (
            "config with a bad duration",
            put("/optimization/config").json(r#"{"cooldowns":{"scaleWorkers":"soon"}}"#),
            400,
            "invalid_json",
        ),
        (
            "config with a negative duration",
            put("/optimization/config").json(r#"{"guardrails":{"maxSnapshotAge":-1}}"#),
            400,
            "invalid_json",
        ),
        (
            "invalid config",
            put("/optimization/config").json(r#"{"cacheOptimization":{"hitRateThreshold":7.5}}"#),
            422,
            "validation_failed",
        ),
        ("rules not an object", put("/alerts/rules").json("[]"), 400, "invalid_json"),
        ("rules malformed", put("/alerts/rules").json(r#"{"rules":[{"#), 400, "invalid_json"),
        (
            "invalid rules",
            put("/alerts/rules")
                .json(r#"{"rules":[{"name":"a","severity":"urgent","kind":"threshold"}]}"#),
            422,
            "validation_failed",
        ),
        (
            "rules wrong content type",
            put("/alerts/rules").raw(Some("text/plain"), b"{}".to_vec()),
            415,
            "unsupported_media_type",
        ),
        ("limit zero", Call::get(&path("/history?limit=0")), 422, "out_of_range"),
        ("limit negative", Call::get(&path("/history?limit=-5")), 422, "out_of_range"),
        ("limit over 1000", Call::get(&path("/history?limit=1001")), 422, "out_of_range"),
        (
            "limit overflowing i64",
            Call::get(&path("/history?limit=99999999999999999999")),
            400,
            "invalid_query",
        ),
        ("limit not a number", Call::get(&path("/history?limit=ten")), 400, "invalid_query"),
        (
            "optimization limit zero",
            Call::get(&path("/optimization/history?limit=0")),
            422,
            "out_of_range",
        ),
        (
            "optimization limit over",
            Call::get(&path("/optimization/history?limit=5000")),
            422,
            "out_of_range",
        ),
        (
            "optimization limit text",
            Call::get(&path("/optimization/history?limit=%00")),
            400,
            "invalid_query",
        ),
        ("unknown path", Call::get(&path("/nope")), 404, "not_found"),
        ("path traversal", Call::get(&path("/../../etc/passwd")), 404, "not_found"),
        (
            "wrong method on a read",
            Call::new(Method::POST, &path("/summary")),
            405,
            "method_not_allowed",
        ),
        (
            "wrong method on an admin endpoint",
            Call::get(&path("/cache/optimize")),
            405,
            "method_not_allowed",
        ),
        (
            "PATCH on config",
            Call::new(Method::PATCH, &path("/optimization/config")).admin(),
            405,
            "method_not_allowed",
        ),
        ("stream without upgrade", Call::get(&path("/stream")), 426, "upgrade_required"),
    ]
}

#[tokio::test]
async fn no_bad_input_yields_a_5xx_a_panic_or_a_hang() {
    let (service, app) = app().await;
    service.cache().set("user:1", b"alice", None).await.unwrap();
    let config_before = serde_json::to_value(service.parts().optimizer.config()).unwrap();
    let rules_before = serde_json::to_value(service.parts().alerts.rules()).unwrap();
    for (what, call, status, code) in table() {
        let answer = tokio::time::timeout(HANG, send(&app, call))
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer within {HANG:?}"));
        assert!(!answer.status.is_server_error(), "{what}: {}", answer.status);
        assert_eq!(answer.status, status, "{what}: {}", answer.text());
        assert_eq!(answer.error_code(), code, "{what}");
        let message = answer.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(!message.contains("src/"), "{what}: internals in {message}");
    }
    assert!(service.cache().exists("user:1").await.unwrap(), "no bad request deleted a key");
    assert_eq!(serde_json::to_value(service.parts().optimizer.config()).unwrap(), config_before);
    assert_eq!(serde_json::to_value(service.parts().alerts.rules()).unwrap(), rules_before);
}

#[tokio::test]
async fn invalid_configs_list_every_problem() {
    let (_, app) = app().await;
    let config =
        r#"{"cacheOptimization":{"hitRateThreshold":7.5},"memoryOptimization":{"threshold":-1}}"#;
    let answer =
        send(&app, Call::new(Method::PUT, &path("/optimization/config")).admin().json(config))
            .await;
    if answer.status == 422 {
        let problems = answer.json()["error"]["problems"].as_array().unwrap().len();
        assert!(problems >= 1, "{}", answer.text());
    } else {
        // An unknown section name is a shape error, refused before validation.
        assert_eq!(answer.status, 400, "{}", answer.text());
    }
    let rules = r#"{"rules":[
        {"name":"a","severity":"urgent","kind":"threshold"},
        {"name":"b","severity":"low","kind":"threshold","metric":"p95","comparison":"above","threshold":1},
        {"name":"b","severity":"low","kind":"threshold","metric":"p95","comparison":"above","threshold":1}]}"#;
    let answer =
        send(&app, Call::new(Method::PUT, &path("/alerts/rules")).admin().json(rules)).await;
    assert_eq!(answer.status, 422, "{}", answer.text());
    let problems = answer.json()["error"]["problems"].as_array().unwrap().len();
    assert_eq!(problems, 2, "the unreadable rule and the duplicate: {}", answer.text());
}

#[tokio::test]
async fn wrong_methods_keep_the_allow_header() {
    let (_, app) = app().await;
    let answer = send(&app, Call::new(Method::POST, &path("/alerts/rules"))).await;
    assert_eq!(answer.status, 405);
    let allow = answer.headers["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("PUT"), "{allow}");
}

#[tokio::test(start_paused = true)]
async fn slow_requests_are_answered_with_a_timeout() {
    let config = ApiConfig {
        admin_token: support::TOKEN.to_owned(),
        request_timeout: Duration::from_millis(50),
        ..ApiConfig::default()
    };
    let (_, app) = app_with(config).await;
    // A body that never finishes arriving keeps the handler waiting for it.
    let (_sender, body) = futures_body();
    let request = axum::http::Request::builder()
        .method(Method::PUT)
        .uri(path("/optimization/auto"))
        .header("authorization", format!("Bearer {}", support::TOKEN))
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    let response = tower::ServiceExt::oneshot(app, request).await.unwrap();
    assert_eq!(response.status(), 408);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"]["code"], "request_timeout");
}

/// A request body fed by a channel; it ends only when the sender is dropped.
fn futures_body() -> (tokio::sync::mpsc::Sender<Vec<u8>>, axum::body::Body) {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), receiver))
    });
    (sender, axum::body::Body::from_stream(stream))
}

#[tokio::test]
async fn without_the_token_bad_input_is_answered_401_first() {
    let (_, app) = app().await;
    let answer =
        send(&app, Call::new(Method::DELETE, &path("/cache/pattern")).json(r#"{"pattern": "#))
            .await;
    assert_eq!(answer.status, 401, "auth is checked before the body is read");
}

#[tokio::test]
async fn series_rules_are_validated_like_the_rest_and_against_the_kinds_seen() {
    let (service, app) = app().await;
    let put_rules = |rules: &'static str| {
        send(&app, Call::new(Method::PUT, &path("/alerts/rules")).admin().json(rules))
    };
    // A rule on a series nobody emits yet is taken, and given back as written.
    let later = r#"{"rules":[{"name":"surge","severity":"medium","kind":"threshold","series":{"name":"demo_posts_created","labels":{"page":"1"},"aggregation":"p95"},"comparison":"above","threshold":100.0,"for":"1m"}]}"#;
    let answer = put_rules(later).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json(), serde_json::from_str::<serde_json::Value>(later).unwrap());
    let rules_before = serde_json::to_value(service.parts().alerts.rules()).unwrap();

    let malformed = r#"{"rules":[
        {"name":"both","severity":"low","kind":"threshold","metric":"p95","series":{"name":"a"},"comparison":"above","threshold":1},
        {"name":"bad_name","severity":"low","kind":"threshold","series":{"name":"posts-created"},"comparison":"above","threshold":1},
        {"name":"bad_outcome","severity":"low","kind":"burnRate","slo":0.99,"outcomes":{"good":{"name":"ok","aggregation":"p99"},"bad":{"name":"failed"}}}]}"#;
    let answer = put_rules(malformed).await;
    assert_eq!(answer.status, 422, "{}", answer.text());
    let text = answer.text();
    for expected in [
        "rule both: cannot read rule: both `metric` and `series`",
        "rule bad_name field series.name",
        "rule bad_outcome field outcomes.good.aggregation",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }

    // Once a snapshot has shown the series to be a counter, a percentile of it is refused.
    let now = perfkit::core::Clock::now(&perfkit::core::SystemClock);
    let mut snapshot = perfkit::core::MetricsSnapshot::empty(now);
    snapshot.business.push(perfkit::core::BusinessSeries {
        name: "demo_posts_created".to_owned(),
        labels: Default::default(),
        kind: perfkit::core::SeriesKind::Counter,
        value: 10.0,
        increase: Some(10.0),
        rate_per_second: Some(0.5),
        sum: None,
        p50: None,
        p95: None,
        p99: None,
    });
    service.parts().alerts.evaluate(&snapshot);
    let answer = put_rules(later).await;
    assert_eq!(answer.status, 422, "{}", answer.text());
    assert_eq!(answer.json()["error"]["code"], "validation_failed", "{}", answer.text());
    assert!(
        answer.text().contains(
            "rule surge field series.aggregation: aggregation p95 does not apply to demo_posts_created, a counter"
        ),
        "{}",
        answer.text()
    );
    assert_eq!(serde_json::to_value(service.parts().alerts.rules()).unwrap(), rules_before);
}
