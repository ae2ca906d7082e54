//! Rules on series emitted through the `metrics` facade (the snapshot's `business` section),
//! on the manual clock: a counter's rate goes pending, fires and is posted to a webhook in
//! Alertmanager's body, then resolves when the rate falls; a series not there is no data; the
//! selector is the `metric` label silences match; and `replace_rules` refuses an aggregation
//! the kind of a series the engine has seen cannot have.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use perfkit_alerting::{
    AlertEngine, AlertEventKind, AlertPhase, AlertingError, EngineConfig, HttpDeliverySettings,
    LabelMatcher, NotificationPolicy, RuleSet, Silence, WebhookNotifier,
};
use perfkit_core::{BusinessSeries, ManualClock, MetricsSnapshot, SeriesKind, Timestamp};
use serde_json::Value;
use support::{Answer, RecordingNotifier, START, at, start_receiver};
use tokio::sync::mpsc;

const STEP_SECS: u64 = 30;

fn posting_rule() -> RuleSet {
    RuleSet::from_json(
        r#"{"rules": [{
            "name": "posting_surge", "severity": "medium", "kind": "threshold",
            "series": {"name": "demo_posts_created", "labels": {"page": "1"},
                       "aggregation": "ratePerMinute"},
            "comparison": "above", "threshold": 100, "recoveryThreshold": 60, "for": "1m",
            "labels": {"team": "content"},
            "annotations": {"summary": "{{ metric }} at {{ value }} {{ unit }} (threshold {{ threshold }})"}
        }]}"#,
    )
    .unwrap()
}

fn counter(name: &str, labels: &[(&str, &str)], total: f64, increase: f64) -> BusinessSeries {
    BusinessSeries {
        name: name.to_owned(),
        labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        kind: SeriesKind::Counter,
        value: total,
        increase: Some(increase),
        rate_per_second: Some(increase / STEP_SECS as f64),
        sum: None,
        p50: None,
        p95: None,
        p99: None,
    }
}

/// Snapshots every 30 s of the `demo_posts_created` counter on pages 1 and 2 (page 2 busy
/// throughout, so only the label matcher keeps it out).
struct Posts {
    engine: AlertEngine,
    clock: Arc<ManualClock>,
    secs: u64,
    total: f64,
}

impl Posts {
    /// Runs `steps` intervals at `per_minute` posts on page 1; returns the events.
    fn run(&mut self, steps: u64, per_minute: f64) -> Vec<(u64, AlertEventKind)> {
        let mut events = Vec::new();
        for _ in 0..steps {
            self.secs += STEP_SECS;
            self.clock.set(at(self.secs));
            let increase = per_minute * STEP_SECS as f64 / 60.0;
            self.total += increase;
            let mut snapshot = MetricsSnapshot::empty(at(self.secs));
            snapshot.business = vec![
                counter("demo_posts_created", &[("page", "1")], self.total, increase),
                counter("demo_posts_created", &[("page", "2")], self.total * 10.0, 500.0),
            ];
            events.extend(self.engine.evaluate(&snapshot).into_iter().map(|e| (self.secs, e.kind)));
        }
        events
    }
}

