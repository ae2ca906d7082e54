//! `/cache/stats` and the dashboard's cache panel: perfkit's own cache's figures, with the
//! host's own caches beside them, each figure read from its owner.

use perfkit::PerformanceService;
use perfkit::cache::{CacheStats, HostCacheStats};
use serde::Serialize;

/// The cache's figures (its own fields, as the cache reports them) and the host's caches.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CacheView {
    /// perfkit's cache: its figures at the top level.
    #[serde(flatten)]
    pub(crate) stats: CacheStats,
    /// Caches the host owns and reports into (`PerformanceService::host_cache`), by name.
    pub(crate) host_caches: Vec<HostCacheStats>,
}

impl CacheView {
    /// With the cache's figures as they stand (no I/O).
    pub(crate) fn now(service: &PerformanceService) -> CacheView {
        CacheView::with(service, service.parts().cache_admin.counters())
    }

    /// With `stats` (a refresh's).
    pub(crate) fn with(service: &PerformanceService, mut stats: CacheStats) -> CacheView {
        let parts = service.parts();
        stats.warming = parts.warmer.as_ref().map(|warmer| warmer.figures());
        CacheView { stats, host_caches: parts.host_caches.stats() }
    }
}
