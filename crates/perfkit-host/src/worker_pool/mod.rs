//! A small tokio worker pool for the host's background jobs, scalable by the optimizer.
//!
//! Jobs wait in one bounded queue; each worker takes the next job and runs it to completion.
//! The number of workers changes while jobs run: a new worker starts taking jobs at once, and
//! a retired one finishes the job it holds before it stops. Whichever way the count moves,
//! every accepted job runs exactly once: a job leaves the queue only into a worker that runs it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use futures::FutureExt;
use perfkit_optimizer::{OptimizerError, QueueControl};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::PerfkitError;

/// A job: any future that completes with `()`.
pub type Job = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The pool's size and bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkerPoolConfig {
    /// Jobs that may wait in the queue.
    pub queue_capacity: usize,
    /// Workers at start.
    pub workers: u32,
    /// Never more workers than this, whatever `scale_to` asks.
    pub max_workers: u32,
}

impl Default for WorkerPoolConfig {
    fn default() -> Self {
        WorkerPoolConfig { queue_capacity: 1024, workers: 2, max_workers: 64 }
    }
}

/// The pool's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerPoolStats {
    /// Workers taking jobs.
    pub workers: u32,
    /// Jobs waiting.
    pub queued: usize,
    /// The queue's capacity.
    pub capacity: usize,
    /// Jobs run to the end (panicked ones included).
    pub completed: u64,
    /// Jobs that panicked; the worker carried on.
    pub panicked: u64,
}

/// A bounded job queue served by a live-resizable number of tokio tasks.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use perfkit::jobs::{WorkerPool, WorkerPoolConfig};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let pool = WorkerPool::new(WorkerPoolConfig::default());
/// let done = Arc::new(AtomicU32::new(0));
/// for _ in 0..10 {
///     let done = done.clone();
///     pool.submit(async move { done.fetch_add(1, Ordering::Relaxed); }).await?;
/// }
/// assert_eq!(pool.scale_to(4), 4);
/// pool.shutdown().await; // runs what is queued, then stops
/// assert_eq!(done.load(Ordering::Relaxed), 10);
/// # Ok::<(), perfkit::PerfkitError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct WorkerPool {
    inner: Arc<Inner>,
}

struct Inner {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    workers: Mutex<Workers>,
    counters: Arc<Counters>,
    capacity: usize,
    max_workers: u32,
    runtime: tokio::runtime::Handle,
}

#[derive(Default)]
struct Workers {
    active: Vec<Worker>,
    /// Stopped workers that may still be finishing a job; pruned as they end.
    retiring: Vec<JoinHandle<()>>,
}

struct Worker {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Counters {
    completed: AtomicU64,
    panicked: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent, so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl WorkerPool {
    /// A pool with `config.workers` workers (at least one, at most `max_workers`).
    ///
    /// # Panics
    /// Outside a tokio runtime: the workers are tokio tasks.
    #[must_use]
    pub fn new(config: WorkerPoolConfig) -> Self {
        let capacity = config.queue_capacity.max(1);
        let (sender, receiver) = mpsc::channel(capacity);
        let pool = WorkerPool {
            inner: Arc::new(Inner {
                sender: Mutex::new(Some(sender)),
                receiver: Arc::new(tokio::sync::Mutex::new(receiver)),
                workers: Mutex::new(Workers::default()),
                counters: Arc::new(Counters::default()),
                capacity,
                max_workers: config.max_workers.max(1),
                runtime: tokio::runtime::Handle::current(),
            }),
        };
        pool.scale_to(config.workers);
        pool
    }

    fn sender(&self) -> Result<mpsc::Sender<Job>, PerfkitError> {
        lock(&self.inner.sender).clone().ok_or(PerfkitError::PoolClosed)
    }

    /// Queues a job, waiting for room when the queue is full.
    pub async fn submit<F>(&self, job: F) -> Result<(), PerfkitError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let sender = self.sender()?;
        sender.send(Box::pin(job)).await.map_err(|_| PerfkitError::PoolClosed)
    }