async fn next_body(requests: &mut mpsc::UnboundedReceiver<support::Received>) -> Value {
    let request = tokio::time::timeout(Duration::from_secs(10), requests.recv())
        .await
        .expect("the webhook was posted within 10 s")
        .expect("the receiver is running");
    assert!(request.head.starts_with("POST /hook HTTP/1.1\r\n"), "{}", request.head);
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn a_counters_rate_fires_notifies_a_webhook_and_resolves_when_it_falls() {
    let (url, mut requests) = start_receiver(Answer::Ok).await;
    let clock = Arc::new(ManualClock::new(START));
    let engine = AlertEngine::new(posting_rule(), EngineConfig::default(), clock.clone()).unwrap();
    let settings = HttpDeliverySettings {
        timeout: Duration::from_secs(5),
        max_attempts: 1,
        backoff: Duration::from_millis(10),
    };
    let notifier = WebhookNotifier::new(
        "content-hook",
        &format!("{url}/hook"),
        "http://perfkit.local",
        settings,
    )
    .unwrap();
    let delivery =
        tokio::spawn(engine.add_notifier(Arc::new(notifier), NotificationPolicy::default()).run());
    let mut posts = Posts { engine, clock, secs: 0, total: 0.0 };

    assert!(posts.run(4, 40.0).is_empty(), "40/min is quiet");
    // 180/min: pending at once, firing after `for` (1 min).
    assert_eq!(posts.run(3, 180.0), [(150, AlertEventKind::Pending), (210, AlertEventKind::Fired)]);
    let active = posts.engine.active_alerts();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].labels["metric"], r#"demo_posts_created{page="1"}"#);
    // Group wait (30 s) passes at the next snapshot: the firing notification goes out.
    assert!(posts.run(1, 180.0).is_empty());
    let firing = next_body(&mut requests).await;
    assert_eq!(firing["version"], "4");
    assert_eq!(firing["status"], "firing");
    assert_eq!(firing["receiver"], "content-hook");
    assert_eq!(firing["groupLabels"]["alertname"], "posting_surge");
    let alert = &firing["alerts"][0];
    assert_eq!(alert["labels"]["metric"], r#"demo_posts_created{page="1"}"#);
    assert_eq!(alert["labels"]["team"], "content");
    assert_eq!(alert["labels"]["severity"], "medium");
    assert_eq!(
        alert["annotations"]["summary"],
        r#"demo_posts_created{page="1"} at 180 ratePerMinute (threshold 100)"#
    );
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");

    // 90/min is under the threshold but above the recovery line: it keeps firing.
    assert!(posts.run(4, 90.0).is_empty());
    assert_eq!(posts.engine.active_alerts()[0].state, AlertPhase::Firing);
    // 30/min: resolved at once; the resolution is notified at the group's next interval.
    assert_eq!(posts.run(1, 30.0), [(390, AlertEventKind::Resolved)]);
    posts.run(10, 30.0);
    let resolved = next_body(&mut requests).await;
    assert_eq!(resolved["status"], "resolved");
    let alert = &resolved["alerts"][0];
    assert_eq!(alert["status"], "resolved");
    assert_eq!(alert["labels"]["metric"], r#"demo_posts_created{page="1"}"#);
    assert_eq!(alert["endsAt"].as_str().unwrap().parse::<Timestamp>().unwrap(), at(390));

    let kinds: Vec<_> = posts.engine.history().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [AlertEventKind::Pending, AlertEventKind::Fired, AlertEventKind::Resolved]);
    drop(posts);
    delivery.await.unwrap();
    assert!(requests.try_recv().is_err(), "one firing and one resolved notification");
}

#[test]
fn a_series_that_is_not_there_is_no_data() {
    let clock = Arc::new(ManualClock::new(START));
    let engine = AlertEngine::new(posting_rule(), EngineConfig::default(), clock).unwrap();
    let mut kinds = Vec::new();
    for step in 1..=3 {
        let mut snapshot = MetricsSnapshot::empty(at(step * STEP_SECS));
        snapshot.business = vec![counter("demo_posts_created", &[("page", "2")], 10.0, 500.0)];
        kinds.extend(engine.evaluate(&snapshot).into_iter().map(|e| e.kind));
    }
    assert_eq!(kinds, [AlertEventKind::NoData], "page 1 never posted");
    assert_eq!(engine.rule_statuses()[0].state, AlertPhase::NoData);
}

#[test]
fn replacing_rules_checks_aggregations_against_the_kinds_seen() {
    let clock = Arc::new(ManualClock::new(START));
    let engine = AlertEngine::new(posting_rule(), EngineConfig::default(), clock).unwrap();
    let before = engine.rules();
    // Before any snapshot nothing is known: a percentile of what will be a counter passes.
    let p95_of_posts = r#"{"rules": [
        {"name": "posts_p95", "severity": "low", "kind": "threshold",
         "series": {"name": "demo_posts_created", "aggregation": "p95"},
         "comparison": "above", "threshold": 1}
    ]}"#;
    engine.replace_rules(RuleSet::from_json(p95_of_posts).unwrap()).unwrap();
    engine.replace_rules(before.clone()).unwrap();

    let mut snapshot = MetricsSnapshot::empty(at(30));
    let mut queue = counter("jobs_waiting", &[], 12.0, 0.0);
    queue.kind = SeriesKind::Gauge;
    queue.increase = None;
    queue.rate_per_second = None;
    snapshot.business = vec![counter("demo_posts_created", &[("page", "1")], 10.0, 5.0), queue];
    engine.evaluate(&snapshot);

    let wrong = RuleSet::from_json(
        r#"{"rules": [
        {"name": "posts_p95", "severity": "low", "kind": "threshold",
         "series": {"name": "demo_posts_created", "aggregation": "p95"},
         "comparison": "above", "threshold": 1},
        {"name": "queue_rate", "severity": "low", "kind": "predictive",
         "series": {"name": "jobs_waiting", "aggregation": "ratePerSecond"},
         "comparison": "above", "threshold": 1, "horizon": "1h", "lookback": "30m",
         "minPoints": 5},
        {"name": "queue_outcomes", "severity": "low", "kind": "burnRate", "slo": 0.99,
         "outcomes": {"good": {"name": "demo_posts_created"}, "bad": {"name": "jobs_waiting"}}},
        {"name": "later", "severity": "low", "kind": "threshold",
         "series": {"name": "not_emitted_yet", "aggregation": "p99"},
         "comparison": "above", "threshold": 1}
    ]}"#,
    )
    .unwrap();
    let refused = engine.replace_rules(wrong.clone());
    let Err(AlertingError::InvalidRules { problems }) = refused else { panic!("{refused:?}") };
    let fields: Vec<_> = problems.iter().map(|p| (p.rule.as_str(), p.field.as_str())).collect();
    assert_eq!(
        fields,
        [
            ("posts_p95", "series.aggregation"),
            ("queue_rate", "series.aggregation"),
            ("queue_outcomes", "outcomes.bad.aggregation"),
        ],
        "{problems:?}"
    );
    assert!(problems[0].message.contains("p95 does not apply to demo_posts_created, a counter"));
    assert!(problems[1].message.contains("a gauge has value"), "{problems:?}");
    assert_eq!(engine.rules(), before, "the old rules stay");
    let refused = engine.reload(wrong, Vec::new());
    assert!(matches!(refused, Err(AlertingError::InvalidRules { .. })), "{refused:?}");
    assert_eq!(engine.rules(), before);
    assert!(!engine.inhibit_rules().is_empty(), "a refused reload changes nothing");
}

