//! What receivers hear: no flapping, grouping timing, inhibition and silences. The engine
//! runs on the manual clock; a recording notifier behind a real delivery worker listens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use perfkit_alerting::{
    AlertEngine, AlertStatus, AlertingError, EngineConfig, LabelMatcher, Notification,
    NotificationPolicy, RuleSet, Silence,
};
use perfkit_core::{ManualClock, Metric, MetricsSnapshot};
use support::{RecordingNotifier, START, at, engine, engine_on, snapshot, threshold_rule};

fn clock_at_start() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(START))
}

/// Runs `drive` against `engine` with a recording notifier, then returns every notification
/// delivered (dropping the engine ends the worker once its outbox is drained).
async fn notifications_of(
    engine: AlertEngine,
    policy: NotificationPolicy,
    drive: impl FnOnce(&AlertEngine),
) -> Vec<Notification> {
    let recorder = RecordingNotifier::named("test");
    let worker = engine.add_notifier(Arc::new(recorder.clone()), policy);
    let delivery = tokio::spawn(worker.run());
    drive(&engine);
    drop(engine);
    delivery.await.unwrap();
    recorder.received()
}

/// (alertname, status) of every alert of every notification, in order.
fn summary(notifications: &[Notification]) -> Vec<(String, AlertStatus)> {
    notifications
        .iter()
        .flat_map(|n| n.alerts.iter().map(|a| (a.labels["alertname"].clone(), a.status)))
        .collect()
}

fn full_snapshot(secs: u64) -> MetricsSnapshot {
    let mut s = MetricsSnapshot::empty(at(secs));
    s.response_time = Some(100.0);
    s.error_rate = Some(0.0);
    s.memory_usage = Some(0.5);
    s.cpu_usage = Some(0.5);
    s.cache_hit_rate = Some(0.9);
    s
}

#[tokio::test]
async fn oscillating_around_the_threshold_gives_one_firing_and_one_resolve() {
    let rules = vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, Some(900.0), 0)];
    let sent = notifications_of(engine(rules), NotificationPolicy::default(), |engine| {
        let wobble = [980.0, 1010.0, 990.0, 1020.0, 960.0, 1005.0, 930.0, 1040.0];
        let mut secs = 0;
        for round in 0..10 {
            for ms in wobble {
                engine.evaluate(&snapshot(at(secs), Metric::ResponseTime, ms + f64::from(round)));
                secs += 30;
            }
        }
        for _ in 0..20 {
            engine.evaluate(&snapshot(at(secs), Metric::ResponseTime, 500.0));
            secs += 30;
        }
    })
    .await;
    assert_eq!(
        summary(&sent),
        [("slow".to_owned(), AlertStatus::Firing), ("slow".to_owned(), AlertStatus::Resolved)]
    );
    assert_eq!(sent[0].sent_at, at(60), "first notification after group_wait (30 s)");
}

#[tokio::test]
async fn an_alert_that_resolves_within_group_wait_sends_nothing() {
    let rules = vec![threshold_rule("blip", Metric::ResponseTime, 1000.0, None, 0)];
    let policy =
        NotificationPolicy { group_wait: Duration::from_secs(60), ..NotificationPolicy::default() };
    let sent = notifications_of(engine(rules), policy, |engine| {
        for (secs, ms) in [(0, 1500.0), (30, 100.0), (60, 100.0), (90, 100.0), (600, 100.0)] {
            engine.evaluate(&snapshot(at(secs), Metric::ResponseTime, ms));
        }
    })
    .await;
    assert!(sent.is_empty(), "{sent:?}");
}

