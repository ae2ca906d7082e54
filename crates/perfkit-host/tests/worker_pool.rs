//! The worker pool against real tokio tasks: exactly-once through resizes, bounds, back-pressure,
//! shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use perfkit_control::{ControlError, ControlKind, QueueControl};
use perfkit_host::{HostError, WorkerPool, WorkerPoolConfig};
use tokio::sync::{Notify, Semaphore, oneshot};

fn config(workers: u32, capacity: usize) -> WorkerPoolConfig {
    WorkerPoolConfig { queue_capacity: capacity, workers, max_workers: 16 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_job_runs_exactly_once_through_repeated_resizes() {
    const JOBS: usize = 5_000;
    let pool = WorkerPool::new(config(2, 64)).unwrap();
    let runs: Arc<Vec<AtomicU32>> = Arc::new((0..JOBS).map(|_| AtomicU32::new(0)).collect());

    let resizer = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let sizes = [1, 8, 2, 16, 1, 5, 3, 12, 1, 7];
            let mut seen = Vec::new();
            for round in 0..400 {
                let size = sizes[round % sizes.len()];
                assert_eq!(pool.scale_to(size).unwrap(), size);
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
    let pool = WorkerPool::new(config(3, 8)).unwrap();
    assert_eq!(pool.workers(), 3);
    assert_eq!(pool.scale_to(0).unwrap(), 1);
    assert_eq!(pool.scale_to(1000).unwrap(), 16);
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
    let pool = WorkerPool::new(config(1, 2)).unwrap();
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
    assert!(matches!(pool.try_submit(async {}), Err(HostError::QueueFull { capacity: 2 })));

    go.notify_one();
    pool.shutdown().await;
    assert_eq!(done.load(Ordering::SeqCst), 2);
    assert_eq!(pool.queued(), 0);
    assert!(matches!(pool.submit(async {}).await, Err(HostError::PoolClosed)));
}

#[tokio::test]
async fn a_retired_worker_finishes_its_job_and_a_panic_spares_the_worker() {
    let pool = WorkerPool::new(config(2, 8)).unwrap();
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
    assert_eq!(pool.scale_to(1).unwrap(), 1); // perhaps the busy worker is the one retired
    pool.submit(async { panic!("a job fails") }).await.unwrap();
    pool.submit(async {}).await.unwrap();
    go.notify_one();
    pool.shutdown().await;
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    let stats = pool.stats();
    assert_eq!((stats.completed, stats.panicked), (3, 1));
}

/// Lets every task that can run, run: on paused time the clock only jumps once all are idle.
async fn settle() {
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_scale_up_takes_back_busy_retired_workers_so_tasks_never_exceed_the_maximum() {
    let pool = WorkerPool::new(WorkerPoolConfig { queue_capacity: 16, workers: 4, max_workers: 4 })
        .unwrap();
    let go = Arc::new(Semaphore::new(0));
    let running = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let job = || {
        let (go, running, peak) = (go.clone(), running.clone(), peak.clone());
        async move {
            peak.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            go.acquire().await.unwrap().forget();
            running.fetch_sub(1, Ordering::SeqCst);
        }
    };
    for _ in 0..4 {
        pool.submit(job()).await.unwrap();
    }
    settle().await;
    assert_eq!(running.load(Ordering::SeqCst), 4);

    // Three busy workers retire, and are taken back by the scale-up: none is started.
    assert_eq!(pool.scale_to(1).unwrap(), 1);
    assert_eq!(pool.scale_to(4).unwrap(), 4);
    for _ in 0..4 {
        pool.submit(job()).await.unwrap();
    }
    settle().await;
    assert_eq!(running.load(Ordering::SeqCst), 4, "a fifth task took a job");
    assert_eq!(pool.queued(), 4);

    go.add_permits(8);
    pool.shutdown().await;
    assert_eq!(peak.load(Ordering::SeqCst), 4);
    assert_eq!(pool.stats().completed, 8);
}

#[tokio::test(start_paused = true)]
async fn a_scale_down_of_idle_workers_keeps_serving_the_queue() {
    let pool = WorkerPool::new(config(8, 8)).unwrap();
    assert_eq!(pool.scale_to(1).unwrap(), 1);
    settle().await; // the seven retired workers leave
    let done = Arc::new(AtomicU32::new(0));
    for _ in 0..20 {
        let done = done.clone();
        pool.submit(async move {
            done.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .unwrap();
    }
    settle().await;
    assert_eq!(done.load(Ordering::SeqCst), 20);
    assert_eq!(pool.scale_to(3).unwrap(), 3);
    pool.shutdown().await;
}

#[tokio::test]
async fn a_shut_down_pool_refuses_to_scale_and_the_optimizer_hears_why() {
    let pool = WorkerPool::new(config(2, 8)).unwrap();
    pool.shutdown().await;
    assert_eq!(pool.scale_to(4), Err(HostError::PoolClosed));
    assert_eq!(pool.workers(), 0);
    let error = QueueControl::scale_to(&pool, 4).await.unwrap_err();
    assert!(
        matches!(&error, ControlError::Failed { control: ControlKind::Queue, message }
            if message.contains("shut down")),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_handle_still_runs_what_was_queued() {
    let pool = WorkerPool::new(config(1, 8)).unwrap();
    let go = Arc::new(Notify::new());
    let (started, running) = oneshot::channel();
    pool.submit(gated(started, go.clone())).await.unwrap();
    running.await.unwrap();
    let done = Arc::new(AtomicU32::new(0));
    for _ in 0..3 {
        let done = done.clone();
        pool.try_submit(async move {
            done.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    drop(pool);
    go.notify_one();
    settle().await;
    assert_eq!(done.load(Ordering::SeqCst), 3);
}

#[test]
fn needs_a_tokio_runtime_and_a_valid_config() {
    assert_eq!(WorkerPool::new(WorkerPoolConfig::default()).unwrap_err(), HostError::NoRuntime);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let _guard = runtime.enter();
    let unbounded = WorkerPoolConfig { queue_capacity: usize::MAX, ..WorkerPoolConfig::default() };
    assert!(matches!(WorkerPool::new(unbounded), Err(HostError::InvalidPoolConfig(_))));
}
