//! An alert rule on a business series, end to end: the real `perfkit-server --demo` with a
//! rule on the rate of `demo_posts_created` (emitted by the demo through the `metrics`
//! facade) and a webhook notifier pointed at a receiver in this test. Posts at a steady pace
//! fire the rule, the receiver gets Alertmanager's webhook body with the series as its
//! `metric` label, and when the posts stop the alert resolves and the receiver hears that too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use reqwest::Client;
use serde_json::Value;
use support::{PATIENCE, Server};

fn config(webhook: &str) -> String {
    format!(
        r#"
[service]
collectInterval = "500ms"

[notifiers]
log = false
[notifiers.policy]
groupWait = "0s"
groupInterval = "500ms"

[[notifiers.webhooks]]
url = "{webhook}"

[[alerts.rules]]
name = "posts_burst"
severity = "medium"
kind = "threshold"
series = {{ name = "demo_posts_created", aggregation = "ratePerSecond" }}
comparison = "above"
threshold = 2.0
recoveryThreshold = 0.5
for = "1s"
annotations = {{ summary = "{{{{ metric }}}} at {{{{ value }}}} a second" }}
"#
    )
}

type Received = Arc<Mutex<Vec<Value>>>;

async fn receiver() -> (String, Received) {
    let received = Received::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            post(|State(received): State<Received>, Json(body): Json<Value>| async move {
                received.lock().unwrap().push(body);
            }),
        )
        .with_state(Arc::clone(&received));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// The first notification whose status is `status`, while `make_traffic` runs between polls.
async fn notified(received: &Received, status: &str, mut make_traffic: impl AsyncFnMut()) -> Value {
    let started = Instant::now();
    loop {
        let found = received.lock().unwrap().iter().find(|body| body["status"] == status).cloned();
        if let Some(body) = found {
            return body;
        }
        assert!(started.elapsed() < PATIENCE * 2, "no {status} notification: {received:?}");
        make_traffic().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_on_a_business_counter_s_rate_fires_notifies_and_resolves() {
    let (webhook, received) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("perfkit.toml");
    std::fs::write(&file, config(&webhook)).unwrap();
    let server = Server::start(&["--demo", "--config", file.to_str().unwrap()], &[]);
    let client = Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    server.wait_for_health(&client).await;

    // About 10 posts a second: past the threshold of 2.
    let mut created = 0_u32;
    let firing = notified(&received, "firing", async || {
        for _ in 0..5 {
            let post = serde_json::json!({ "title": format!("p{created}"), "body": "a body" });
            let url = server.url(&format!("/api/users/{}/posts", created % 5 + 1));
            assert!(client.post(url).json(&post).send().await.unwrap().status().is_success());
            created += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let alert = &firing["alerts"][0];
    assert_eq!(firing["version"], "4", "Alertmanager's webhook body: {firing}");
    assert_eq!(alert["labels"]["alertname"], "posts_burst");
    assert_eq!(alert["labels"]["metric"], "demo_posts_created", "{alert}");
    let summary = alert["annotations"]["summary"].as_str().unwrap();
    assert!(summary.starts_with("demo_posts_created at "), "{summary}");

    // perfkit lists it active, with the series' rate as its value.
    let alerts = server.get_json(&client, "/api/performance/alerts").await;
    let active = alerts["active"].as_array().unwrap();
    assert!(active.iter().any(|a| a["rule"] == "posts_burst"), "{alerts}");

    // No more posts: the rate falls to 0, under the recovery line, and the alert resolves.
    let resolved = notified(&received, "resolved", async || {
        tokio::time::sleep(Duration::from_millis(200)).await;
    })
    .await;
    assert_eq!(resolved["alerts"][0]["labels"]["alertname"], "posts_burst");
    assert!(created > 0);
}
