//! The optimizer end to end over mocks of the control traits, on a manual clock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use mockall::predicate::eq;
use perfkit_core::{Clock, ManualClock, MetricsSnapshot, Timestamp};

use perfkit_control::{
    CacheFigures, ConnectionCounts, ControlError, ControlKind, Controls, MemoryUsage,
    MockCacheControl, MockConnectionControl, MockMemoryControl, MockPoolControl, MockQueueControl,
    PoolFigures, QueueControl,
};

use crate::{
    ActionKind, ActionOutcome, Optimizer, OptimizerConfig, OptimizerError, RunRecord, SkipReason,
    Verdict,
};

const START: i64 = 1_700_000_000_000;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::from_unix_millis(START)))
}

/// A snapshot in which every rule fires.
fn troubled(now: Timestamp) -> MetricsSnapshot {
    let mut s = MetricsSnapshot::empty(now);
    s.cache_hit_rate = Some(0.4);
    s.memory_usage = Some(0.9);
    s.active_connections = Some(800.0);
    s.queue_length = Some(200.0);
    s.db_query_p95 = Some(2000.0);
    s.db_pool_in_use = Some(10.0);
    s.db_pool_waiters = Some(4.0);
    s.db_pool_acquire_p95 = Some(300.0);
    s.db_replica_lag = Some(30_000.0);
    s
}

fn pool_figures(resizable: bool) -> PoolFigures {
    PoolFigures { size: 10, max: 10, idle: 0, resizable }
}

fn queue_snapshot(now: Timestamp, queue: f64) -> MetricsSnapshot {
    let mut s = MetricsSnapshot::empty(now);
    s.queue_length = Some(queue);
    s
}

fn skip_reason(run: &RunRecord, action: ActionKind) -> Option<SkipReason> {
    match &run.action(action)?.outcome {
        ActionOutcome::Skipped { reason, .. } => Some(*reason),
        _ => None,
    }
}

fn is_taken(run: &RunRecord, action: ActionKind) -> bool {
    matches!(run.action(action).map(|a| &a.outcome), Some(ActionOutcome::Taken { .. }))
}

/// Mocks whose reads answer and whose effects must never be called.
fn read_only_controls() -> Controls {
    let mut cache = MockCacheControl::new();
    cache.expect_prefixes().returning(Vec::new);
    cache.expect_stats().returning(|| Ok(CacheFigures::default()));
    cache.expect_optimize().times(0);
    cache.expect_evict_prefix().times(0);
    let mut connections = MockConnectionControl::new();
    connections.expect_counts().returning(|_| Ok(ConnectionCounts { open: 800, idle: 600 }));
    connections.expect_close_idle().times(0);
    let mut memory = MockMemoryControl::new();
    memory.expect_usage().returning(|| Ok(MemoryUsage::default()));
    memory.expect_release().times(0);
    let mut queue = MockQueueControl::new();
    queue.expect_workers().returning(|| Ok(4));
    queue.expect_length().returning(|| Ok(200));
    queue.expect_scale_to().times(0);
    let mut pool = MockPoolControl::new();
    pool.expect_figures().returning(|| Ok(pool_figures(true)));
    pool.expect_resize().times(0);
    pool.expect_rotate_out_lagging().times(0);
    Controls {
        cache: Some(Arc::new(cache)),
        connections: Some(Arc::new(connections)),
        memory: Some(Arc::new(memory)),
        queue: Some(Arc::new(queue)),
        pool: Some(Arc::new(pool)),
        statements: None,
    }
}

#[tokio::test]
async fn a_resizable_pool_is_resized_and_a_fixed_one_gets_the_size_in_a_report() {
    for resizable in [true, false] {
        let clock = clock();
        let mut config = OptimizerConfig::default();
        config.guardrails.stabilization_checks = 1;
        let mut pool = MockPoolControl::new();
        pool.expect_figures().returning(move || Ok(pool_figures(resizable)));
        // Demand of 14 at 70 % asks for 20 connections; 10 -> 20 is inside the step clamp.
        pool.expect_resize().with(eq(20)).times(usize::from(resizable)).returning(Ok);
        pool.expect_rotate_out_lagging().returning(|_| Ok(1));
        let controls = Controls { pool: Some(Arc::new(pool)), ..Controls::default() };
        let optimizer = Optimizer::new(config, controls, clock.clone()).unwrap();
        let run = optimizer.run(&troubled(clock.now())).await;
        let Some(ActionOutcome::Taken { result }) =
            run.action(ActionKind::ResizeDatabasePool).map(|a| a.outcome.clone())
        else {
            panic!("not taken: {run:#?}");
        };
        assert_eq!(result.after.get("maxConnections"), Some(if resizable { 20.0 } else { 10.0 }));
        assert_eq!(result.summary.starts_with("reported"), !resizable, "{}", result.summary);
    }
}

