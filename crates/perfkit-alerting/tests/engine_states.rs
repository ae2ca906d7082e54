//! The engine's state machine on the manual clock: every transition, `for`, hysteresis,
//! no-data, clear, history bounds, rule replacement.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use perfkit_alerting::{
    AlertEngine, AlertEventKind, AlertPhase, AlertingError, EngineConfig, RuleSet,
};
use perfkit_core::{Clock, ManualClock, Metric, MetricsSnapshot};
use support::{START, at, engine, engine_on, snapshot, threshold_rule};

fn kinds(engine: &AlertEngine) -> Vec<AlertEventKind> {
    engine.history().into_iter().map(|e| e.kind).collect()
}

fn phase(engine: &AlertEngine) -> AlertPhase {
    engine.rule_statuses()[0].state
}

#[test]
fn hysteresis_keeps_firing_inside_the_recovery_band() {
    let engine = engine(vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, Some(900.0), 0)]);
    let clock = ManualClock::new(START);
    let mut phases = Vec::new();
    for ms in [980.0, 1010.0, 990.0, 1020.0, 950.0, 905.0, 1001.0, 899.0] {
        engine.evaluate(&snapshot(clock.now(), Metric::ResponseTime, ms));
        phases.push(phase(&engine));
        clock.advance(Duration::from_secs(30));
    }
    use AlertPhase::{Firing, Inactive, Resolved};
    assert_eq!(phases, [Inactive, Firing, Firing, Firing, Firing, Firing, Firing, Resolved]);
    assert_eq!(kinds(&engine), [AlertEventKind::Fired, AlertEventKind::Resolved]);
}

#[test]
fn without_recovery_threshold_the_same_series_flaps() {
    // The contrast that shows why the recovery threshold exists.
    let engine = engine(vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0)]);
    for (i, ms) in [980.0, 1010.0, 990.0, 1020.0].into_iter().enumerate() {
        let now = at(30 * i as u64);
        engine.evaluate(&snapshot(now, Metric::ResponseTime, ms));
    }
    use AlertEventKind::{Fired, Resolved};
    assert_eq!(kinds(&engine), [Fired, Resolved, Fired]);
}

#[test]
fn for_one_minute_at_thirty_second_intervals_fires_on_the_third_breach() {
    let engine =
        engine(vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, Some(900.0), 60)]);
    let mut seen = Vec::new();
    for step in 0..4 {
        let now = at(30 * step);
        let events = engine.evaluate(&snapshot(now, Metric::ResponseTime, 1500.0));
        seen.push((phase(&engine), events.iter().map(|e| e.kind).collect::<Vec<_>>()));
    }
    assert_eq!(seen[0], (AlertPhase::Pending, vec![AlertEventKind::Pending]));
    assert_eq!(seen[1], (AlertPhase::Pending, vec![]));
    assert_eq!(seen[2], (AlertPhase::Firing, vec![AlertEventKind::Fired]));
    assert_eq!(seen[3], (AlertPhase::Firing, vec![]));
    let alert = &engine.active_alerts()[0];
    assert_eq!(alert.active_since, at(0));
    assert_eq!(alert.starts_at, Some(at(60)));
    assert_eq!(alert.annotations["summary"], "responseTime is 1500");
    assert_eq!(alert.labels["alertname"], "slow");
    assert_eq!(alert.labels["severity"], "high");
    assert_eq!(alert.labels["metric"], "responseTime");
    assert!(engine.pending_alerts().is_empty());
}

#[test]
fn pending_that_clears_never_fires() {
    let engine = engine(vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 60)]);
    engine.evaluate(&snapshot(at(0), Metric::ResponseTime, 1500.0));
    assert_eq!(engine.pending_alerts().len(), 1);
    engine.evaluate(&snapshot(at(30), Metric::ResponseTime, 500.0));
    assert_eq!(phase(&engine), AlertPhase::Inactive);
    assert!(engine.pending_alerts().is_empty() && engine.active_alerts().is_empty());
}

