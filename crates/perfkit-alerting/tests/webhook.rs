//! The webhook notifier: Alertmanager's v4 body byte for byte (against a golden file), and a
//! receiver that answers 500 or hangs never delays evaluation nor grows memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use perfkit_alerting::{
    AlertEngine, AlertStatus, AlertingError, EngineConfig, HttpDeliverySettings, Labels,
    Notification, NotificationPolicy, NotifiedAlert, Notifier, RuleSet, WebhookNotifier,
    WebhookPayload, fingerprint,
};
use perfkit_core::{ManualClock, Metric, MetricsSnapshot, Timestamp};
use support::{Answer, START, at, snapshot, start_receiver, threshold_rule};

const GOLDEN: &[u8] = include_bytes!("golden/webhook_v4.json");
const GENERATOR: &str = "http://perfkit.local:8080/api/performance/alerts";

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn golden_notification() -> Notification {
    let firing = labels(&[
        ("alertname", "high_response_time"),
        ("metric", "responseTime"),
        ("severity", "high"),
    ]);
    let mut resolved = firing.clone();
    resolved.insert("route".to_owned(), "/api/orders".to_owned());
    Notification {
        receiver: "perfkit-webhook".to_owned(),
        group_key: r#"{}:{alertname="high_response_time"}"#.to_owned(),
        status: AlertStatus::Firing,
        group_labels: labels(&[("alertname", "high_response_time")]),
        common_labels: firing.clone(),
        common_annotations: Labels::new(),
        alerts: vec![
            NotifiedAlert {
                status: AlertStatus::Firing,
                fingerprint: fingerprint(&firing),
                labels: firing,
                annotations: labels(&[(
                    "summary",
                    "Response time is 1500 ms (threshold 1000 ms) & <rising>",
                )]),
                starts_at: Timestamp::from_unix_millis(1_700_000_000_000),
                ends_at: None,
                generator_url: GENERATOR.to_owned(),
            },
            NotifiedAlert {
                status: AlertStatus::Resolved,
                fingerprint: fingerprint(&resolved),
                labels: resolved,
                annotations: labels(&[("summary", "Response time is 1200 ms")]),
                starts_at: Timestamp::from_unix_millis(1_700_000_000_120),
                ends_at: Some(Timestamp::from_unix_millis(1_700_000_300_000)),
                generator_url: GENERATOR.to_owned(),
            },
        ],
        sent_at: Timestamp::from_unix_millis(1_700_000_300_000),
    }
}

fn fast_settings() -> HttpDeliverySettings {
    HttpDeliverySettings {
        timeout: Duration::from_millis(300),
        max_attempts: 3,
        backoff: Duration::from_millis(10),
    }
}

#[test]
fn body_matches_the_golden_alertmanager_v4_payload_byte_for_byte() {
    let body =
        WebhookPayload::from_notification(&golden_notification(), "http://perfkit.local:8080")
            .to_body()
            .unwrap();
    assert_eq!(String::from_utf8(body).unwrap(), String::from_utf8(GOLDEN.to_vec()).unwrap());
}

#[test]
fn body_has_every_documented_v4_field() {
    let value: serde_json::Value = serde_json::from_slice(GOLDEN).unwrap();
    for field in [
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    ] {
        assert!(value.get(field).is_some(), "missing {field}");
    }
    assert_eq!(value["version"], "4");
    for alert in value["alerts"].as_array().unwrap() {
        for field in
            ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"]
        {
            assert!(alert.get(field).is_some(), "alert missing {field}");
        }
        for time in ["startsAt", "endsAt"] {
            let text = alert[time].as_str().unwrap();
            let zero = text == "0001-01-01T00:00:00Z";
            assert!(zero || text.parse::<Timestamp>().is_ok(), "{time} {text} is RFC 3339");
        }
    }
    let parsed: WebhookPayload = serde_json::from_slice(GOLDEN).unwrap();
    assert_eq!(
        parsed.alerts[0].ends_at, "0001-01-01T00:00:00Z",
        "firing alerts end at Go's zero time"
    );
}

#[tokio::test]
async fn posts_the_body_as_json() {
    let (url, mut requests) = start_receiver(Answer::Ok).await;
    let notifier = WebhookNotifier::new(
        "perfkit-webhook",
        &format!("{url}/hook"),
        "http://perfkit.local:8080",
        fast_settings(),
    )
    .unwrap();
    notifier.notify(&golden_notification()).await.unwrap();
    let request = requests.recv().await.unwrap();
    assert!(request.head.starts_with("POST /hook HTTP/1.1\r\n"), "{}", request.head);
    assert!(request.head.to_ascii_lowercase().contains("content-type: application/json"));
    assert_eq!(request.body, GOLDEN);
}