#[tokio::test]
async fn dry_run_performs_no_effect_and_records_every_decision() {
    let clock = clock();
    let mut config = OptimizerConfig::default();
    config.mode.dry_run = true;
    config.guardrails.stabilization_checks = 1;
    let optimizer = Optimizer::new(config, read_only_controls(), clock.clone()).unwrap();

    for run in [
        optimizer.check(&troubled(clock.now())).await,
        optimizer.run(&troubled(clock.now())).await,
        optimizer.force(&troubled(clock.now())).await,
    ] {
        assert!(run.mode.dry_run);
        assert_eq!(run.recommendations.len(), ActionKind::ALL.len(), "{run:#?}");
        for action in ActionKind::ALL {
            assert_eq!(skip_reason(&run, action), Some(SkipReason::DryRun), "{action}");
        }
        assert!(run.errors.is_empty(), "{:?}", run.errors);
    }
    assert_eq!(optimizer.history(10).len(), 3);
    // The mocks' `times(0)` expectations are checked when they drop with the optimizer.
    drop(optimizer);
}

#[tokio::test]
async fn actions_call_their_controls_with_the_right_arguments() {
    let clock = clock();
    let mut config = OptimizerConfig::default();
    config.guardrails.stabilization_checks = 1;
    config.cache_optimization.evict_prefixes = vec!["session:".into()];
    config.connection_optimization.idle_timeout = Duration::from_secs(60);
    config.queue_scaling.max_workers = 32;

    let mut cache = MockCacheControl::new();
    cache.expect_prefixes().returning(Vec::new);
    let mut stats = [
        CacheFigures { hit_rate: Some(0.4), keys: 1000, bytes: 50_000 },
        CacheFigures { hit_rate: Some(0.4), keys: 600, bytes: 20_000 },
    ]
    .into_iter();
    cache.expect_stats().times(2).returning(move || Ok(stats.next().unwrap()));
    cache.expect_optimize().times(1).returning(|| Ok(()));
    cache.expect_evict_prefix().with(eq("session:")).times(1).returning(|_| Ok(300));

    let mut connections = MockConnectionControl::new();
    let idle_after = Duration::from_secs(60);
    let mut counts = [(800, 600), (800, 600), (200, 0)].into_iter();
    connections.expect_counts().with(eq(idle_after)).times(3).returning(move |_| {
        let (open, idle) = counts.next().unwrap();
        Ok(ConnectionCounts { open, idle })
    });
    connections.expect_close_idle().with(eq(idle_after)).times(1).returning(|_| Ok(600));

    let mut memory = MockMemoryControl::new();
    let mut usage = [900, 700].into_iter();
    memory
        .expect_usage()
        .times(2)
        .returning(move || Ok(MemoryUsage { used_bytes: usage.next().unwrap(), usage: None }));
    memory.expect_release().times(1).returning(|| Ok(()));

    let mut queue = MockQueueControl::new();
    queue.expect_workers().times(1).returning(|| Ok(4));
    // 200 jobs at 10 per worker ask for 20; one run may only go from 4 to 8.
    queue.expect_scale_to().with(eq(8)).times(1).returning(Ok);

    let mut pool = MockPoolControl::new();
    pool.expect_figures().returning(|| Ok(pool_figures(true)));
    pool.expect_resize().with(eq(20)).times(1).returning(Ok);
    pool.expect_rotate_out_lagging()
        .with(eq(Duration::from_secs(10)))
        .times(1)
        .returning(|_| Ok(1));
    let controls = Controls {
        cache: Some(Arc::new(cache)),
        connections: Some(Arc::new(connections)),
        memory: Some(Arc::new(memory)),
        queue: Some(Arc::new(queue)),
        pool: Some(Arc::new(pool)),
        statements: None,
    };
    let optimizer = Optimizer::new(config, controls, clock.clone()).unwrap();
    let run = optimizer.run(&troubled(clock.now())).await;

    assert!(run.errors.is_empty(), "{:?}", run.errors);
    for action in ActionKind::ALL {
        assert!(is_taken(&run, action), "{action}: {:?}", run.action(action));
    }
    let result = |action| match &run.action(action).unwrap().outcome {
        ActionOutcome::Taken { result } => result.clone(),
        other => panic!("{other:?}"),
    };
    let cache = result(ActionKind::OptimizeCache);
    assert_eq!((cache.before.get("keys"), cache.after.get("keys")), (Some(1000.0), Some(600.0)));
    assert_eq!(cache.after.get("evictedKeys"), Some(300.0));
    let closed = result(ActionKind::CloseIdleConnections);
    assert_eq!((closed.before.get("open"), closed.after.get("open")), (Some(800.0), Some(200.0)));
    assert_eq!(result(ActionKind::ReleaseMemory).after.get("freedBytes"), Some(200.0));
    let scaled = result(ActionKind::ScaleWorkers);
    assert_eq!((scaled.before.get("workers"), scaled.after.get("workers")), (Some(4.0), Some(8.0)));
    let slow = result(ActionKind::ReportSlowQueries);
    assert!(slow.summary.contains("2000 ms"), "{}", slow.summary);
    let rotated = result(ActionKind::RotateOutLaggingReplicas);
    assert_eq!(rotated.after.get("replicasOutOfRotation"), Some(1.0));
    assert_eq!(rotated.before.get("dbReplicaLag"), Some(30_000.0));
}