#[test]
fn keep_firing_for_holds_through_recovering_then_resolves() {
    let mut rule = threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0);
    rule.keep_firing_for = Duration::from_secs(60);
    let engine = engine(vec![rule]);
    let values = [1500.0, 500.0, 500.0, 500.0];
    let mut phases = Vec::new();
    for (i, ms) in values.into_iter().enumerate() {
        let now = at(30 * i as u64);
        engine.evaluate(&snapshot(now, Metric::ResponseTime, ms));
        phases.push(phase(&engine));
    }
    use AlertPhase::{Firing, Recovering, Resolved};
    assert_eq!(phases, [Firing, Recovering, Recovering, Resolved]);
    use AlertEventKind::{Fired, Recovering as Rec, Resolved as Res};
    assert_eq!(kinds(&engine), [Fired, Rec, Res]);
    let history = engine.history();
    let resolved = history.last().unwrap();
    assert_eq!(resolved.alert.ends_at, Some(at(90)));
    assert!(engine.active_alerts().is_empty());
}

#[test]
fn missing_metric_twice_is_no_data_but_a_firing_alert_stays() {
    let engine = engine(vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0)]);
    engine.evaluate(&snapshot(at(0), Metric::ResponseTime, 1500.0));
    engine.evaluate(&MetricsSnapshot::empty(at(30)));
    assert_eq!(phase(&engine), AlertPhase::Firing, "one missing evaluation is tolerated");
    engine.evaluate(&MetricsSnapshot::empty(at(60)));
    assert_eq!(phase(&engine), AlertPhase::NoData);
    assert_eq!(engine.active_alerts().len(), 1, "absence of data is not recovery");
    assert_eq!(engine.active_alerts()[0].state, AlertPhase::NoData);
    engine.evaluate(&snapshot(at(90), Metric::ResponseTime, 200.0));
    assert_eq!(phase(&engine), AlertPhase::Resolved);
    use AlertEventKind::{Fired, NoData, Resolved};
    assert_eq!(kinds(&engine), [Fired, NoData, Resolved]);
}

#[test]
fn no_data_is_recorded_for_a_quiet_rule_too() {
    let engine = engine(vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0)]);
    engine.evaluate(&MetricsSnapshot::empty(at(0)));
    engine.evaluate(&MetricsSnapshot::empty(at(30)));
    assert_eq!(kinds(&engine), [AlertEventKind::NoData]);
    assert!(engine.active_alerts().is_empty());
    engine.evaluate(&snapshot(at(60), Metric::ResponseTime, 10.0));
    assert_eq!(phase(&engine), AlertPhase::Inactive);
}

#[test]
fn clear_drops_alerts_which_fire_again_if_the_condition_holds() {
    let clock = Arc::new(ManualClock::new(START));
    let engine = engine_on(
        vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 60)],
        clock.clone(),
    );
    for step in 0..3 {
        engine.evaluate(&snapshot(at(30 * step), Metric::ResponseTime, 1500.0));
    }
    assert_eq!(engine.active_alerts().len(), 1);
    clock.set(at(70));
    assert_eq!(engine.clear(), 1);
    assert_eq!(engine.history().last().unwrap().at, at(70), "stamped by the engine's clock");
    assert!(engine.active_alerts().is_empty());
    assert_eq!(phase(&engine), AlertPhase::Inactive);
    // Still slow: pending again, firing again after `for`.
    engine.evaluate(&snapshot(at(90), Metric::ResponseTime, 1500.0));
    assert_eq!(phase(&engine), AlertPhase::Pending);
    engine.evaluate(&snapshot(at(150), Metric::ResponseTime, 1500.0));
    assert_eq!(engine.active_alerts()[0].starts_at, Some(at(150)));
    use AlertEventKind::{Cleared, Fired, Pending};
    assert_eq!(kinds(&engine), [Pending, Fired, Cleared, Pending, Fired]);
}

