//! Against a real Alertmanager (Debian package `prometheus-alertmanager`): it accepts the
//! alerts perfkit posts to `/api/v2/alerts`, reports them back with the same fingerprint, and
//! the webhook body it then sends is byte for byte the one perfkit's webhook notifier writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use perfkit_alerting::{
    AlertmanagerNotifier, HttpDeliverySettings, NotificationPolicy, WebhookPayload,
};
use perfkit_core::{Clock, ManualClock, Metric, SystemClock, Timestamp};
use perfkit_testing::AlertmanagerServer;
use support::{Answer, RecordingNotifier, engine, snapshot, start_receiver, threshold_rule};

/// A private Alertmanager forwarding every group to `webhook_url/hook` within a second.
fn start_alertmanager(webhook_url: &str) -> AlertmanagerServer {
    AlertmanagerServer::start(&format!(
        "route:\n  receiver: hook\n  group_by: ['alertname']\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: hook\n    webhook_configs:\n      - url: '{webhook_url}/hook'\n        send_resolved: true\n"
    ))
}

async fn listed_alerts(am: &AlertmanagerServer) -> Vec<serde_json::Value> {
    let body =
        reqwest::get(format!("{}/api/v2/alerts", am.url())).await.unwrap().text().await.unwrap();
    serde_json::from_str(&body).unwrap()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_alertmanager_accepts_resolves_and_forwards_our_alerts() {
    let (hook_url, mut hook_requests) = start_receiver(Answer::Ok).await;
    let am = tokio::task::spawn_blocking(move || start_alertmanager(&hook_url)).await.unwrap();

    // Real time ten minutes back, so a resolution is in Alertmanager's past; firing alerts
    // stay valid for an hour.
    let clock = ManualClock::new(SystemClock.now() - Duration::from_secs(600));
    let engine = engine(vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, Some(900.0), 0)]);
    let validity = Duration::from_secs(3600);
    let notifier = AlertmanagerNotifier::new(
        "alertmanager",
        am.url(),
        validity,
        HttpDeliverySettings::default(),
    )
    .unwrap();
    tokio::spawn(
        engine.add_notifier(Arc::new(notifier), NotificationPolicy::alertmanager_resend()).run(),
    );
    let recorder = RecordingNotifier::named("hook");
    let policy = NotificationPolicy { group_wait: Duration::ZERO, ..NotificationPolicy::default() };
    tokio::spawn(engine.add_notifier(Arc::new(recorder.clone()), policy).run());

    let fired_at = clock.now() + Duration::from_millis(123);
    engine.evaluate(&snapshot(fired_at, Metric::ResponseTime, 1500.0));
    wait_until("the alert to be posted", || engine.delivery_stats()[0].delivered == 1).await;
    assert_eq!(engine.delivery_stats()[0].failed, 0);

    // Alertmanager lists it, with our fingerprint and times.
    let listed = listed_alerts(&am).await;
    let ours = engine.active_alerts().remove(0);
    let alert = listed
        .iter()
        .find(|a| a["labels"]["alertname"] == "slow")
        .expect("alertmanager lists the alert");
    assert_eq!(alert["fingerprint"], ours.fingerprint.as_str());
    assert_eq!(alert["status"]["state"], "active");
    assert_eq!(alert["annotations"]["summary"], "responseTime is 1500");
    let starts: Timestamp = alert["startsAt"].as_str().unwrap().parse().unwrap();
    let ends: Timestamp = alert["endsAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(starts, fired_at);
    assert_eq!(ends, fired_at + validity, "endsAt is re-sent ahead, as Prometheus does");

    // Alertmanager's own webhook for it is byte for byte what our webhook notifier writes.
    let forwarded =
        tokio::time::timeout(Duration::from_secs(30), hook_requests.recv()).await.unwrap().unwrap();
    let ours = recorder.received().remove(0);
    let our_body = WebhookPayload::from_notification(&ours, am.url()).to_body().unwrap();
    assert_eq!(String::from_utf8(forwarded.body).unwrap(), String::from_utf8(our_body).unwrap());

    // Resolve: posted with endsAt = the resolution time, which Alertmanager takes as resolved.
    let resolved_at = fired_at + Duration::from_secs(30);
    engine.evaluate(&snapshot(resolved_at, Metric::ResponseTime, 100.0));
    let flush_at = fired_at + Duration::from_secs(60);
    engine.evaluate(&snapshot(flush_at, Metric::ResponseTime, 100.0));
    wait_until("the resolution to be posted", || engine.delivery_stats()[0].delivered == 2).await;
    let forwarded =
        tokio::time::timeout(Duration::from_secs(30), hook_requests.recv()).await.unwrap().unwrap();
    let payload: WebhookPayload = serde_json::from_slice(&forwarded.body).unwrap();
    assert_eq!(payload.status, "resolved");
    assert_eq!(payload.alerts[0].ends_at.parse::<Timestamp>().unwrap(), resolved_at);
    let still_active = listed_alerts(&am).await.into_iter().any(|a| {
        a["labels"]["alertname"] == "slow"
            && a["status"]["state"] == "active"
            && a["endsAt"]
                .as_str()
                .and_then(|t| t.parse::<Timestamp>().ok())
                .is_some_and(|t| t > SystemClock.now())
    });
    assert!(!still_active, "alertmanager no longer holds the alert as active");
}