#[tokio::test]
async fn a_failing_control_is_recorded_and_other_actions_go_on() {
    let clock = clock();
    let mut config = OptimizerConfig::default();
    config.guardrails.stabilization_checks = 1;
    let mut memory = MockMemoryControl::new();
    memory
        .expect_usage()
        .returning(|| Err(ControlError::failed(ControlKind::Memory, "probe down")));
    memory.expect_release().times(0);
    let controls = Controls { memory: Some(Arc::new(memory)), ..Controls::default() };
    let optimizer = Optimizer::new(config, controls, clock.clone()).unwrap();
    let run = optimizer.run(&troubled(clock.now())).await;
    assert!(matches!(
        run.action(ActionKind::ReleaseMemory).unwrap().outcome,
        ActionOutcome::Failed { .. }
    ));
    assert_eq!(skip_reason(&run, ActionKind::OptimizeCache), Some(SkipReason::NoControl));
    assert!(is_taken(&run, ActionKind::ReportSlowQueries));
    assert_eq!(run.errors, ["releaseMemory: memory control failed: probe down"]);
}

fn memory_only(releases: usize) -> Controls {
    let mut memory = MockMemoryControl::new();
    memory.expect_usage().returning(|| Ok(MemoryUsage { used_bytes: 1, usage: Some(0.9) }));
    memory.expect_release().times(releases).returning(|| Ok(()));
    Controls { memory: Some(Arc::new(memory)), ..Controls::default() }
}

fn high_memory(now: Timestamp) -> MetricsSnapshot {
    let mut s = MetricsSnapshot::empty(now);
    s.memory_usage = Some(0.9);
    s
}

#[tokio::test]
async fn no_action_before_the_stabilization_window() {
    let clock = clock();
    let config = OptimizerConfig::default(); // three consecutive checks
    let optimizer = Optimizer::new(config, memory_only(1), clock.clone()).unwrap();
    for expected_held in 1..=2 {
        let run = optimizer.check(&high_memory(clock.now())).await;
        assert_eq!(skip_reason(&run, ActionKind::ReleaseMemory), Some(SkipReason::Stabilizing));
        let rec = &run.recommendations[1];
        assert_eq!((rec.action, rec.held_for_checks), (ActionKind::ReleaseMemory, expected_held));
        clock.advance(Duration::from_secs(30));
    }
    // A check without data breaks the streak: it starts over.
    let run = optimizer.check(&MetricsSnapshot::empty(clock.now())).await;
    assert!(run.recommendations.is_empty());
    for _ in 0..2 {
        clock.advance(Duration::from_secs(30));
        let run = optimizer.check(&high_memory(clock.now())).await;
        assert_eq!(skip_reason(&run, ActionKind::ReleaseMemory), Some(SkipReason::Stabilizing));
    }
    clock.advance(Duration::from_secs(30));
    let run = optimizer.check(&high_memory(clock.now())).await;
    assert!(is_taken(&run, ActionKind::ReleaseMemory), "{run:#?}");
}

