//! The operational endpoints: silences in Alertmanager's shape, the optimizer's kill switch,
//! a manual run that acts on a trigger that fires now, and health with the host's indicators
//! and the notifiers' last delivery.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use perfkit::core::{Clock, SystemClock};
use perfkit::{HealthCheckOptions, PerformanceService};
use perfkit_axum::{ApiConfig, router};
use serde_json::json;
use support::{Call, TOKEN, app, path, send};

fn in_an_hour() -> String {
    (SystemClock.now() + Duration::from_secs(3600)).to_string()
}

#[tokio::test]
async fn silences_are_created_listed_and_expired_in_alertmanagers_shape() {
    let (service, app) = app().await;
    let body = json!({
        "matchers": [
            { "name": "alertname", "value": "high_cpu_usage", "isRegex": false, "isEqual": true },
            { "name": "severity", "value": "critical", "isEqual": false }
        ],
        "endsAt": in_an_hour(),
        "createdBy": "ops",
        "comment": "planned load test"
    });
    let created = send(
        &app,
        Call::new(Method::POST, &path("/alerts/silences")).admin().json(&body.to_string()),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    let silence = created.json();
    assert_eq!(silence["status"]["state"], "active");
    assert_eq!(silence["matchers"][1]["isEqual"], false);
    assert_eq!(silence["createdBy"], "ops");
    assert_eq!(service.parts().alerts.silences().len(), 1);

    let listed = send(&app, Call::get(&path("/alerts/silences"))).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], silence["id"]);

    let id = silence["id"].as_str().unwrap();
    let expired =
        send(&app, Call::new(Method::DELETE, &path(&format!("/alerts/silences/{id}"))).admin())
            .await;
    assert_eq!(expired.status, StatusCode::OK, "{}", expired.text());
    assert!(service.parts().alerts.silences().is_empty());
    let again =
        send(&app, Call::new(Method::DELETE, &path(&format!("/alerts/silences/{id}"))).admin())
            .await;
    assert_eq!((again.status, again.error_code().as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let junk =
        send(&app, Call::new(Method::DELETE, &path("/alerts/silences/not-a-number")).admin()).await;
    assert_eq!(junk.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_silences_are_refused_in_the_apis_error_style_and_change_nothing() {
    let (service, app) = app().await;
    let ends = in_an_hour();
    let past = (SystemClock.now() - Duration::from_secs(60)).to_string();
    let matcher = json!([{ "name": "alertname", "value": "x" }]);
    let cases = [
        (json!({ "matchers": [], "endsAt": ends, "createdBy": "a", "comment": "b" }), 422),
        (
            json!({ "matchers": [{ "name": "alertname", "value": "x", "isRegex": true }], "endsAt": ends, "createdBy": "a", "comment": "b" }),
            422,
        ),
        (json!({ "matchers": matcher, "endsAt": past, "createdBy": "a", "comment": "b" }), 422),
        (json!({ "matchers": matcher, "endsAt": ends, "createdBy": "", "comment": "b" }), 422),
        (json!({ "matchers": matcher, "endsAt": ends, "createdBy": "a", "comment": " " }), 422),
        (
            json!({ "matchers": [{ "name": "9bad", "value": "x" }], "endsAt": ends, "createdBy": "a", "comment": "b" }),
            422,
        ),
        (
            json!({ "matchers": matcher, "endsAt": "tomorrow", "createdBy": "a", "comment": "b" }),
            400,
        ),
        (
            json!({ "matchers": matcher, "endsAt": ends, "createdBy": "a", "comment": "b", "id": "7" }),
            400,
        ),
    ];
    for (body, status) in cases {
        let answer = send(
            &app,
            Call::new(Method::POST, &path("/alerts/silences")).admin().json(&body.to_string()),
        )
        .await;
        assert_eq!(answer.status.as_u16(), status, "{body}: {}", answer.text());
        answer.error_code();
    }
    let unauthorized =
        send(&app, Call::new(Method::POST, &path("/alerts/silences")).json("{}")).await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    assert!(service.parts().alerts.silences().is_empty());
}

#[tokio::test]
async fn the_kill_switch_is_shown_and_reset_by_an_admin() {
    let (_service, app) = app().await;
    let shown = send(&app, Call::get(&path("/optimization/kill-switch"))).await;
    assert_eq!(shown.json(), json!({ "tripped": false }));
    let refused = send(&app, Call::new(Method::DELETE, &path("/optimization/kill-switch"))).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let reset =
        send(&app, Call::new(Method::DELETE, &path("/optimization/kill-switch")).admin()).await;
    assert_eq!((reset.status, reset.json()), (StatusCode::OK, json!({ "tripped": false })));
}

#[tokio::test]
async fn a_manual_run_acts_at_once_where_a_scheduled_check_would_wait() {
    let (service, app) = app().await;
    // Memory use of this machine is above 1 %: the memory rule fires now.
    let mut config = service.parts().optimizer.config();
    config.memory_optimization.gc_threshold = 0.01;
    config.cache_optimization.enabled = false;
    config.connection_optimization.enabled = false;
    config.query_optimization.enabled = false;
    config.queue_scaling.enabled = false;
    service.parts().optimizer.update_config(config).unwrap();
    let run = send(&app, Call::new(Method::POST, &path("/optimization/run")).admin()).await.json();
    let action = &run["actions"][0];
    assert_eq!(action["action"], "releaseMemory", "{run}");
    assert_eq!(action["status"], "taken", "{run}");
    assert_eq!(run["recommendations"][0]["heldForChecks"], 1, "{run}");
    // Again at once: the cooldown holds and the answer says so.
    let run = send(&app, Call::new(Method::POST, &path("/optimization/run")).admin()).await.json();
    assert_eq!(run["actions"][0]["status"], "skipped", "{run}");
    assert_eq!(run["actions"][0]["reason"], "cooldown", "{run}");
}

#[tokio::test]
async fn health_shows_each_indicator_and_readiness_fails_only_on_critical_ones() {
    let service = PerformanceService::builder()
        .health_indicator("db", HealthCheckOptions::critical(Duration::from_secs(1)), || async {
            Ok::<_, String>("pong in 1 ms".to_owned())
        })
        .health_indicator(
            "search",
            HealthCheckOptions::non_critical(Duration::from_secs(1)),
            || async { Err::<String, _>("connection refused".to_owned()) },
        )
        .build()
        .unwrap();
    service.collect_now().await;
    service.start();
    let app = router(
        service.clone(),
        ApiConfig { admin_token: TOKEN.to_owned(), ..ApiConfig::default() },
    )
    .unwrap();
    service.check_health_now().await;

    let health = send(&app, Call::get(&path("/health"))).await;
    assert_eq!(health.status, StatusCode::OK);
    let body = health.json();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["checks"]["db"]["status"], "healthy", "{body}");
    assert_eq!(body["checks"]["db"]["critical"], true, "{body}");
    assert_eq!(body["checks"]["search"]["status"], "degraded", "{body}");
    assert_eq!(body["checks"]["search"]["detail"], "connection refused", "{body}");
    assert!(body["checks"]["search"]["checkedAt"].is_string(), "{body}");
    assert!(body["notifiers"].is_array(), "{body}");
    let ready = send(&app, Call::get(&path("/health/ready"))).await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "a non-critical failure leaves it ready: {}",
        ready.text()
    );
    service.shutdown().await;
}

#[tokio::test]
async fn a_critical_indicator_down_makes_it_unhealthy_and_not_ready() {
    let service = PerformanceService::builder()
        .health_indicator("db", HealthCheckOptions::critical(Duration::from_millis(50)), || async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, String>(String::new())
        })
        .build()
        .unwrap();
    service.collect_now().await;
    service.start();
    let app = router(service.clone(), support::config()).unwrap();
    let before = send(&app, Call::get(&path("/health/ready"))).await;
    // Not yet checked: a critical indicator holds readiness until it answers.
    if before.status == StatusCode::SERVICE_UNAVAILABLE {
        assert!(before.json()["reason"].as_str().unwrap().contains("db"), "{}", before.text());
    }
    service.check_health_now().await;
    let health = send(&app, Call::get(&path("/health"))).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE, "{}", health.text());
    assert_eq!(health.json()["checks"]["db"]["detail"], "no answer within 50 ms");
    let ready = send(&app, Call::get(&path("/health/ready"))).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.json()["reason"].as_str().unwrap().contains("db is down"), "{}", ready.text());
    service.shutdown().await;
}