#[tokio::test]
async fn firing_groups_repeat_after_repeat_interval() {
    let rules = vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0)];
    let sent = notifications_of(engine(rules), NotificationPolicy::default(), |engine| {
        for step in 0..(5 * 3600 / 30) {
            let secs = step * 30;
            engine.evaluate(&snapshot(at(secs), Metric::ResponseTime, 1500.0));
        }
    })
    .await;
    // At 30 s, then once after 4 h (on the first group_interval tick past it).
    let times: Vec<_> = sent.iter().map(|n| n.sent_at).collect();
    assert_eq!(times, [at(30), at(30 + 4 * 3600)]);
}

#[tokio::test]
async fn a_critical_error_rate_alert_inhibits_latency_and_cache_alerts() {
    let mut rules = RuleSet::default().rules;
    for rule in &mut rules {
        rule.for_duration = Duration::ZERO;
    }
    let engine =
        AlertEngine::new(RuleSet { rules }, EngineConfig::default(), clock_at_start()).unwrap();
    let policy = NotificationPolicy { group_wait: Duration::ZERO, ..NotificationPolicy::default() };
    let sent = notifications_of(engine, policy, |engine| {
        // Errors, latency, cache misses and CPU all at once.
        for secs in (0..=300).step_by(30) {
            let mut s = full_snapshot(secs);
            s.error_rate = Some(0.2);
            s.response_time = Some(2500.0);
            s.cache_hit_rate = Some(0.3);
            s.cpu_usage = Some(0.95);
            engine.evaluate(&s);
        }
        assert_eq!(engine.active_alerts().len(), 4, "inhibition mutes notifications, not alerts");
        // The errors stop; latency stays: now it is news.
        for secs in (330..=900).step_by(30) {
            let mut s = full_snapshot(secs);
            s.response_time = Some(2500.0);
            s.cpu_usage = Some(0.95);
            engine.evaluate(&s);
        }
    })
    .await;
    let names = summary(&sent);
    let firing_at_start: Vec<_> =
        sent[..2].iter().map(|n| n.alerts[0].labels["alertname"].as_str()).collect();
    assert_eq!(firing_at_start, ["high_cpu_usage", "high_error_rate"]);
    assert!(
        !names[..2].iter().any(|(n, _)| n == "high_response_time" || n == "low_cache_hit_rate")
    );
    assert!(names.contains(&("high_error_rate".to_owned(), AlertStatus::Resolved)));
    assert!(names.contains(&("high_response_time".to_owned(), AlertStatus::Firing)), "{names:?}");
    // The cache recovered along with the errors, while muted: receivers never heard of it.
    assert!(!names.iter().any(|(n, _)| n == "low_cache_hit_rate"), "{names:?}");
}

#[tokio::test]
async fn inhibition_matchers_are_configurable() {
    let config = EngineConfig { inhibit_rules: Vec::new(), ..EngineConfig::default() };
    let mut rules = RuleSet::default().rules;
    for rule in &mut rules {
        rule.for_duration = Duration::ZERO;
    }
    let engine = AlertEngine::new(RuleSet { rules }, config, clock_at_start()).unwrap();
    let policy = NotificationPolicy { group_wait: Duration::ZERO, ..NotificationPolicy::default() };
    let sent = notifications_of(engine, policy, |engine| {
        let mut s = full_snapshot(0);
        s.error_rate = Some(0.2);
        s.response_time = Some(2500.0);
        engine.evaluate(&s);
    })
    .await;
    assert_eq!(sent.len(), 2, "without inhibit rules both are notified");
}