#[tokio::test]
async fn cooldown_is_respected_and_force_overrides_it() {
    let clock = clock();
    let mut config = OptimizerConfig::default();
    config.guardrails.stabilization_checks = 1;
    config.cooldowns.release_memory = Duration::from_secs(600);
    let optimizer = Optimizer::new(config, memory_only(3), clock.clone()).unwrap();

    assert!(is_taken(&optimizer.run(&high_memory(clock.now())).await, ActionKind::ReleaseMemory));
    clock.advance(Duration::from_secs(300));
    let run = optimizer.run(&high_memory(clock.now())).await;
    assert_eq!(skip_reason(&run, ActionKind::ReleaseMemory), Some(SkipReason::Cooldown));
    assert!(is_taken(&optimizer.force(&high_memory(clock.now())).await, ActionKind::ReleaseMemory));
    clock.advance(Duration::from_secs(600));
    assert!(is_taken(&optimizer.run(&high_memory(clock.now())).await, ActionKind::ReleaseMemory));
}

#[tokio::test]
async fn auto_off_decides_but_does_not_act_and_stale_snapshots_count_as_missing() {
    let clock = clock();
    let mut config = OptimizerConfig::default();
    config.guardrails.stabilization_checks = 1;
    let optimizer = Optimizer::new(config, memory_only(1), clock.clone()).unwrap();
    optimizer.set_auto(false);
    let run = optimizer.check(&high_memory(clock.now())).await;
    assert_eq!(skip_reason(&run, ActionKind::ReleaseMemory), Some(SkipReason::AutoOff));

    let stale = high_memory(clock.now());
    clock.advance(Duration::from_secs(600));
    assert!(optimizer.run(&stale).await.recommendations.is_empty());
    assert!(is_taken(&optimizer.run(&high_memory(clock.now())).await, ActionKind::ReleaseMemory));
}

#[tokio::test]
async fn an_invalid_config_update_leaves_the_old_one_and_lists_every_problem() {
    let optimizer =
        Optimizer::new(OptimizerConfig::default(), Controls::default(), clock()).unwrap();
    let mut good = OptimizerConfig::default();
    good.queue_scaling.max_workers = 4;
    optimizer.update_config(good.clone()).unwrap();

    let mut bad = good.clone();
    bad.queue_scaling.max_workers = 64; // valid on its own: must not be applied either
    bad.queue_scaling.min_workers = 100;
    bad.memory_optimization.gc_threshold = 7.0;
    bad.guardrails.history_capacity = 0;
    let Err(OptimizerError::InvalidConfig(problems)) = optimizer.update_config(bad) else {
        panic!("an invalid config was accepted");
    };
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert_eq!(optimizer.config(), good);
    assert!(
        Optimizer::new(
            OptimizerConfig { ..OptimizerConfig::default() },
            Controls::default(),
            clock()
        )
        .is_ok()
    );
}

/// A queue control that remembers its worker count and every call to `scale_to`.
#[derive(Debug, Default)]
struct FakeQueue {
    workers: AtomicU32,
    scaled_to: Mutex<Vec<u32>>,
}

#[async_trait]
impl QueueControl for FakeQueue {
    async fn length(&self) -> Result<u64, ControlError> {
        Ok(0)
    }
    async fn workers(&self) -> Result<u32, ControlError> {
        Ok(self.workers.load(Ordering::SeqCst))
    }
    async fn scale_to(&self, workers: u32) -> Result<u32, ControlError> {
        self.workers.store(workers, Ordering::SeqCst);
        self.scaled_to.lock().unwrap().push(workers);
        Ok(workers)
    }
}

fn queue_optimizer(
    config: OptimizerConfig,
    workers: u32,
) -> (Optimizer, Arc<FakeQueue>, Arc<ManualClock>) {
    let clock = clock();
    let queue = Arc::new(FakeQueue { workers: AtomicU32::new(workers), ..FakeQueue::default() });
    let controls = Controls { queue: Some(queue.clone()), ..Controls::default() };
    (Optimizer::new(config, controls, clock.clone()).unwrap(), queue, clock)
}