#[tokio::test]
async fn the_selector_is_the_metric_label_that_silences_match() {
    let rules = RuleSet::from_json(
        r#"{"rules": [
          {"name": "posts_page_1", "severity": "low", "kind": "threshold",
           "series": {"name": "demo_posts_created", "labels": {"page": "1"}},
           "comparison": "above", "threshold": 1, "for": "0s"},
          {"name": "posts_page_2", "severity": "low", "kind": "threshold",
           "series": {"name": "demo_posts_created", "labels": {"page": "2"}},
           "comparison": "above", "threshold": 1, "for": "0s"}
        ]}"#,
    )
    .unwrap();
    let engine =
        AlertEngine::new(rules, EngineConfig::default(), Arc::new(ManualClock::new(START)))
            .unwrap();
    let recorder = RecordingNotifier::named("test");
    let policy = NotificationPolicy { group_wait: Duration::ZERO, ..NotificationPolicy::default() };
    let delivery = tokio::spawn(engine.add_notifier(Arc::new(recorder.clone()), policy).run());
    engine
        .add_silence(Silence {
            id: 0,
            matchers: vec![LabelMatcher::equal("metric", r#"demo_posts_created{page="1"}"#)],
            starts_at: START,
            ends_at: at(3600),
            created_by: "ops".to_owned(),
            comment: "page 1 is being migrated".to_owned(),
        })
        .unwrap();
    let mut snapshot = MetricsSnapshot::empty(at(30));
    snapshot.business = vec![
        counter("demo_posts_created", &[("page", "1")], 10.0, 5.0),
        counter("demo_posts_created", &[("page", "2")], 20.0, 5.0),
    ];
    engine.evaluate(&snapshot);
    let active = engine.active_alerts();
    assert_eq!(active.len(), 2, "a silence mutes notifications, not alerts");
    let expected: BTreeMap<String, String> = [
        ("alertname", "posts_page_1"),
        ("metric", r#"demo_posts_created{page="1"}"#),
        ("severity", "low"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(active[0].labels, expected);
    assert_eq!(active[0].value, Some(10.0), "aggregation left out reads the value");
    drop(engine);
    delivery.await.unwrap();
    let notified: Vec<_> = recorder
        .received()
        .iter()
        .flat_map(|n| n.alerts.iter().map(|a| a.labels["alertname"].clone()))
        .collect();
    assert_eq!(notified, ["posts_page_2"]);
}
