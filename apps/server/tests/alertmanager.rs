//! Alerts that leave the server: the real `perfkit-server` binary, started with
//! `--alertmanager-url` pointing at a real, private Alertmanager, fires a rule from its config
//! file; the alert shows in Alertmanager's API with perfkit's fingerprint, `/health` shows the
//! notifier's last delivery, and a silence created through perfkit's API mutes the next
//! notification (Alertmanager stops hearing of the alert) until it is expired.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use perfkit::core::{Clock, SystemClock};
use perfkit_testing::AlertmanagerServer;
use reqwest::Client;
use serde_json::{Value, json};
use support::Server;

const TOKEN: &str = "alertmanager-e2e-token-0123456789";

/// Collect every 200 ms and re-send firing alerts to Alertmanager every second, so the
/// test sees several notifications in a few seconds. Memory in use is always above 0: the
/// rule fires at the first collection.
const CONFIG: &str = r#"
[service]
collectInterval = "200ms"

[notifiers]
log = false
alertmanagerResend = "1s"

[[alerts.rules]]
name = "memory_in_use"
severity = "low"
kind = "threshold"
metric = "memoryUsage"
comparison = "above"
threshold = 0.0
for = "0s"
"#;

const ALERT: &str = "memory_in_use";

async fn wait_for<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn json_of(client: &Client, url: String) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// Our alert as Alertmanager lists it, if it holds it as active.
async fn listed(client: &Client, am: &AlertmanagerServer) -> Option<Value> {
    let alerts = json_of(client, format!("{}/api/v2/alerts", am.url())).await;
    alerts
        .as_array()?
        .iter()
        .find(|a| a["labels"]["alertname"] == ALERT && a["status"]["state"] == "active")
        .cloned()
}

/// The Alertmanager notifier as `/health` shows it.
async fn notifier_health(client: &Client, server: &Server) -> Value {
    let health = json_of(client, server.url("/api/performance/health")).await;
    health["notifiers"]
        .as_array()
        .and_then(|all| all.iter().find(|n| n["notifier"] == "alertmanager-1").cloned())
        .unwrap_or_else(|| panic!("no alertmanager-1 notifier in /health: {health}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_fires_into_a_real_alertmanager_and_a_perfkit_silence_mutes_the_next_notification() {
    let am =
        tokio::task::spawn_blocking(|| AlertmanagerServer::start(AlertmanagerServer::NULL_CONFIG))
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("perfkit.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let server = Server::start(
        &["--config", config.to_str().unwrap(), "--alertmanager-url", am.url()],
        &[("PERFKIT_ADMIN_TOKEN", TOKEN)],
    );
    let client = Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    // The rule fires and the alert reaches Alertmanager, with perfkit's fingerprint.
    let in_alertmanager =
        wait_for("the alert in Alertmanager", async || listed(&client, &am).await).await;
    let ours = json_of(&client, server.url("/api/performance/alerts")).await;
    let active = ours["active"].as_array().unwrap();
    let fired = active.iter().find(|a| a["rule"] == ALERT).expect("perfkit lists the alert active");
    assert_eq!(in_alertmanager["fingerprint"], fired["fingerprint"]);
    assert_eq!(in_alertmanager["labels"]["severity"], "low");

    // /health names the notifier and its last delivery.
    let notifier = wait_for("a delivery in /health", async || {
        let notifier = notifier_health(&client, &server).await;
        (notifier["delivered"].as_u64() >= Some(1)).then_some(notifier)
    })
    .await;
    assert_eq!(notifier["lastDelivery"]["ok"], true, "{notifier}");
    assert!(notifier["lastDelivery"]["at"].is_string(), "{notifier}");

    // Unsilenced, perfkit keeps confirming the alert: Alertmanager's updatedAt moves.
    let before = in_alertmanager["updatedAt"].clone();
    wait_for("a re-sent notification", async || {
        listed(&client, &am).await.filter(|a| a["updatedAt"] != before)
    })
    .await;

    // A silence through perfkit's API, in Alertmanager's shape.
    let ends_at = (SystemClock.now() + Duration::from_secs(3600)).to_string();
    let created = client
        .post(server.url("/api/performance/alerts/silences"))
        .bearer_auth(TOKEN)
        .json(&json!({
            "matchers": [{ "name": "alertname", "value": ALERT, "isRegex": false, "isEqual": true }],
            "endsAt": ends_at,
            "createdBy": "e2e test",
            "comment": "muting the always-firing rule"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let silence: Value = created.json().await.unwrap();
    assert_eq!(silence["status"]["state"], "active", "{silence}");
    let listed_silences = json_of(&client, server.url("/api/performance/alerts/silences")).await;
    assert_eq!(listed_silences[0]["id"], silence["id"]);

    // Let a notification already in flight land, then nothing more goes out: the next
    // resends are muted, though the alert still fires in perfkit. Alertmanager, no longer
    // hearing of it, lets it lapse at its endsAt (four resend intervals after the last post).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let delivered = notifier_health(&client, &server).await["delivered"].as_u64().unwrap();
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let after = notifier_health(&client, &server).await["delivered"].as_u64().unwrap();
    assert_eq!(after, delivered, "a notification went out under the silence");
    let still = json_of(&client, server.url("/api/performance/alerts")).await;
    assert!(still["active"].as_array().unwrap().iter().any(|a| a["rule"] == ALERT));
    assert_eq!(
        listed(&client, &am).await,
        None,
        "Alertmanager still holds the silenced alert as active"
    );

    // Expired, the silence lets notifications go out again.
    let id = silence["id"].as_str().unwrap();
    let expired = client
        .delete(server.url(&format!("/api/performance/alerts/silences/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 200);
    wait_for("notifications after the silence expired", async || {
        let now = notifier_health(&client, &server).await["delivered"].as_u64()?;
        (now > after).then_some(())
    })
    .await;
    wait_for("the alert back in Alertmanager", async || listed(&client, &am).await).await;
    let (status, _) = server.terminate();
    assert!(status.success(), "{status}");
}
