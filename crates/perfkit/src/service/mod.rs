//! `PerformanceService`: the conductor that collects, remembers, analyses, alerts and
//! optimizes on a schedule. Its parts are handed out as they are ([`Parts`]), what it knows
//! is read through one handle ([`Readout`]); the HTTP answers are built from these at the
//! edge (perfkit-axum), not here.

mod analysis;
mod builder;
mod collect;
mod config;
mod health;
mod instance_id;
mod instances;
mod parts;
mod persistence;
mod profile;
mod readout;
mod schedule;
mod state;
mod turns;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;

use perfkit_cache::Cache;
use perfkit_core::Clock;
use perfkit_metrics::Recorder;
use perfkit_optimizer::{ConnectionControl, QueueControl};
use tokio::sync::broadcast;

pub use analysis::{OptimizationRun, ServiceStatus};
pub use builder::PerformanceServiceBuilder;
pub use config::ServiceConfig;
pub use health::{ComponentHealth, HealthReport, HealthStatus};
pub use instances::InstanceInfo;
pub use parts::Parts;
pub use profile::MemoryProfile;
pub use readout::Readout;
pub use state::StepCounters;

use crate::events::LiveEvent;
use schedule::Running;
pub(crate) use state::{PublishedState, ServiceState};

/// Live events buffered per subscriber; a subscriber that falls further behind skips ahead
/// (tokio broadcast semantics), so a slow client can never hold memory.
const EVENT_CAPACITY: usize = 256;

/// The orchestrator: owns a recorder, a system probe, a cache, an alert engine and an
/// optimizer, all behind traits, and runs them on the guide's schedule.
///
/// Its own methods are its lifecycle (`start`, `shutdown`), its actions (`collect_now`,
/// `optimize`, `clear_cache`, `reset_metrics`) and the ways in: [`parts`](Self::parts),
/// [`readout`](Self::readout) for what it knows, [`subscribe`](Self::subscribe) for live
/// events.
///
/// Cheap to clone (an `Arc` inside); every clone is the same service.
///
/// ```
/// use perfkit::PerformanceService;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let service = PerformanceService::builder().build()?;
/// service.start();
///
/// let snapshot = service.collect_now().await;
/// assert!(snapshot.memory_usage.is_some());
/// assert_eq!(service.readout().history(10).len(), 1);
/// assert_eq!(service.parts().alerts.active_alerts().len(), 0);
///
/// service.shutdown().await;
/// # Ok::<(), perfkit::PerfkitError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct PerformanceService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PerformanceService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerformanceService")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) config: ServiceConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) parts: Parts,
    /// perfkit's own keys (the persisted history), out of the application's reach.
    pub(crate) reserved_cache: Arc<dyn Cache>,
    /// Who counts connections: the registry unless the host gave its own control.
    pub(crate) connection_control: Arc<dyn ConnectionControl>,
    pub(crate) queue: Option<Arc<dyn QueueControl>>,
    /// Written under its lock by collections and the schedule; read only by `history`,
    /// reports and persistence. The request read paths load `published` instead.
    pub(crate) state: Arc<Mutex<ServiceState>>,
    /// What `latest`, `status` and `health` read, republished after every change of `state`.
    pub(crate) published: ArcSwap<PublishedState>,
    /// Whether the schedule runs (written under `running`'s lock, read without it).
    pub(crate) is_running: AtomicBool,
    /// Grows with every change of state and every live event: see `generation`.
    pub(crate) generation: AtomicU64,
    pub(crate) events: broadcast::Sender<LiveEvent>,
    pub(crate) running: Mutex<Option<Running>>,
    /// Alert delivery workers not yet spawned (they start with the service).
    pub(crate) delivery_workers: Mutex<Vec<perfkit_alerting::DeliveryWorker>>,
    /// The host's health indicators, as registered.
    pub(crate) indicators: Vec<crate::indicators::Indicator>,
    /// The latest reading of each indicator, in registration order (`None`: not yet run).
    /// Written by the indicator loop, read lock-free by `health` and `status`.
    pub(crate) readings: ArcSwap<Vec<Option<crate::indicators::IndicatorReading>>>,
}

