//! The history, kept in the cache as well when configured: a restart keeps it, and other
//! instances sharing the cache (Redis) can read it. It lives in the cache's reserved
//! sub-namespace, so clearing the application's cache never deletes it.

use perfkit_core::MetricsSnapshot;

use super::readout::Readout;
use super::{PerformanceService, lock};
use crate::PerfkitError;

/// The key of an instance's history in the reserved handle, which adds the namespace and
/// the reserved prefix.
fn history_key(instance: &str) -> String {
    format!("history:{instance}")
}

impl PerformanceService {
    /// Writes the whole ring under this instance's key. One value rather than one key per
    /// snapshot, so a reader needs no key listing and a restart restores it in one read.
    pub(crate) async fn persist_history(&self) {
        let inner = &self.inner;
        let snapshots: Vec<MetricsSnapshot> = lock(&inner.state).history.iter().cloned().collect();
        let json = match serde_json::to_vec(&snapshots) {
            Ok(json) => json,
            Err(error) => {
                tracing::warn!(%error, "history not persisted: it did not serialize");
                return;
            }
        };
        // Kept as long as the ring spans, so an abandoned instance's history expires.
        let ttl = inner
            .config
            .collect_interval
            .saturating_mul(u32::try_from(inner.config.history_capacity).unwrap_or(u32::MAX));
        if let Err(error) =
            inner.reserved_cache.set(&history_key(&inner.config.instance), &json, Some(ttl)).await
        {
            tracing::warn!(%error, "history not persisted");
        }
    }

    /// Loads this instance's persisted history into the ring (at start-up).
    pub(crate) async fn restore_history(&self) {
        match self.readout().persisted_history(&self.inner.config.instance).await {
            Ok(snapshots) if !snapshots.is_empty() => {
                let count = snapshots.len();
                self.update_state(|state| state.history.restore(snapshots));
                tracing::info!(count, "history restored from the cache");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "history not restored"),
        }
    }
}

impl Readout<'_> {
    /// The persisted history of `instance` (this one or another sharing the cache), oldest
    /// first; empty when none is stored.
    ///
    /// # Errors
    /// [`PerfkitError::Cache`] when the cache fails, [`PerfkitError::Setup`] when the stored
    /// value is not a history.
    pub async fn persisted_history(
        &self,
        instance: &str,
    ) -> Result<Vec<MetricsSnapshot>, PerfkitError> {
        let Some(bytes) = self.service.inner.reserved_cache.get(&history_key(instance)).await?
        else {
            return Ok(Vec::new());
        };
        serde_json::from_slice(&bytes).map_err(|error| PerfkitError::Setup {
            part: "persisted history",
            message: format!("the stored history of {instance:?} is not readable: {error}"),
        })
    }
}
