//! The optimizer scaling a real worker pool under a real backlog, through `QueueControl`.
//! Here, in the facade, because it is where the optimizer and the host toolkit meet: neither
//! depends on the other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use perfkit_core::{Clock, ManualClock, MetricsSnapshot, Timestamp};
use perfkit_host::{WorkerPool, WorkerPoolConfig};
use perfkit_optimizer::{Controls, Optimizer, OptimizerConfig};
use tokio::sync::Semaphore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_optimizer_scales_the_pool_up_and_down_and_every_job_runs_once() {
    const JOBS: usize = 300;
    let pool =
        WorkerPool::new(WorkerPoolConfig { queue_capacity: 1000, workers: 1, max_workers: 64 })
            .unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000)));
    let mut config = OptimizerConfig::default();
    config.guardrails.stabilization_checks = 1;
    config.cooldowns.scale_workers = std::time::Duration::ZERO;
    config.queue_scaling.max_workers = 16;
    let controls = Controls { queue: Some(Arc::new(pool.clone())), ..Controls::default() };
    let optimizer = Optimizer::new(config, controls, clock.clone()).unwrap();

    let gate = Arc::new(Semaphore::new(0));
    let runs: Arc<Vec<AtomicU32>> = Arc::new((0..JOBS).map(|_| AtomicU32::new(0)).collect());
    for i in 0..JOBS {
        let (gate, runs) = (gate.clone(), runs.clone());
        pool.submit(async move {
            gate.acquire().await.unwrap().forget();
            runs[i].fetch_add(1, Ordering::SeqCst);
        })
        .await
        .unwrap();
    }
    let snapshot = |queued: usize| {
        let mut s = MetricsSnapshot::empty(clock.now());
        s.queue_length = Some(queued as f64);
        s
    };

    // A backlog of ~300 at 10 per worker: up by max(100 %, 4) a run, capped at 16.
    let mut sizes = Vec::new();
    for _ in 0..4 {
        optimizer.run(&snapshot(pool.queued())).await;
        sizes.push(pool.workers());
    }
    assert_eq!(sizes, [5, 10, 16, 16]);

    gate.add_permits(JOBS);
    while pool.stats().completed < JOBS as u64 {
        tokio::task::yield_now().await;
    }
    // An empty queue: down by half a run, to the minimum of one.
    let mut sizes = Vec::new();
    for _ in 0..5 {
        optimizer.run(&snapshot(pool.queued())).await;
        sizes.push(pool.workers());
    }
    assert_eq!(sizes, [8, 4, 2, 1, 1]);

    pool.shutdown().await;
    assert!(runs.iter().all(|n| n.load(Ordering::SeqCst) == 1));
}
