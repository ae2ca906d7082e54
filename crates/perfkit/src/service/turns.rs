//! What must run on one instance at a time among those sharing a cache: optimizer runs and
//! clearing the shared cache. Each runs under a lock of the service's
//! [`Coordination`](perfkit_cache::Coordination) (a Redis lock when the cache is Redis, a
//! local one otherwise), through [`run_exclusive`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use perfkit_cache::{CacheError, ExclusiveRun, WarmReason, run_exclusive};
use perfkit_optimizer::RunRecord;
use tracing::Instrument as _;

use super::PerformanceService;
use crate::PerfkitError;
use crate::events::LiveEvent;
use crate::service::OptimizationRun;

/// The lock every optimizer run takes, scheduled or manual.
pub(crate) const OPTIMIZER_LOCK: &str = "optimizer";
/// The lock a clear of the shared cache takes.
pub(crate) const CACHE_CLEAR_LOCK: &str = "cache-clear";

/// Wall time in microseconds: lock holds logged by different processes on one host can be
/// put in one order by it (the service's clock counts milliseconds).
fn wall_micros() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_micros())
}

impl PerformanceService {
    fn turn<'a>(&'a self, lock: &'a str, wait: Duration) -> ExclusiveRun<'a> {
        ExclusiveRun {
            lock,
            owner: &self.inner.config.instance,
            ttl: self.inner.config.lock_ttl,
            wait,
        }
    }

    /// Runs the optimizer on a fresh reading of every source (one that does not end the
    /// collection interval) and tells the live stream. Among instances sharing a cache, one
    /// runs at a time: this waits up to [`lock_wait`](crate::ServiceConfig::lock_wait) for
    /// another instance's run to end.
    ///
    /// # Errors
    /// [`PerfkitError::Cache`] with [`CacheError::LockBusy`] when another instance still runs
    /// after the wait (nothing was done), or another `CacheError` when the lock's store fails.
    pub async fn optimize(&self, run: OptimizationRun) -> Result<RunRecord, PerfkitError> {
        self.optimize_in_turn(Some(run), self.inner.config.lock_wait).await
    }

    /// An optimizer run in this instance's turn: `run`, or the scheduled check (`None`: on
    /// the latest snapshot, acting only while auto-optimization is on).
    pub(crate) async fn optimize_in_turn(
        &self,
        run: Option<OptimizationRun>,
        wait: Duration,
    ) -> Result<RunRecord, PerfkitError> {
        let coordination = self.inner.parts.coordination.as_ref();
        let span = tracing::info_span!(
            target: crate::SPAN_TARGET,
            "perfkit.optimize",
            perfkit.optimizer.run = tracing::field::Empty,
            perfkit.optimizer.kind = tracing::field::Empty,
        );
        let turn = run_exclusive(coordination, self.turn(OPTIMIZER_LOCK, wait), async {
            let started_us = wall_micros();
            let optimizer = &self.inner.parts.optimizer;
            let kind = match run {
                Some(OptimizationRun::Triggered) => "triggered",
                Some(OptimizationRun::Forced) => "forced",
                None => "scheduled",
            };
            let record = match run {
                Some(OptimizationRun::Triggered) => {
                    optimizer.run(&self.collect_snapshot().await).await
                }
                Some(OptimizationRun::Forced) => {
                    optimizer.force(&self.collect_snapshot().await).await
                }
                None => optimizer.check(&self.latest_or_collect().await).await,
            };
            // Read by operators (and the multi-instance test) to see that runs take turns.
            tracing::info!(
                instance = %self.inner.config.instance,
                run = record.id,
                kind,
                started_us = %started_us,
                finished_us = %wall_micros(),
                "optimizer run finished in its turn"
            );
            let span = tracing::Span::current();
            span.record("perfkit.optimizer.run", record.id);
            span.record("perfkit.optimizer.kind", kind);
            record
        });
        let record = turn.instrument(span).await?;
        self.publish(LiveEvent::Optimization(Box::new(record.clone())));
        Ok(record)
    }

    /// Clears the application's cache, the namespace every instance on the same store shares.
    /// Clears from several instances at once take turns, so the namespace is scanned once and
    /// the others find it empty; perfkit's own keys (announcements, locks, history) stay.
    ///
    /// # Errors
    /// [`PerfkitError::Cache`] when the cache fails or another instance's clear is still
    /// running after [`lock_wait`](crate::ServiceConfig::lock_wait).
    pub async fn clear_cache(&self) -> Result<u64, PerfkitError> {
        let inner = &self.inner;
        let turn = self.turn(CACHE_CLEAR_LOCK, inner.config.lock_wait);
        let cleared =
            run_exclusive(inner.parts.coordination.as_ref(), turn, inner.parts.cache_admin.clear())
                .await??;
        tracing::info!(instance = %inner.config.instance, deleted = cleared, "cache cleared");
        // Before answering, so the hottest keys are back by the time the clear is reported;
        // a failed warming leaves a cold cache, not a failed clear.
        if let Some(warmer) = &inner.parts.warmer {
            match warmer.warm(WarmReason::AfterClear).await {
                Ok(run) => tracing::info!(
                    warmed = run.warmed,
                    failed = run.failed,
                    "cache warmed after the clear"
                ),
                Err(error) => tracing::warn!(%error, "cache not warmed after the clear"),
            }
        }
        Ok(cleared)
    }

    /// Whether `error` means another instance holds the turn.
    pub(crate) fn is_busy(error: &PerfkitError) -> bool {
        matches!(error, PerfkitError::Cache(CacheError::LockBusy { .. }))
    }
}
