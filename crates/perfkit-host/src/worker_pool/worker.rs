//! One worker: takes jobs from the shared queue until it is retired or the queue ends.
//!
//! Retiring is a request, not an order: a retired worker finishes the job it holds, and
//! only leaves once it has confirmed, under the roster's lock, that nobody took it back in
//! the meantime. That lets a scale-up reuse a worker that is still finishing its job
//! instead of spawning one more task, so the pool never runs more tasks than `max_workers`.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{Job, lock};

/// The workers of one pool.
#[derive(Default)]
pub(super) struct Roster {
    /// Workers taking jobs.
    pub(super) active: Vec<Worker>,
    /// Workers asked to stop that are still finishing a job; a scale-up takes them back.
    pub(super) retiring: Vec<Worker>,
    /// Set by shutdown: no worker is started or taken back any more.
    pub(super) closed: bool,
    next_id: u64,
}

impl Roster {
    /// A new worker's id.
    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// A worker as the roster holds it.
pub(super) struct Worker {
    pub(super) id: u64,
    /// `true` asks the worker to stop between jobs; `false` takes it back.
    pub(super) retire: watch::Sender<bool>,
    pub(super) task: JoinHandle<()>,
}

/// What a pool's workers share.
pub(super) struct Shared {
    pub(super) queue: tokio::sync::Mutex<mpsc::Receiver<Job>>,
    pub(super) roster: Mutex<Roster>,
    pub(super) completed: AtomicU64,
    pub(super) panicked: AtomicU64,
}

/// The worker's loop: one job at a time, to completion, until retired or the queue ends.
pub(super) async fn work(shared: Arc<Shared>, id: u64, mut retire: watch::Receiver<bool>) {
    loop {
        let retired = tokio::select! {
            // Retirement is checked first, and only between jobs: a job once taken always
            // runs. `recv` is cancel-safe, so losing the race to retirement leaves the job
            // queued for another worker.
            biased;
            // The sender lives in the roster, which this worker keeps alive, so an error
            // cannot happen; leaving would be the safe answer if it did.
            asked = retire.wait_for(|retired| *retired) => Err(asked.is_err()),
            job = async { shared.queue.lock().await.recv().await } => Ok(job),
        };
        let job = match retired {
            Ok(job) => job,
            Err(sender_gone) if sender_gone || leave(&shared, id, &retire) => return,
            Err(_) => continue,
        };
        // The queue ends only when the pool shuts down (or is dropped), after it is drained.
        let Some(job) = job else { return };
        if AssertUnwindSafe(job).catch_unwind().await.is_err() {
            shared.panicked.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(target: "perfkit_host::worker_pool", "a job panicked; its worker carries on");
        }
        shared.completed.fetch_add(1, Ordering::Relaxed);
    }
}

/// Leaves the roster if still retired; `false` if a scale-up took the worker back.
fn leave(shared: &Shared, id: u64, retire: &watch::Receiver<bool>) -> bool {
    let mut roster = lock(&shared.roster);
    // Read under the roster's lock, which a scale-up holds while it takes a worker back.
    if !*retire.borrow() {
        return false;
    }
    roster.retiring.retain(|worker| worker.id != id);
    true
}
