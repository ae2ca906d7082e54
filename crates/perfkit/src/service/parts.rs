//! The parts a service runs, handed to the edges as they are: the HTTP face, a host's own
//! handlers and tests read and act on each part directly, so a new endpoint needs no new
//! method on the service.

use std::sync::Arc;

use perfkit_alerting::AlertEngine;
use perfkit_cache::{Cache, CacheAdmin, CacheWarmer, Coordination, HostCaches};
use perfkit_control::HeapAllocator;
use perfkit_host::ConnectionRegistry;
use perfkit_metrics::{PrometheusExporter, Recorder, SlowOperations, SystemProbe};
use perfkit_optimizer::{Optimizer, PoolControl};

use crate::database::QueryPlanner;

/// Everything a [`PerformanceService`](crate::PerformanceService) owns, each behind the
/// trait or type that is its boundary. Each figure has one owner among these (see
/// `docs/ARCHITECTURE.md`, "One owner per figure").
///
/// ```
/// use perfkit::PerformanceService;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let service = PerformanceService::builder().build()?;
/// let parts = service.parts();
/// parts.cache.set("greeting", b"hello", None).await?;
/// assert_eq!(parts.cache.get("greeting").await?, Some(b"hello".to_vec()));
/// assert_eq!(parts.cache_admin.counters().hits, 1);
/// assert!(parts.exporter.render()?.contains("cache_hit_rate 1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[non_exhaustive]
pub struct Parts {
    /// Requests, errors, DB queries, WebSocket messages: the hot path.
    pub recorder: Arc<Recorder>,
    /// The machine and this process.
    pub probe: Arc<dyn SystemProbe>,
    /// The application's cache, data path.
    pub cache: Arc<dyn Cache>,
    /// The application's cache, administration and figures.
    pub cache_admin: Arc<dyn CacheAdmin>,
    /// The figures of the host's own caches, which perfkit does not own: the host reports
    /// each read and write (see
    /// [`PerformanceService::host_cache`](crate::PerformanceService::host_cache)).
    pub host_caches: Arc<HostCaches>,
    /// The alert engine the collector evaluates on each snapshot; it holds its own lock and
    /// stamps what people do (clear, replace rules, silence) with the service's clock.
    pub alerts: Arc<AlertEngine>,
    /// The optimizer: recommendations, runs, config, history.
    pub optimizer: Arc<Optimizer>,
    /// Live client connections (the stream's WebSockets register here).
    pub connections: ConnectionRegistry,
    /// What this instance shares with the others on its cache's store: announcements and
    /// the locks that make optimizer runs and cache clears take turns.
    pub coordination: Arc<dyn Coordination>,
    /// The Prometheus exposition: recorder, probe, cache and connections read at scrape
    /// time.
    pub exporter: PrometheusExporter,
    /// Times named operations and logs the slow ones (`slow.start("name")`); its counts are
    /// in the exposition as `perfkit_slow_operations_total{operation}`.
    pub slow_operations: Arc<SlowOperations>,
    /// The database pool, when the host gave one: its size, idle and in-use connections.
    pub pool: Option<Arc<dyn PoolControl>>,
    /// Explains measured statements, when the host gave a planner (PostgreSQL).
    pub planner: Option<Arc<dyn QueryPlanner>>,
    /// The allocator the process runs on: heap figures, and the memory action's release.
    pub heap: Arc<dyn HeapAllocator>,
    /// Loads the hottest keys after a cache clear, when the host gave a warmer; its
    /// figures are `/cache/stats`'s `warming` and the `perfkit_cache_warm*` series.
    pub warmer: Option<Arc<dyn CacheWarmer>>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("cache", &self.cache)
            .field("alerts", &self.alerts)
            .finish_non_exhaustive()
    }
}