#[test]
fn history_is_bounded() {
    let config = EngineConfig { history_capacity: 10, ..EngineConfig::default() };
    let rules =
        RuleSet { rules: vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0)] };
    let engine = AlertEngine::new(rules, config, Arc::new(ManualClock::new(START))).unwrap();
    for step in 0..100u64 {
        let value = if step % 2 == 0 { 1500.0 } else { 10.0 };
        engine.evaluate(&snapshot(at(step * 30), Metric::ResponseTime, value));
    }
    assert_eq!(engine.history().len(), 10);
    assert_eq!(engine.history().last().unwrap().at, at(99 * 30));
}

#[test]
fn default_history_holds_a_thousand_events() {
    assert_eq!(EngineConfig::default().history_capacity, 1000);
}

#[tokio::test]
async fn subscribers_receive_fired_and_resolved() {
    let engine = engine(vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0)]);
    let mut events = engine.subscribe();
    engine.evaluate(&snapshot(at(0), Metric::ResponseTime, 1500.0));
    engine.evaluate(&snapshot(at(30), Metric::ResponseTime, 100.0));
    assert_eq!(events.recv().await.unwrap().kind, AlertEventKind::Fired);
    let resolved = events.recv().await.unwrap();
    assert_eq!(resolved.kind, AlertEventKind::Resolved);
    assert_eq!(resolved.alert.ends_at, Some(at(30)));
}

#[test]
fn replacing_rules_keeps_unchanged_state_and_refuses_invalid_sets_whole() {
    let slow = threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0);
    let busy = threshold_rule("busy", Metric::CpuUsage, 0.8, None, 0);
    let clock = Arc::new(ManualClock::new(START));
    let engine = engine_on(vec![slow.clone(), busy.clone()], clock.clone());
    let mut s = snapshot(at(0), Metric::ResponseTime, 1500.0);
    s.cpu_usage = Some(0.9);
    engine.evaluate(&s);
    assert_eq!(engine.active_alerts().len(), 2);

    let mut broken = busy;
    broken.name = String::new();
    let mut bad_threshold = slow.clone();
    bad_threshold.name = "other".to_owned();
    bad_threshold.condition =
        perfkit_alerting::Condition::Threshold(perfkit_alerting::ThresholdCondition {
            watched: Metric::P95.into(),
            comparison: perfkit_alerting::Comparison::Above,
            threshold: f64::INFINITY,
            recovery_threshold: None,
        });
    clock.set(at(30));
    let refused = engine.replace_rules(RuleSet { rules: vec![broken, bad_threshold] });
    let Err(AlertingError::InvalidRules { problems }) = refused else { panic!("{refused:?}") };
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(engine.rules().rules.len(), 2, "the old rules stay");

    // Keep `slow` as it is, drop `busy`: its alert resolves, slow keeps firing.
    engine.replace_rules(RuleSet { rules: vec![slow] }).unwrap();
    let active = engine.active_alerts();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].rule, "slow");
    assert_eq!(active[0].starts_at, Some(at(0)));
    let history = engine.history();
    let last = history.last().unwrap();
    assert_eq!((last.kind, last.alert.rule.as_str()), (AlertEventKind::Resolved, "busy"));
    assert_eq!(last.alert.ends_at, Some(at(30)), "resolved at the engine's clock");
}

#[test]
fn alerts_serialize_camel_case_with_rfc3339_times() {
    let engine = engine(vec![threshold_rule("slow", Metric::ResponseTime, 1000.0, None, 0)]);
    engine.evaluate(&snapshot(at(0), Metric::ResponseTime, 1500.0));
    let json = serde_json::to_value(engine.active_alerts()).unwrap();
    assert_eq!(json[0]["startsAt"], "2023-11-14T22:13:20.000Z");
    assert_eq!(json[0]["state"], "firing");
    assert_eq!(json[0]["lastEvaluatedAt"], "2023-11-14T22:13:20.000Z");
    assert!(json[0]["endsAt"].is_null());
    let history = serde_json::to_value(engine.history()).unwrap();
    assert_eq!(history[0]["kind"], "fired");
}
