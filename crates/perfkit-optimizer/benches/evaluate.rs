//! The cost of one rules evaluation: one snapshot, a full 100-check history, every rule firing.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use perfkit_core::{MetricsSnapshot, Timestamp};
use perfkit_optimizer::{ActionKind, CheckHistory, Observed, OptimizerConfig, PastCheck, evaluate};

fn bench_evaluate(c: &mut Criterion) {
    let now = Timestamp::from_unix_millis(1_700_000_000_000);
    let mut config = OptimizerConfig::default();
    // The longest window: every rule walks the whole history.
    config.guardrails.stabilization_checks = 100;
    config.queue_scaling.max_workers = 64;

    let mut history = CheckHistory::new();
    for i in 0..100 {
        history.push(PastCheck {
            at: now - std::time::Duration::from_secs(30 * (100 - i)),
            triggered: ActionKind::ALL.to_vec(),
            desired_workers: Some(2),
        });
    }
    assert_eq!(history.len(), 100);
    history.observed =
        Observed { workers: Some(8), idle_connections: Some(400), ..Observed::default() };

    let mut snapshot = MetricsSnapshot::empty(now);
    snapshot.cache_hit_rate = Some(0.4);
    snapshot.memory_usage = Some(0.92);
    snapshot.active_connections = Some(700.0);
    snapshot.queue_length = Some(12.0);
    snapshot.db_query_p95 = Some(1800.0);

    assert_eq!(evaluate(&snapshot, &history, &config, now).len(), 5);
    let mut group = c.benchmark_group("optimizer_evaluate");
    group.bench_function("snapshot_with_100_check_history", |b| {
        b.iter(|| evaluate(black_box(&snapshot), black_box(&history), &config, now));
    });
    group.finish();
}

criterion_group!(benches, bench_evaluate);
criterion_main!(benches);