    /// Queues a job if there is room now; refuses it with [`PerfkitError::QueueFull`] if not.
    pub fn try_submit<F>(&self, job: F) -> Result<(), PerfkitError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.sender()?.try_send(Box::pin(job)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                PerfkitError::QueueFull { capacity: self.inner.capacity }
            }
            mpsc::error::TrySendError::Closed(_) => PerfkitError::PoolClosed,
        })
    }

    /// Jobs waiting in the queue.
    #[must_use]
    pub fn queued(&self) -> usize {
        lock(&self.inner.sender).as_ref().map_or(0, |s| s.max_capacity() - s.capacity())
    }

    /// Workers taking jobs.
    #[must_use]
    pub fn workers(&self) -> u32 {
        u32::try_from(lock(&self.inner.workers).active.len()).unwrap_or(u32::MAX)
    }

    /// The pool's figures now.
    #[must_use]
    pub fn stats(&self) -> WorkerPoolStats {
        WorkerPoolStats {
            workers: self.workers(),
            queued: self.queued(),
            capacity: self.inner.capacity,
            completed: self.inner.counters.completed.load(Ordering::Relaxed),
            panicked: self.inner.counters.panicked.load(Ordering::Relaxed),
        }
    }

    /// Sets the number of workers, kept between 1 and `max_workers`; returns the new number.
    ///
    /// Retired workers finish the job they hold; after [`WorkerPool::shutdown`] it does nothing.
    pub fn scale_to(&self, workers: u32) -> u32 {
        let wanted = workers.clamp(1, self.inner.max_workers) as usize;
        let closed = lock(&self.inner.sender).is_none();
        let mut pool = lock(&self.inner.workers);
        pool.retiring.retain(|task| !task.is_finished());
        if closed {
            return u32::try_from(pool.active.len()).unwrap_or(u32::MAX);
        }
        while pool.active.len() < wanted {
            let (stop, stopped) = oneshot::channel();
            let task = self.inner.runtime.spawn(work(
                self.inner.receiver.clone(),
                stopped,
                self.inner.counters.clone(),
            ));
            pool.active.push(Worker { stop, task });
        }
        while pool.active.len() > wanted {
            if let Some(worker) = pool.active.pop() {
                // A worker that already ended has dropped its receiver; nothing to tell it.
                let _ = worker.stop.send(());
                pool.retiring.push(worker.task);
            }
        }
        u32::try_from(wanted).unwrap_or(u32::MAX)
    }

    /// Stops taking jobs, runs every job already queued, and waits for the workers to end.
    pub async fn shutdown(&self) {
        // Dropping the only sender closes the queue: workers drain it, then see its end.
        lock(&self.inner.sender).take();
        let (active, retiring) = {
            let mut pool = lock(&self.inner.workers);
            (std::mem::take(&mut pool.active), std::mem::take(&mut pool.retiring))
        };
        for worker in active {
            // The stop sender lives until its worker ends, so it drains instead of stopping.
            let _ = worker.task.await;
            drop(worker.stop);
        }
        for task in retiring {
            let _ = task.await;
        }
    }
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool").field("stats", &self.stats()).finish()
    }
}

async fn work(
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    mut stop: oneshot::Receiver<()>,
    counters: Arc<Counters>,
) {
    loop {
        let job = tokio::select! {
            // Stop is checked first, and only between jobs: a job once taken always runs.
            // `recv` is cancel-safe, so losing the race to `stop` leaves the job queued.
            biased;
            _ = &mut stop => return,
            job = async { receiver.lock().await.recv().await } => job,
        };
        let Some(job) = job else { return };
        if AssertUnwindSafe(job).catch_unwind().await.is_err() {
            counters.panicked.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(target: "perfkit::jobs", "a job panicked; its worker carries on");
        }
        counters.completed.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl QueueControl for WorkerPool {
    async fn length(&self) -> Result<u64, OptimizerError> {
        Ok(self.queued() as u64)
    }

    async fn workers(&self) -> Result<u32, OptimizerError> {
        Ok(WorkerPool::workers(self))
    }

    async fn scale_to(&self, workers: u32) -> Result<u32, OptimizerError> {
        Ok(WorkerPool::scale_to(self, workers))
    }
}
