//! A small tokio worker pool for the host's background jobs, scalable by the optimizer.
//!
//! Jobs wait in one bounded queue; each worker takes the next job and runs it to completion.
//! The number of workers changes while jobs run: a new worker starts taking jobs at once, and
//! a retired one finishes the job it holds before it stops. Whichever way the count moves,
//! every accepted job runs exactly once: a job leaves the queue only into a worker that runs
//! it. At most `max_workers` tasks exist at any time, retiring ones included.

mod config;
mod worker;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use perfkit_control::{ControlError, QueueControl};
use tokio::sync::{mpsc, watch};

pub use config::{WorkerPoolConfig, WorkerPoolStats};
use worker::{Roster, Shared, Worker, work};

use crate::HostError;

/// A job: any future that completes with `()`.
pub type Job = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A bounded job queue served by a live-resizable number of tokio tasks.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use perfkit_host::{WorkerPool, WorkerPoolConfig};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let pool = WorkerPool::new(WorkerPoolConfig::default())?;
/// let done = Arc::new(AtomicU32::new(0));
/// for _ in 0..10 {
///     let done = done.clone();
///     pool.submit(async move { done.fetch_add(1, Ordering::Relaxed); }).await?;
/// }
/// assert_eq!(pool.scale_to(4)?, 4);
/// pool.shutdown().await; // runs what is queued, then stops
/// assert_eq!(done.load(Ordering::Relaxed), 10);
/// # Ok::<(), perfkit_host::HostError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct WorkerPool {
    inner: Arc<Inner>,
}

struct Inner {
    /// The queue's only sender; `None` once shut down, which ends the queue.
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    shared: Arc<Shared>,
    capacity: usize,
    max_workers: u32,
    runtime: tokio::runtime::Handle,
}

/// Locks `mutex`, recovering from poisoning.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent, so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A `usize` count as the `u32` the optimizer speaks; counts never exceed `MAX_WORKERS`.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl WorkerPool {
    /// A pool with `config.workers` workers, on the tokio runtime it is created in.
    ///
    /// # Errors
    /// [`HostError::InvalidPoolConfig`] for a setting out of range,
    /// [`HostError::NoRuntime`] outside a tokio runtime.
    pub fn new(config: WorkerPoolConfig) -> Result<Self, HostError> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| HostError::NoRuntime)?;
        let (sender, receiver) = mpsc::channel(config.queue_capacity);
        let pool = WorkerPool {
            inner: Arc::new(Inner {
                sender: Mutex::new(Some(sender)),
                shared: Arc::new(Shared {
                    queue: tokio::sync::Mutex::new(receiver),
                    roster: Mutex::new(Roster::default()),
                    completed: AtomicU64::new(0),
                    panicked: AtomicU64::new(0),
                }),
                capacity: config.queue_capacity,
                max_workers: config.max_workers,
                runtime,
            }),
        };
        pool.scale_to(config.workers)?;
        Ok(pool)
    }

    fn sender(&self) -> Result<mpsc::Sender<Job>, HostError> {
        lock(&self.inner.sender).clone().ok_or(HostError::PoolClosed)
    }

    /// Queues a job, waiting for room when the queue is full.
    ///
    /// # Errors
    /// [`HostError::PoolClosed`] after [`shutdown`](Self::shutdown).
    pub async fn submit<F>(&self, job: F) -> Result<(), HostError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let sender = self.sender()?;
        sender.send(Box::pin(job)).await.map_err(|_| HostError::PoolClosed)
    }

    /// Queues a job if there is room now.
    ///
    /// # Errors
    /// [`HostError::QueueFull`] when the queue is at capacity, [`HostError::PoolClosed`]
    /// after [`shutdown`](Self::shutdown).
    pub fn try_submit<F>(&self, job: F) -> Result<(), HostError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.sender()?.try_send(Box::pin(job)).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => {
                HostError::QueueFull { capacity: self.inner.capacity }
            }
            mpsc::error::TrySendError::Closed(_) => HostError::PoolClosed,
        })
    }

    /// Jobs waiting in the queue (0 once shut down, while the last ones drain).
    #[must_use]
    pub fn queued(&self) -> usize {
        lock(&self.inner.sender).as_ref().map_or(0, |s| s.max_capacity() - s.capacity())
    }

    /// Workers taking jobs.
    #[must_use]
    pub fn workers(&self) -> u32 {
        count(lock(&self.inner.shared.roster).active.len())
    }

    /// The pool's figures now.
    #[must_use]
    pub fn stats(&self) -> WorkerPoolStats {
        WorkerPoolStats {
            workers: self.workers(),
            queued: self.queued(),
            capacity: self.inner.capacity,
            completed: self.inner.shared.completed.load(Ordering::Relaxed),
            panicked: self.inner.shared.panicked.load(Ordering::Relaxed),
        }
    }

    /// Sets the number of workers, kept between 1 and `max_workers`; returns the new number.
    ///
    /// Retired workers finish the job they hold; a later scale-up takes such a worker back
    /// before it starts a new one.
    ///
    /// # Errors
    /// [`HostError::PoolClosed`] after [`shutdown`](Self::shutdown).
    pub fn scale_to(&self, workers: u32) -> Result<u32, HostError> {
        let wanted = workers.clamp(1, self.inner.max_workers) as usize;
        let mut roster = lock(&self.inner.shared.roster);
        if roster.closed {
            return Err(HostError::PoolClosed);
        }
        // A task can only end on its own when its runtime shuts down; such a worker cannot be
        // taken back.
        roster.retiring.retain(|worker| !worker.task.is_finished());
        while roster.active.len() < wanted {
            let worker = match roster.retiring.pop() {
                Some(worker) => {
                    // Under the roster's lock, so the worker cannot be leaving right now.
                    worker.retire.send_replace(false);
                    worker
                }
                None => self.start_worker(&mut roster),
            };
            roster.active.push(worker);
        }
        while roster.active.len() > wanted {
            if let Some(worker) = roster.active.pop() {
                worker.retire.send_replace(true);
                roster.retiring.push(worker);
            }
        }
        Ok(count(wanted))
    }

    fn start_worker(&self, roster: &mut Roster) -> Worker {
        let id = roster.next_id();
        let (retire, retired) = watch::channel(false);
        let task = self.inner.runtime.spawn(work(Arc::clone(&self.inner.shared), id, retired));
        Worker { id, retire, task }
    }

    /// Stops taking jobs, runs every job already queued, and waits for the workers to end.
    ///
    /// Dropping the last handle without calling this ends the queue too: the workers still
    /// run what is queued and then stop, but nobody waits for them.
    pub async fn shutdown(&self) {
        // Dropping the only sender ends the queue: workers drain it, then see its end.
        lock(&self.inner.sender).take();
        let workers = {
            let mut roster = lock(&self.inner.shared.roster);
            roster.closed = true;
            let mut workers = std::mem::take(&mut roster.active);
            workers.append(&mut roster.retiring);
            workers
        };
        for worker in workers {
            // A worker that panicked outside a job has nothing left to wait for.
            let _ = worker.task.await;
        }
    }
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool").field("stats", &self.stats()).finish()
    }
}

#[async_trait]
impl QueueControl for WorkerPool {
    async fn length(&self) -> Result<u64, ControlError> {
        Ok(self.queued() as u64)
    }

    async fn workers(&self) -> Result<u32, ControlError> {
        Ok(WorkerPool::workers(self))
    }

    async fn scale_to(&self, workers: u32) -> Result<u32, ControlError> {
        Ok(WorkerPool::scale_to(self, workers)?)
    }
}