#[tokio::test]
async fn scaling_is_step_clamped_and_kept_inside_min_max() {
    let mut config = OptimizerConfig::default();
    config.queue_scaling.min_workers = 2;
    config.queue_scaling.max_workers = 10;
    config.cooldowns.scale_workers = Duration::ZERO;
    config.guardrails.stabilization_checks = 1;
    let (optimizer, queue, clock) = queue_optimizer(config, 2);
    for _ in 0..4 {
        optimizer.run(&queue_snapshot(clock.now(), 10_000.0)).await;
        clock.advance(Duration::from_secs(60));
    }
    // +4 (max(100 %, 4)), +6 would be 12: capped at 10, then nothing more to do.
    assert_eq!(*queue.scaled_to.lock().unwrap(), [6, 10]);
    for _ in 0..4 {
        optimizer.run(&queue_snapshot(clock.now(), 0.0)).await;
        clock.advance(Duration::from_secs(60));
    }
    // Down by at most half a run, never below 2.
    assert_eq!(*queue.scaled_to.lock().unwrap(), [6, 10, 5, 3, 2]);
}

#[tokio::test]
async fn a_scaling_that_made_the_queue_worse_is_undone_with_a_doubled_cooldown() {
    let mut config = OptimizerConfig::default();
    config.queue_scaling.max_workers = 32;
    config.cooldowns.scale_workers = Duration::from_secs(180);
    let (optimizer, queue, clock) = queue_optimizer(config, 4);

    optimizer.check(&queue_snapshot(clock.now(), 80.0)).await; // 4 -> 8 at once
    assert_eq!(*queue.scaled_to.lock().unwrap(), [8]);
    clock.advance(Duration::from_secs(60));
    // Twice the workers and the queue grew from 80 to 200: contention, not help.
    let run = optimizer.check(&queue_snapshot(clock.now(), 200.0)).await;
    let verification = &run.verifications[0];
    assert_eq!(verification.verdict, Verdict::Worse);
    assert!(matches!(verification.undo.as_ref().unwrap().outcome, ActionOutcome::Taken { .. }));
    assert_eq!(*queue.scaled_to.lock().unwrap(), [8, 4]);
    assert_eq!(skip_reason(&run, ActionKind::ScaleWorkers), Some(SkipReason::Cooldown));

    // The configured cooldown is 3 min; after the undo it is 6.
    clock.advance(Duration::from_secs(200));
    let run = optimizer.check(&queue_snapshot(clock.now(), 200.0)).await;
    assert_eq!(skip_reason(&run, ActionKind::ScaleWorkers), Some(SkipReason::Cooldown));
    clock.advance(Duration::from_secs(160));
    let run = optimizer.check(&queue_snapshot(clock.now(), 200.0)).await;
    assert!(is_taken(&run, ActionKind::ScaleWorkers), "{run:#?}");
}

#[tokio::test]
async fn repeated_flip_flops_trip_the_kill_switch() {
    let mut config = OptimizerConfig::default();
    config.queue_scaling.max_workers = 32;
    config.cooldowns.scale_workers = Duration::ZERO;
    config.guardrails.stabilization_checks = 1;
    config.guardrails.max_flip_flops = 3;
    let (optimizer, queue, clock) = queue_optimizer(config, 4);

    let mut tripped_at = None;
    for (i, load) in [80.0, 8.0, 80.0, 8.0, 80.0, 8.0, 80.0, 8.0].into_iter().enumerate() {
        let run = optimizer.check(&queue_snapshot(clock.now(), load)).await;
        if tripped_at.is_none() && !run.notes.is_empty() {
            tripped_at = Some(i);
        }
        clock.advance(Duration::from_secs(60));
    }
    let trip = optimizer.kill_switch().expect("the kill switch should have tripped");
    assert!(trip.reason.contains("3 times"), "{}", trip.reason);
    let moves = queue.scaled_to.lock().unwrap().len();
    assert!(moves <= 5, "{moves} moves: {:?}", queue.scaled_to.lock().unwrap());

    // Stopped: a check that wants to scale is skipped, a forced run still may.
    let run = optimizer.check(&queue_snapshot(clock.now(), 300.0)).await;
    assert_eq!(skip_reason(&run, ActionKind::ScaleWorkers), Some(SkipReason::KillSwitch));
    optimizer.reset_kill_switch();
    let run = optimizer.check(&queue_snapshot(clock.now(), 300.0)).await;
    assert!(is_taken(&run, ActionKind::ScaleWorkers));
}

