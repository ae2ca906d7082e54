//! The worker pool against real tokio tasks: exactly-once through resizes, bounds, back-pressure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use perfkit::PerfkitError;
use perfkit::jobs::{WorkerPool, WorkerPoolConfig};
use perfkit::optimizer::QueueControl;
use tokio::sync::{Notify, oneshot};

fn config(workers: u32, capacity: usize) -> WorkerPoolConfig {
    WorkerPoolConfig { queue_capacity: capacity, workers, max_workers: 16 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_job_runs_exactly_once_through_repeated_resizes() {
    const JOBS: usize = 5_000;
    let pool = WorkerPool::new(config(2, 64));
    let runs: Arc<Vec<AtomicU32>> = Arc::new((0..JOBS).map(|_| AtomicU32::new(0)).collect());

    let resizer = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let sizes = [1, 8, 2, 16, 1, 5, 3, 12, 1, 7];
            let mut seen = Vec::new();
            for round in 0..400 {
                let size = sizes[round % sizes.len()];
                assert_eq!(pool.scale_to(size), size);
                seen.push(pool.workers());
                for _ in 0..5 {
                    tokio::task::yield_now().await;
                }
            }
            seen
        })
    };

    for i in 0..JOBS {
        let runs = runs.clone();
        // Real work: a few yields (so jobs interleave with resizes) and some arithmetic.
        pool.submit(async move {
            let mut acc = i as u64;
            for step in 0..3 {
                acc = acc.wrapping_mul(31).wrapping_add(step);
                tokio::task::yield_now().await;
            }
            std::hint::black_box(acc);
            runs[i].fetch_add(1, Ordering::SeqCst);
        })
        .await
        .unwrap();
    }
    let seen = resizer.await.unwrap();
    assert!(seen.iter().all(|w| (1..=16).contains(w)));
    pool.shutdown().await;

    let wrong: Vec<_> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, n)| (n.load(Ordering::SeqCst) != 1).then_some(i))
        .collect();
    assert!(wrong.is_empty(), "jobs not run exactly once: {:?}", &wrong[..wrong.len().min(10)]);
    assert_eq!(pool.stats().completed, JOBS as u64);
}

#[tokio::test]
async fn workers_stay_between_one_and_max() {
    let pool = WorkerPool::new(config(3, 8));
    assert_eq!(pool.workers(), 3);
    assert_eq!(pool.scale_to(0), 1);
    assert_eq!(pool.scale_to(1000), 16);
    assert_eq!(QueueControl::scale_to(&pool, 4).await.unwrap(), 4);
    assert_eq!(QueueControl::workers(&pool).await.unwrap(), 4);
    pool.shutdown().await;
}

/// A job that reports it started and then waits for the test's go.
async fn gated(started: oneshot::Sender<()>, go: Arc<Notify>) {
    let _ = started.send(());
    go.notified().await;
}

#[tokio::test]
async fn a_full_queue_refuses_and_its_length_is_reported() {
    let pool = WorkerPool::new(config(1, 2));
    let go = Arc::new(Notify::new());
    let (started, running) = oneshot::channel();
    pool.submit(gated(started, go.clone())).await.unwrap();
    running.await.unwrap(); // the only worker is busy

    let done = Arc::new(AtomicU32::new(0));
    for _ in 0..2 {
        let done = done.clone();
        pool.try_submit(async move {
            done.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    assert_eq!(QueueControl::length(&pool).await.unwrap(), 2);
    assert!(matches!(pool.try_submit(async {}), Err(PerfkitError::QueueFull { capacity: 2 })));

    go.notify_one();
    pool.shutdown().await;
    assert_eq!(done.load(Ordering::SeqCst), 2);
    assert_eq!(pool.queued(), 0);
    assert!(matches!(pool.submit(async {}).await, Err(PerfkitError::PoolClosed)));
}

#[tokio::test]
async fn a_retired_worker_finishes_its_job_and_a_panic_spares_the_worker() {
    let pool = WorkerPool::new(config(2, 8));
    let go = Arc::new(Notify::new());
    let (started, running) = oneshot::channel();
    let finished = Arc::new(AtomicU32::new(0));
    {
        let finished = finished.clone();
        let go = go.clone();
        pool.submit(async move {
            gated(started, go).await;
            finished.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .unwrap();
    }
    running.await.unwrap();
    assert_eq!(pool.scale_to(1), 1); // perhaps the busy worker is the one retired
    pool.submit(async { panic!("a job fails") }).await.unwrap();
    pool.submit(async {}).await.unwrap();
    go.notify_one();
    pool.shutdown().await;
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    let stats = pool.stats();
    assert_eq!((stats.completed, stats.panicked), (3, 1));
}
