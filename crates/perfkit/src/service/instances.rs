//! Several instances on one cache: each announces itself after every collection under its
//! id, with a TTL of three collect intervals (so a stopped or crashed instance drops out on
//! its own), and any of them lists the live ones with their latest snapshot.

use perfkit_core::{MetricsSnapshot, Timestamp};
use serde::{Deserialize, Serialize};

use super::PerformanceService;
use super::readout::Readout;
use crate::PerfkitError;
use crate::analysis::score;

/// One live instance, as it announced itself after its latest collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InstanceInfo {
    /// Its id ([`ServiceConfig::instance`](crate::ServiceConfig::instance)).
    pub instance: String,
    /// When its schedule started.
    pub started_at: Option<Timestamp>,
    /// When it announced this (its latest collection).
    pub announced_at: Timestamp,
    /// Its performance score 0..=100 on its latest snapshot, when anything was measured.
    pub score: Option<f64>,
    /// Its latest snapshot.
    pub latest: Option<MetricsSnapshot>,
}

impl PerformanceService {
    /// Announces this instance with its latest snapshot; a failure is logged, never fatal:
    /// the instance keeps working alone.
    pub(crate) async fn announce(&self) {
        let inner = &self.inner;
        let published = inner.published.load();
        let latest = published.latest.clone();
        let info = InstanceInfo {
            instance: inner.config.instance.clone(),
            started_at: published.started_at,
            announced_at: inner.clock.now(),
            score: latest.as_ref().and_then(|s| score(s, &inner.config.targets).score),
            latest,
        };
        let record = match serde_json::to_vec(&info) {
            Ok(record) => record,
            Err(error) => {
                tracing::warn!(%error, "instance not announced: it did not serialize");
                return;
            }
        };
        let ttl = inner.config.collect_interval.saturating_mul(3);
        if let Err(error) =
            inner.parts.coordination.announce(&inner.config.instance, &record, ttl).await
        {
            tracing::warn!(%error, "instance not announced");
        }
    }

    /// Withdraws this instance's announcement (at shutdown), so the others stop listing it
    /// at once rather than when its TTL ends.
    pub(crate) async fn withdraw(&self) {
        let inner = &self.inner;
        if let Err(error) = inner.parts.coordination.withdraw(&inner.config.instance).await {
            tracing::warn!(%error, "instance announcement not withdrawn; it expires by itself");
        }
    }
}

impl Readout<'_> {
    /// The live instances sharing this service's coordination (its cache's store), this one
    /// included once it has collected, sorted by id. An announcement that does not read as
    /// an instance is skipped and logged.
    ///
    /// # Errors
    /// [`PerfkitError::Cache`] when the store does not answer.
    pub async fn instances(&self) -> Result<Vec<InstanceInfo>, PerfkitError> {
        let mut instances: Vec<InstanceInfo> = self
            .service
            .inner
            .parts
            .coordination
            .announced()
            .await?
            .into_iter()
            .filter_map(|announcement| {
                serde_json::from_slice(&announcement.record)
                    .map_err(|error| {
                        tracing::warn!(%error, instance = %announcement.instance, "unreadable announcement skipped");
                    })
                    .ok()
            })
            .collect();
        instances.sort_by(|a, b| a.instance.cmp(&b.instance));
        Ok(instances)
    }
}