#[tokio::test]
async fn silences_mute_until_they_expire() {
    let rules = vec![
        threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0),
        threshold_rule("busy", Metric::CpuUsage, 0.8, None, 0),
    ];
    let policy = NotificationPolicy { group_wait: Duration::ZERO, ..NotificationPolicy::default() };
    let sent = notifications_of(engine(rules), policy, |engine| {
        let silence = Silence {
            id: 0,
            matchers: vec![LabelMatcher::equal("alertname", "busy")],
            starts_at: at(0),
            ends_at: at(600),
            created_by: "ops".to_owned(),
            comment: "planned load test".to_owned(),
        };
        let id = engine.add_silence(silence).unwrap();
        assert_eq!(engine.silences().len(), 1);
        for secs in (0..=900).step_by(30) {
            let mut s = snapshot(at(secs), Metric::ResponseTime, 1500.0);
            s.cpu_usage = Some(0.95);
            engine.evaluate(&s);
        }
        assert!(engine.silences().is_empty(), "expired silences are dropped");
        assert!(matches!(engine.expire_silence(id), Err(AlertingError::UnknownSilence(_))));
    })
    .await;
    let when: Vec<_> =
        sent.iter().map(|n| (n.alerts[0].labels["alertname"].clone(), n.sent_at)).collect();
    assert_eq!(when, [("slow".to_owned(), at(0)), ("busy".to_owned(), at(600))]);
}

#[test]
fn silences_are_validated_and_can_be_expired_early() {
    let engine = engine(vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0)]);
    let mut silence = Silence {
        id: 0,
        matchers: Vec::new(),
        starts_at: at(0),
        ends_at: at(60),
        created_by: String::new(),
        comment: String::new(),
    };
    assert!(matches!(engine.add_silence(silence.clone()), Err(AlertingError::InvalidSilence(_))));
    silence.matchers = vec![LabelMatcher::equal("alertname", "slow")];
    silence.ends_at = at(0);
    assert!(matches!(engine.add_silence(silence.clone()), Err(AlertingError::InvalidSilence(_))));
    silence.ends_at = at(60);
    let id = engine.add_silence(silence).unwrap();
    engine.expire_silence(id).unwrap();
    assert!(engine.silences().is_empty());
}

#[tokio::test]
async fn full_outbox_drops_oldest_and_counts() {
    // No worker: the outbox fills and evaluation goes on regardless.
    let engine = engine(vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0)]);
    let recorder = RecordingNotifier::named("stuck");
    let policy = NotificationPolicy {
        group_wait: Duration::ZERO,
        group_interval: Duration::ZERO,
        repeat_interval: Duration::ZERO,
        ..NotificationPolicy::default()
    };
    let _worker = engine.add_notifier(Arc::new(recorder), policy);
    for step in 0..1000 {
        engine.evaluate(&snapshot(at(step * 30), Metric::ResponseTime, 1500.0));
    }
    let stats = &engine.delivery_stats()[0];
    assert_eq!(stats.queued, EngineConfig::default().outbox_capacity);
    assert_eq!(stats.dropped, 1000 - stats.queued as u64);
}

#[test]
fn silences_are_stamped_and_listed_by_the_engines_clock() {
    let clock = Arc::new(ManualClock::new(at(120)));
    let engine = engine_on(
        vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0)],
        clock.clone(),
    );
    let silence = |starts: u64, ends: u64| Silence {
        id: 0,
        matchers: vec![LabelMatcher::equal("alertname", "slow")],
        starts_at: at(starts),
        ends_at: at(ends),
        created_by: "ops".to_owned(),
        comment: String::new(),
    };
    let refused = engine.add_silence(silence(0, 60));
    assert!(matches!(refused, Err(AlertingError::InvalidSilence(_))), "ended before now");
    engine.add_silence(silence(0, 300)).unwrap();
    engine.add_silence(silence(600, 900)).unwrap();
    let listed: Vec<_> =
        engine.silences_with_state().into_iter().map(|(s, state)| (s.starts_at, state)).collect();
    assert_eq!(listed, [(at(120), "active"), (at(600), "pending")], "a past start moves to now");
    clock.set(at(300));
    let left: Vec<_> = engine.silences().into_iter().map(|s| s.starts_at).collect();
    assert_eq!(left, [at(600)], "an ended silence is no longer listed, before any evaluation");
}

