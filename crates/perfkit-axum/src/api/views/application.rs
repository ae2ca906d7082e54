//! `/metrics/application`: the recorder's figures, with the cache's reads, the open
//! connections, the queue and the business series beside them, each from its owner.

use perfkit::PerformanceService;
use perfkit::metrics::ApplicationMetrics;
use serde::Serialize;

/// Application figures, each from its owner.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplicationView {
    /// Requests, latency, throughput, errors, routes, database, WebSocket, and the series
    /// emitted through the `metrics` facade (`business`): the recorder's, of the last closed
    /// interval, the same figures the latest snapshot holds.
    #[serde(flatten)]
    pub(crate) recorder: ApplicationMetrics,
    /// Cache reads since start-up: the cache's own counters.
    pub(crate) cache: CacheReads,
    /// Connections open at the latest collection (the registry's, or the host's control's).
    pub(crate) active_connections: Option<f64>,
    /// Jobs waiting at the latest collection (the queue control's); `None` without a queue.
    pub(crate) queue_length: Option<f64>,
}

/// Cache reads as the cache counts them.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CacheReads {
    /// Reads that found a value.
    pub(crate) hits: u64,
    /// Reads that found nothing (including reads that failed open).
    pub(crate) misses: u64,
    /// `hits / (hits + misses)`, 0 before any read.
    pub(crate) hit_rate: f64,
}

impl ApplicationView {
    pub(crate) fn of(service: &PerformanceService) -> ApplicationView {
        let parts = service.parts();
        let counters = parts.cache_admin.counters();
        let latest = service.readout().latest();
        ApplicationView {
            recorder: parts.recorder.snapshot(),
            cache: CacheReads {
                hits: counters.hits,
                misses: counters.misses,
                hit_rate: counters.hit_rate,
            },
            active_connections: latest.as_ref().and_then(|s| s.active_connections),
            queue_length: latest.and_then(|s| s.queue_length),
        }
    }
}