#[tokio::test]
async fn an_hour_of_a_queue_oscillating_around_its_target_barely_moves_the_workers() {
    let mut config = OptimizerConfig::default(); // defaults: the settings left on in production
    config.queue_scaling.min_workers = 2;
    config.queue_scaling.max_workers = 8;
    let (optimizer, queue, clock) = queue_optimizer(config, 4);

    // A deterministic noise of +-30 % around 4 workers' worth of jobs, checked every 30 s.
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut noise = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as f64 / f64::from(u32::MAX >> 1)) * 2.0 - 1.0
    };
    let mut seen = Vec::new();
    for i in 0..120 {
        let wave = (f64::from(i) / 6.0).sin() * 0.15;
        let queue_len = 40.0 * (1.0 + wave + 0.15 * noise());
        optimizer.check(&queue_snapshot(clock.now(), queue_len)).await;
        seen.push(queue.workers.load(Ordering::SeqCst));
        clock.advance(Duration::from_secs(30));
    }
    let changes = seen.windows(2).filter(|w| w[0] != w[1]).count() + usize::from(seen[0] != 4);
    assert!(changes <= 5, "{changes} changes: {seen:?}");
    assert!(seen.iter().all(|w| (2..=8).contains(w)), "{seen:?}");
    assert_eq!(optimizer.history(1000).len(), 120);
}

#[tokio::test]
async fn a_manual_run_acts_on_a_trigger_that_fires_now_and_a_scheduled_check_waits() {
    let clock = clock();
    let config = OptimizerConfig::default(); // three consecutive checks for automatic runs
    let optimizer = Optimizer::new(config, memory_only(1), clock.clone()).unwrap();
    let run = optimizer.check(&high_memory(clock.now())).await;
    assert_eq!(skip_reason(&run, ActionKind::ReleaseMemory), Some(SkipReason::Stabilizing));
    clock.advance(Duration::from_secs(30));
    let run = optimizer.run(&high_memory(clock.now())).await;
    assert!(is_taken(&run, ActionKind::ReleaseMemory), "{run:#?}");
    // The cooldown still holds for the next manual run.
    clock.advance(Duration::from_secs(30));
    let run = optimizer.run(&high_memory(clock.now())).await;
    assert_eq!(skip_reason(&run, ActionKind::ReleaseMemory), Some(SkipReason::Cooldown));
}

#[tokio::test]
async fn a_manual_run_scales_down_without_the_window_but_inside_the_bounds() {
    let mut config = OptimizerConfig::default();
    config.queue_scaling.min_workers = 2;
    config.cooldowns.scale_workers = Duration::ZERO;
    let (optimizer, queue, clock) = queue_optimizer(config, 8);
    // A scheduled check keeps the highest count of its window: nothing moves yet.
    optimizer.check(&queue_snapshot(clock.now(), 0.0)).await;
    assert!(queue.scaled_to.lock().unwrap().is_empty());
    clock.advance(Duration::from_secs(60));
    // A manual run goes straight down, by at most half, never below min.
    let run = optimizer.run(&queue_snapshot(clock.now(), 0.0)).await;
    assert!(is_taken(&run, ActionKind::ScaleWorkers), "{run:#?}");
    assert_eq!(*queue.scaled_to.lock().unwrap(), [4]);
    let scale = run.recommendations[0].scale.unwrap();
    assert_eq!((scale.current, scale.desired, scale.target), (8, 2, 4));
}

#[tokio::test]
async fn a_manual_run_stops_at_the_kill_switch() {
    let mut config = OptimizerConfig::default();
    config.queue_scaling.max_workers = 64;
    config.cooldowns.scale_workers = Duration::ZERO;
    config.guardrails.max_flip_flops = 2;
    let (optimizer, queue, clock) = queue_optimizer(config, 4);
    for queue_length in [400.0, 0.0, 400.0] {
        optimizer.run(&queue_snapshot(clock.now(), queue_length)).await;
        clock.advance(Duration::from_secs(60));
    }
    assert!(optimizer.kill_switch().is_some(), "{:?}", queue.scaled_to.lock().unwrap());
    let run = optimizer.run(&queue_snapshot(clock.now(), 0.0)).await;
    assert_eq!(skip_reason(&run, ActionKind::ScaleWorkers), Some(SkipReason::KillSwitch));
    optimizer.reset_kill_switch();
    let run = optimizer.run(&queue_snapshot(clock.now(), 0.0)).await;
    assert!(is_taken(&run, ActionKind::ScaleWorkers), "{run:#?}");
}
