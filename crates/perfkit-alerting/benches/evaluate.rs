//! `evaluate` over 100 rules on one snapshot: it runs on every collected snapshot, so it must
//! stay far below a millisecond, with or without a notifier whose receiver hangs.
#![allow(clippy::expect_used)] // setup of a benchmark: a panic is the right report

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use perfkit_alerting::{
    AlertEngine, AlertRule, BurnRateCondition, Comparison, Condition, EngineConfig, LogNotifier,
    NotificationPolicy, PredictiveCondition, RuleSet, ThresholdCondition,
};
use perfkit_core::{Metric, MetricsSnapshot, Severity, SystemClock, Timestamp};

fn hundred_rules() -> RuleSet {
    let rules = (0..100)
        .map(|i| {
            let condition = match i % 10 {
                0 => Condition::BurnRate(BurnRateCondition::paging(0.999)),
                1 => Condition::Predictive(PredictiveCondition {
                    watched: Metric::MemoryUsage.into(),
                    comparison: Comparison::Above,
                    threshold: Some(1.0),
                    growth_factor: None,
                    horizon: Duration::from_secs(3600),
                    lookback: Duration::from_secs(1800),
                    min_points: 5,
                }),
                _ => Condition::Threshold(ThresholdCondition {
                    watched: Metric::ALL[i % Metric::ALL.len()].into(),
                    comparison: Comparison::Above,
                    // Half the rules fire, half do not.
                    threshold: if i % 2 == 0 { 0.0 } else { 1e12 },
                    recovery_threshold: None,
                }),
            };
            AlertRule {
                name: format!("rule_{i}"),
                severity: Severity::High,
                condition,
                for_duration: Duration::from_secs(60),
                keep_firing_for: Duration::ZERO,
                labels: Default::default(),
                annotations: [("summary".to_owned(), "{{ metric }} is {{ value }}".to_owned())]
                    .into(),
            }
        })
        .collect();
    RuleSet { rules }
}

fn snapshot(at: Timestamp) -> MetricsSnapshot {
    let mut snapshot = MetricsSnapshot::empty(at);
    for (i, metric) in Metric::ALL.into_iter().enumerate() {
        snapshot.set(metric, Some(0.1 * (i + 1) as f64));
    }
    snapshot.request_count = Some(1000.0);
    snapshot.error_rate = Some(0.02);
    snapshot
}

/// An engine warmed with an hour of 30 s snapshots, so windows and series are full.
fn warmed_engine() -> (AlertEngine, Timestamp) {
    let engine = AlertEngine::new(hundred_rules(), EngineConfig::default(), Arc::new(SystemClock))
        .expect("valid rules");
    let mut now = Timestamp::from_unix_millis(1_700_000_000_000);
    for _ in 0..120 {
        now = now + Duration::from_secs(30);
        engine.evaluate(&snapshot(now));
    }
    (engine, now)
}

fn evaluate_100_rules(c: &mut Criterion) {
    let mut group = c.benchmark_group("evaluate_100_rules");

    let (engine, mut now) = warmed_engine();
    group.bench_function("no_notifier", |b| {
        b.iter(|| {
            now = now + Duration::from_secs(30);
            black_box(engine.evaluate(black_box(&snapshot(now))));
        });
    });

    // A notifier whose worker never runs stands for a receiver that hangs: the outbox stays
    // full, and every notification evaluation queues drops the oldest.
    let (engine, mut now) = warmed_engine();
    let policy = NotificationPolicy {
        group_wait: Duration::ZERO,
        group_interval: Duration::ZERO,
        repeat_interval: Duration::ZERO,
        ..NotificationPolicy::default()
    };
    let _stalled = engine.add_notifier(Arc::new(LogNotifier), policy);
    group.bench_function("stalled_notifier", |b| {
        b.iter(|| {
            now = now + Duration::from_secs(30);
            black_box(engine.evaluate(black_box(&snapshot(now))));
        });
    });
    group.finish();
}

criterion_group!(benches, evaluate_100_rules);
criterion_main!(benches);