#[tokio::test]
async fn a_bearer_token_is_sent_and_never_shown_by_debug() {
    let (url, mut requests) = start_receiver(Answer::Ok).await;
    let notifier = WebhookNotifier::new("ops", &format!("{url}/hook"), "", fast_settings())
        .unwrap()
        .with_bearer_token("s3cret-token")
        .unwrap();
    assert!(!format!("{notifier:?}").contains("s3cret"), "{notifier:?}");
    notifier.notify(&golden_notification()).await.unwrap();
    let request = requests.recv().await.unwrap();
    assert!(
        request.head.to_ascii_lowercase().contains("authorization: bearer s3cret-token\r\n"),
        "{}",
        request.head
    );
    let without = WebhookNotifier::new("ops", &format!("{url}/hook"), "", fast_settings()).unwrap();
    without.notify(&golden_notification()).await.unwrap();
    let request = requests.recv().await.unwrap();
    assert!(!request.head.to_ascii_lowercase().contains("authorization"), "{}", request.head);
}

#[tokio::test]
async fn a_receiver_answering_500_gets_a_bounded_number_of_retries() {
    let (url, mut requests) = start_receiver(Answer::ServerError).await;
    let notifier = WebhookNotifier::new("hook", &url, "", fast_settings()).unwrap();
    let result = notifier.notify(&golden_notification()).await;
    let Err(AlertingError::Delivery { reason, .. }) = result else { panic!("{result:?}") };
    assert!(reason.contains("500") && reason.contains("after 3 attempts"), "{reason}");
    let mut attempts = 0;
    while requests.try_recv().is_ok() {
        attempts += 1;
    }
    assert_eq!(attempts, 3);
}

#[tokio::test]
async fn a_hanging_receiver_times_out() {
    let (url, mut requests) = start_receiver(Answer::Hang).await;
    let settings = HttpDeliverySettings { max_attempts: 2, ..fast_settings() };
    let notifier = WebhookNotifier::new("hook", &url, "", settings).unwrap();
    let result = notifier.notify(&golden_notification()).await;
    let Err(AlertingError::Delivery { reason, .. }) = result else { panic!("{result:?}") };
    assert!(reason.contains("did not answer within 300ms"), "{reason}");
    assert!(requests.recv().await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_never_delays_evaluation_nor_grows_memory() {
    for answer in [Answer::Hang, Answer::ServerError] {
        let (url, mut requests) = start_receiver(answer).await;
        let rules = (0..100)
            .map(|i| {
                threshold_rule(&format!("rule_{i}"), Metric::ResponseTime, f64::from(i), None, 0)
            })
            .collect();
        let config = EngineConfig { outbox_capacity: 8, ..EngineConfig::default() };
        let engine =
            AlertEngine::new(RuleSet { rules }, config, Arc::new(ManualClock::new(START))).unwrap();
        let settings =
            HttpDeliverySettings { timeout: Duration::from_secs(3600), ..fast_settings() };
        let notifier = WebhookNotifier::new("hook", &url, "", settings).unwrap();
        let policy = NotificationPolicy {
            group_wait: Duration::ZERO,
            group_interval: Duration::ZERO,
            repeat_interval: Duration::ZERO,
            ..NotificationPolicy::default()
        };
        let delivery = tokio::spawn(engine.add_notifier(Arc::new(notifier), policy).run());

        // The first group is on the wire and the receiver is holding (or failing) it...
        engine.evaluate(&snapshot(at(0), Metric::ResponseTime, 5000.0));
        requests.recv().await.unwrap();
        // ...while evaluation goes on: `evaluate` is synchronous and only queues.
        for step in 1..=50 {
            let mut s = MetricsSnapshot::empty(at(step * 30));
            s.response_time = Some(if step % 2 == 0 { 5000.0 } else { 0.0 });
            engine.evaluate(&s);
        }
        let stats = &engine.delivery_stats()[0];
        assert!(stats.queued <= 8, "{stats:?}");
        assert!(stats.dropped > 0, "{stats:?}");
        assert_eq!(engine.history().len(), 1000, "the history is bounded too");
        drop(engine);
        delivery.abort();
    }
}