#[test]
fn a_reload_with_bad_inhibit_rules_changes_neither_rules_nor_inhibit_rules() {
    let engine = engine(vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0)]);
    let rules_before = engine.rules();
    let inhibit_before = engine.inhibit_rules();
    let new_rules = RuleSet { rules: vec![threshold_rule("busy", Metric::CpuUsage, 0.8, None, 0)] };
    let bad = perfkit_alerting::InhibitRule {
        source_matchers: Vec::new(),
        target_matchers: Vec::new(),
        equal: Vec::new(),
    };
    let refused = engine.reload(new_rules.clone(), vec![bad]);
    assert!(matches!(refused, Err(AlertingError::InvalidInhibitRules(_))), "{refused:?}");
    assert_eq!(engine.rules(), rules_before);
    assert_eq!(engine.inhibit_rules(), inhibit_before);
    engine.reload(new_rules.clone(), Vec::new()).unwrap();
    assert_eq!(engine.rules(), new_rules);
    assert!(engine.inhibit_rules().is_empty());
}

#[tokio::test]
async fn a_latency_alert_names_the_slowest_request_s_trace_and_links_it() {
    use perfkit_core::{Exemplar, SampledSpan, SpanId, TraceId};
    let slow = Exemplar {
        span: SampledSpan { trace_id: TraceId::from_u128(0xfeed), span_id: SpanId::from_u64(1) },
        value: 2.5,
        timestamp: at(0),
    };
    let rules = vec![
        threshold_rule("slow", Metric::P95, 1000.0, None, 0),
        threshold_rule("failing", Metric::ErrorRate, 0.05, None, 0),
    ];
    let config = EngineConfig {
        trace_url: Some("http://jaeger:16686/trace/{traceId}".parse().unwrap()),
        ..EngineConfig::default()
    };
    let engine = AlertEngine::new(RuleSet { rules }, config, clock_at_start()).unwrap();
    let sent = notifications_of(engine, NotificationPolicy::default(), |engine| {
        for secs in (0..=120).step_by(30) {
            let mut snapshot = snapshot(at(secs), Metric::P95, 2500.0);
            snapshot.error_rate = Some(0.5);
            snapshot.slowest_exemplar = Some(slow);
            engine.evaluate(&snapshot);
        }
    })
    .await;
    let alerts: Vec<_> = sent.iter().flat_map(|n| n.alerts.iter()).collect();
    let latency =
        alerts.iter().find(|a| a.labels["alertname"] == "slow").expect("the latency alert");
    let trace = "0000000000000000000000000000feed";
    assert_eq!(latency.annotations.get("trace_id").map(String::as_str), Some(trace));
    assert_eq!(
        latency.annotations.get("trace_url").map(String::as_str),
        Some(format!("http://jaeger:16686/trace/{trace}").as_str())
    );
    assert_eq!(latency.annotations["summary"], "p95 is 2500");
    let errors =
        alerts.iter().find(|a| a.labels["alertname"] == "failing").expect("the error alert");
    assert!(!errors.annotations.contains_key("trace_id"), "not a latency rule: {errors:?}");
}

#[tokio::test]
async fn without_a_template_a_latency_alert_carries_the_trace_id_alone() {
    use perfkit_core::{Exemplar, SampledSpan, SpanId, TraceId};
    let rules = vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0)];
    let sent = notifications_of(engine(rules), NotificationPolicy::default(), |engine| {
        for secs in (0..=120).step_by(30) {
            let mut snapshot = snapshot(at(secs), Metric::ResponseTime, 1500.0);
            snapshot.slowest_exemplar = Some(Exemplar {
                span: SampledSpan { trace_id: TraceId::from_u128(7), span_id: SpanId::from_u64(7) },
                value: 1.5,
                timestamp: at(secs),
            });
            engine.evaluate(&snapshot);
        }
    })
    .await;
    let alert = &sent[0].alerts[0];
    assert_eq!(alert.annotations["trace_id"], TraceId::from_u128(7).to_string());
    assert!(!alert.annotations.contains_key("trace_url"));
}