/// Locks a std mutex, recovering from poisoning: every critical section in this crate
/// leaves its data consistent, so a panic elsewhere must not take the service down.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PerformanceService {
    /// A builder with the defaults: in-memory cache, sysinfo probe, the guide's alert rules
    /// and optimizer config, the system clock.
    #[must_use]
    pub fn builder() -> PerformanceServiceBuilder {
        PerformanceServiceBuilder::default()
    }

    /// The recorder, for request middleware and application code (the same as
    /// `parts().recorder`).
    #[must_use]
    pub fn recorder(&self) -> &Arc<Recorder> {
        &self.inner.parts.recorder
    }

    /// The application's cache, for cache-aside reads in application code (the same as
    /// `parts().cache`; wrap it in a [`CacheAside`](perfkit_cache::CacheAside)).
    #[must_use]
    pub fn cache(&self) -> &Arc<dyn Cache> {
        &self.inner.parts.cache
    }

    /// The handle through which the host reports a cache of its own, one that perfkit does
    /// not own (an in-process LRU, an HTTP client's cache), under `name`: each read with
    /// whether it hit, each write. Its figures are shown beside perfkit's own cache's, named
    /// (`/cache/stats`'s `hostCaches`, the exposition's `perfkit_host_cache_*{cache}`, the
    /// dashboard's cache panel). At most 32 names; reports beyond them, or under a name
    /// longer than 64 bytes, are counted together as `(other)`. Keep the handle: it is
    /// cheap to clone, and each call of this method looks the name up.
    ///
    /// ```
    /// use perfkit::PerformanceService;
    ///
    /// let service = PerformanceService::builder().build()?;
    /// let sessions = service.host_cache("session-lru");
    /// sessions.record_read(false);
    /// sessions.record_write();
    /// sessions.record_read(true);
    /// let figures = &service.parts().host_caches.stats()[0];
    /// assert_eq!((figures.hits, figures.misses, figures.writes), (1, 1, 1));
    /// assert!(service.parts().exporter.render()?.contains(r#"perfkit_host_cache_hits_total{cache="session-lru"} 1"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn host_cache(&self, name: &str) -> perfkit_cache::HostCache {
        self.inner.parts.host_caches.cache(name)
    }

    /// Every part: recorder, probe, cache, alerts, optimizer, connections, exposition.
    #[must_use]
    pub fn parts(&self) -> &Parts {
        &self.inner.parts
    }

    /// The settings this service runs with.
    #[must_use]
    pub fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    /// Live events: snapshots, alert changes, optimizer runs.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.inner.events.subscribe()
    }

    /// A number that grows whenever what the service knows changes: a collection, an
    /// alert transition, an optimizer run, a report, a step counted, a reset. An edge that
    /// prepares answers from the service (perfkit-axum's `/summary` and `/dashboard`)
    /// rebuilds them when it moves; reading it is one atomic load.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    pub(crate) fn publish(&self, event: LiveEvent) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        // No subscribers is normal, not an error.
        let _ = self.inner.events.send(event);
    }

    /// Changes the state under its lock and publishes what the read paths need before the
    /// lock is released, so publications come in the order of the changes.
    pub(crate) fn update_state<R>(&self, change: impl FnOnce(&mut ServiceState) -> R) -> R {
        let mut state = lock(&self.inner.state);
        let result = change(&mut state);
        self.inner.published.store(Arc::new(PublishedState::of(&state)));
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        result
    }

    /// Runs `f` while holding the service's state lock: for tests that show a read path
    /// does not take it.
    #[cfg(any(test, feature = "test-hooks"))]
    #[doc(hidden)]
    pub fn with_state_locked<R>(&self, f: impl FnOnce() -> R) -> R {
        let _state = lock(&self.inner.state);
        f()
    }
}
