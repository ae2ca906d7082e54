//! [`run_exclusive`]: work under a lock, written once over [`Coordination`]. It waits a
//! bounded time for the lock, renews it while the work runs, stops the work when the lock is
//! lost, and releases it only with its own token.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures::future::{Either, select};
use tokio::time::Instant;

use super::Coordination;
use crate::CacheError;

/// Shortest and longest pause between two tries for a busy lock.
const MIN_POLL: Duration = Duration::from_millis(5);
const MAX_POLL: Duration = Duration::from_millis(100);

/// How [`run_exclusive`] takes its lock.
#[derive(Debug, Clone, Copy)]
pub struct ExclusiveRun<'a> {
    /// The lock's name.
    pub lock: &'a str,
    /// Who asks (an instance id), as [`Coordination::lock_holder`] will name it.
    pub owner: &'a str,
    /// How long the lock lives unless renewed; it is renewed every third of it, so a holder
    /// that dies frees it within `ttl`.
    pub ttl: Duration,
    /// How long to wait for a busy lock; zero tries once.
    pub wait: Duration,
}

/// Runs `work` while holding `run.lock`, so no other holder of the same lock on the same
/// store runs at the same time.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use perfkit_cache::{ExclusiveRun, LocalCoordination, run_exclusive};
/// use perfkit_core::SystemClock;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let coordination = LocalCoordination::new(Arc::new(SystemClock));
/// let run = ExclusiveRun {
///     lock: "optimizer",
///     owner: "api-1",
///     ttl: Duration::from_secs(30),
///     wait: Duration::from_secs(5),
/// };
/// let answer = run_exclusive(&coordination, run, async { 42 }).await?;
/// assert_eq!(answer, 42);
/// # Ok::<_, perfkit_cache::CacheError>(())
/// # }).unwrap();
/// ```
///
/// # Errors
/// [`CacheError::LockBusy`] when another owner still holds the lock after `run.wait` (the
/// work did not start); [`CacheError::LockLost`] when a renewal found the lock gone, or
/// renewals failed for a whole `ttl` (the work was stopped at its next await); the store's
/// error when taking the lock fails.
pub async fn run_exclusive<T>(
    coordination: &dyn Coordination,
    run: ExclusiveRun<'_>,
    work: impl Future<Output = T>,
) -> Result<T, CacheError> {
    let ExclusiveRun { lock, owner, ttl, wait } = run;
    let deadline = Instant::now() + wait;
    let poll = (ttl / 20).clamp(MIN_POLL, MAX_POLL);
    let token = loop {
        if let Some(token) = coordination.try_lock(lock, owner, ttl).await? {
            break token;
        }
        if Instant::now() + poll > deadline {
            let holder = coordination.lock_holder(lock).await.ok().flatten();
            return Err(CacheError::LockBusy { lock: lock.to_owned(), holder });
        }
        tokio::time::sleep(poll).await;
    };

    let renewal = async {
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(ttl / 3).await;
            match coordination.renew_lock(lock, &token, ttl).await {
                Ok(true) => renewed = Instant::now(),
                Ok(false) => return,
                Err(error) => {
                    tracing::warn!(%error, lock, "lock renewal failed; retrying");
                    if renewed.elapsed() >= ttl {
                        return;
                    }
                }
            }
        }
    };
    match select(pin!(work), pin!(renewal)).await {
        Either::Left((value, _)) => {
            match coordination.unlock(lock, &token).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(lock, "lock expired before its release"),
                // It expires by itself within its TTL.
                Err(error) => tracing::warn!(%error, lock, "lock release failed"),
            }
            Ok(value)
        }
        Either::Right(((), _)) => {
            tracing::error!(lock, owner, "lock lost while held; the work was stopped");
            Err(CacheError::LockLost { lock: lock.to_owned() })
        }
    }
}
