//! The demo database's outage guard: once a query finds the database unreachable (its pool
//! timed out, the connection broke), further queries are refused at once for a short while
//! instead of each waiting out the acquire timeout again. Without it, requests that joined a
//! failed single-flight computation retry it one after another, and a miss during an outage
//! could wait several acquire timeouts before its 503.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long queries are refused after the database was found unreachable.
const REFUSE_FOR: Duration = Duration::from_secs(1);

/// Shared by every query of the demo: when the database was last found unreachable.
#[derive(Debug, Clone)]
pub(crate) struct Outage {
    epoch: Instant,
    /// Milliseconds after `epoch` until which queries are refused; 0: none refused.
    refuse_until_ms: Arc<AtomicU64>,
}

impl Default for Outage {
    fn default() -> Self {
        Outage { epoch: Instant::now(), refuse_until_ms: Arc::new(AtomicU64::new(0)) }
    }
}

impl Outage {
    /// Runs `query`, unless the database was found unreachable less than [`REFUSE_FOR`] ago:
    /// then it fails at once with [`sqlx::Error::PoolTimedOut`], as the query would have
    /// after its wait.
    pub(crate) async fn guard<T>(
        &self,
        query: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        if self.now_ms() < self.refuse_until_ms.load(Ordering::Relaxed) {
            return Err(sqlx::Error::PoolTimedOut);
        }
        let result = query.await;
        if let Err(error) = &result
            && is_unreachable(error)
        {
            let until = self.now_ms() + u64::try_from(REFUSE_FOR.as_millis()).unwrap_or(u64::MAX);
            self.refuse_until_ms.fetch_max(until, Ordering::Relaxed);
        }
        result
    }

    fn now_ms(&self) -> u64 {
        // Never 0, so a fresh guard refuses nothing.
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX).saturating_add(1)
    }
}

/// Errors that say the database cannot be reached, not that a statement failed.
pub(crate) fn is_unreachable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[tokio::test]
    async fn after_an_unreachable_database_queries_are_refused_without_running() {
        let outage = Outage::default();
        let ran = AtomicUsize::new(0);
        let query = |fails: bool| {
            let ran = &ran;
            async move {
                ran.fetch_add(1, Ordering::SeqCst);
                if fails { Err(sqlx::Error::PoolTimedOut) } else { Ok(7) }
            }
        };
        assert_eq!(outage.guard(query(false)).await.unwrap(), 7);
        assert!(outage.guard(query(true)).await.is_err());
        assert!(matches!(outage.guard(query(false)).await, Err(sqlx::Error::PoolTimedOut)));
        assert_eq!(ran.load(Ordering::SeqCst), 2, "the third query was refused, not run");
        // A statement's own error (a constraint, say) is no outage.
        let other = Outage::default();
        let _ = other.guard(async { Err::<(), _>(sqlx::Error::RowNotFound) }).await;
        assert!(other.guard(query(false)).await.is_ok());
    }
}
