//! Assembles a `PerformanceService`: every part has a default, so `builder().build()` is a working
//! in-memory setup, and each setter swaps one part for yours.

use std::sync::{Arc, Mutex};

use perfkit_alerting::{AlertEngine, EngineConfig, NotificationPolicy, Notifier, RuleSet};
use perfkit_cache::{
    Cache, CacheAdmin, CacheBackend, CacheWarmer, Coordination, HostCaches, LocalCoordination,
    MemoryCache, MemoryConfig,
};
use perfkit_control::HeapAllocator;
use perfkit_core::{Clock, SystemClock};
use perfkit_host::{ConnectionRegistry, ConnectionRegistryConfig};
use perfkit_metrics::{PrometheusExporter, Recorder, SlowOperations, SysinfoProbe, SystemProbe};
use perfkit_optimizer::{
    CacheControl, ConnectionControl, Controls, MemoryControl, Optimizer, OptimizerConfig,
    PoolControl, QueueControl,
};
use tokio::sync::broadcast;

use super::state::ServiceState;
use super::{EVENT_CAPACITY, Inner, Parts, PerformanceService, ServiceConfig, lock};
use crate::PerfkitError;
use crate::adapters::{CacheController, ProcessMemoryControl, SystemHeap};
use crate::cache_collector::CacheStatsCollector;
use crate::database::{QueryPlanner, RecorderStatements};
use crate::heap_collector::HeapCollector;
use crate::host_cache_collector::{HostCachesCollector, MAX_HOST_CACHES};
use crate::host_collector::HostCollector;
use crate::indicators::{self, HealthCheckOptions, HealthIndicator, Indicator};
use crate::runtime_collector::RuntimeCollector;

/// Builds a [`PerformanceService`]. Every part has a default, so
/// `PerformanceService::builder().build()` gives a working in-memory setup; each setter
/// replaces one part with yours.
#[derive(Default)]
pub struct PerformanceServiceBuilder {
    config: ServiceConfig,
    clock: Option<Arc<dyn Clock>>,
    recorder: Option<Arc<Recorder>>,
    probe: Option<Arc<dyn SystemProbe>>,
    cache: Option<(Arc<dyn Cache>, Arc<dyn CacheAdmin>)>,
    alert_engine: Option<AlertEngine>,
    alert_rules: Option<RuleSet>,
    engine_config: Option<EngineConfig>,
    indicators: Vec<Indicator>,
    notifiers: Vec<(Arc<dyn Notifier>, NotificationPolicy)>,
    optimizer_config: Option<OptimizerConfig>,
    connections: Option<ConnectionRegistry>,
    cache_control: Option<Arc<dyn CacheControl>>,
    memory_control: Option<Arc<dyn MemoryControl>>,
    heap: Option<Arc<dyn HeapAllocator>>,
    connection_control: Option<Arc<dyn ConnectionControl>>,
    queue_control: Option<Arc<dyn QueueControl>>,
    coordination: Option<Arc<dyn Coordination>>,
    pool: Option<Arc<dyn PoolControl>>,
    planner: Option<Arc<dyn QueryPlanner>>,
    warmer: Option<Arc<dyn CacheWarmer>>,
}

impl std::fmt::Debug for PerformanceServiceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerformanceServiceBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PerformanceServiceBuilder {
    /// Schedules, history size, targets (default: the guide's).
    #[must_use]
    pub fn config(mut self, config: ServiceConfig) -> Self {
        self.config = config;
        self
    }

    /// Where time comes from (default: the system clock). Tests on tokio's paused time pass
    /// a [`TokioClock`](crate::TokioClock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The recorder requests are recorded into (default: a new one with default limits).
    #[must_use]
    pub fn recorder(mut self, recorder: Arc<Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// The system probe (default: [`SysinfoProbe`]).
    #[must_use]
    pub fn probe(mut self, probe: Arc<dyn SystemProbe>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// The cache (default: a 64 MiB [`MemoryCache`]): one backend as both its data path and
    /// its administration.
    #[must_use]
    pub fn cache(self, backend: Arc<dyn CacheBackend>) -> Self {
        let admin: Arc<dyn CacheAdmin> = backend.clone();
        self.cache_parts(backend, admin)
    }

    /// The cache as two parts (mocks of each in tests): `cache` for the data path, `admin`
    /// for figures, clearing, optimization and the reserved keys.
    #[must_use]
    pub fn cache_parts(mut self, cache: Arc<dyn Cache>, admin: Arc<dyn CacheAdmin>) -> Self {
        self.cache = Some((cache, admin));
        self
    }

    /// A ready alert engine, used as it is (its notifiers' delivery workers are yours to
    /// run, and it keeps the clock it was made with: give it the service's); replaces
    /// [`alert_rules`](Self::alert_rules).
    #[must_use]
    pub fn alert_engine(mut self, engine: AlertEngine) -> Self {
        self.alert_engine = Some(engine);
        self
    }

    /// The alert rules (default: the guide's five and replica lag).
    #[must_use]
    pub fn alert_rules(mut self, rules: RuleSet) -> Self {
        self.alert_rules = Some(rules);
        self
    }

    /// The alert engine's settings: inhibit rules, history and silence limits, the
    /// `generatorURL` of notified alerts (default: [`EngineConfig::default`]).
    #[must_use]
    pub fn alert_engine_config(mut self, config: EngineConfig) -> Self {
        self.engine_config = Some(config);
        self
    }

    /// Registers a health indicator: a named async check of something the host depends on
    /// (a database ping, an upstream API), with a timeout and a criticality. The service
    /// runs it every `healthCheckInterval`; `/health` shows it, and a critical one that is
    /// down makes the service unhealthy and not ready. Names are checked at `build`.
    #[must_use]
    pub fn health_indicator(
        mut self,
        name: &str,
        options: HealthCheckOptions,
        indicator: impl HealthIndicator + 'static,
    ) -> Self {
        self.indicators.push(Indicator {
            name: name.to_owned(),
            options,
            check: Arc::new(indicator),
        });
        self
    }

    /// Adds a notifier; its delivery starts and stops with the service.
    #[must_use]
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>, policy: NotificationPolicy) -> Self {
        self.notifiers.push((notifier, policy));
        self
    }

    /// The optimizer's config (default: the guide's).
    #[must_use]
    pub fn optimizer_config(mut self, config: OptimizerConfig) -> Self {
        self.optimizer_config = Some(config);
        self
    }

    /// The registry of live connections (default: a new one; it is also the optimizer's
    /// connection control unless [`connection_control`](Self::connection_control) is set).
    #[must_use]
    pub fn connections(mut self, registry: ConnectionRegistry) -> Self {
        self.connections = Some(registry);
        self
    }

    /// What the optimizer acts on for the cache (default: the service's cache).
    #[must_use]
    pub fn cache_control(mut self, control: Arc<dyn CacheControl>) -> Self {
        self.cache_control = Some(control);
        self
    }

    /// What the optimizer acts on for memory (default: this process, through the probe).
    #[must_use]
    pub fn memory_control(mut self, control: Arc<dyn MemoryControl>) -> Self {
        self.memory_control = Some(control);
        self
    }

    /// The allocator this process runs on (default: [`SystemHeap`], glibc's malloc where
    /// there is one). A binary with its own `#[global_allocator]` gives its own here, at
    /// start-up: the memory action releases through it, and its heap figures are in
    /// `/metrics/system`, the memory profile and the exposition.
    #[must_use]
    pub fn heap_allocator(mut self, heap: Arc<dyn HeapAllocator>) -> Self {
        self.heap = Some(heap);
        self
    }

    /// What the optimizer acts on for connections (default: the connection registry).
    #[must_use]
    pub fn connection_control(mut self, control: Arc<dyn ConnectionControl>) -> Self {
        self.connection_control = Some(control);
        self
    }

    /// The job queue the optimizer scales (default: none; a
    /// [`WorkerPool`](crate::host::WorkerPool) is one).
    #[must_use]
    pub fn queue_control(mut self, control: Arc<dyn QueueControl>) -> Self {
        self.queue_control = Some(control);
        self
    }

    /// How this instance coordinates with others sharing its cache: announcements and the
    /// locks optimizer runs and cache clears take (default: [`LocalCoordination`], this
    /// process alone). With a Redis cache shared by several instances, pass
    /// [`RedisCache::coordination`](perfkit_cache::RedisCache::coordination).
    #[must_use]
    pub fn coordination(mut self, coordination: Arc<dyn Coordination>) -> Self {
        self.coordination = Some(coordination);
        self
    }

    /// The database pool (default: none): its figures go into every snapshot and the
    /// exposition, and the optimizer sizes it (or reports the size, for a pool that cannot
    /// be resized at run time). `perfkit_sqlx::SqlxPool` is one.
    #[must_use]
    pub fn database_pool(mut self, pool: Arc<dyn PoolControl>) -> Self {
        self.pool = Some(pool);
        self
    }

    /// Explains measured statements on demand (default: none). `perfkit_sqlx::PgPlanner`
    /// is one, for PostgreSQL.
    #[must_use]
    pub fn query_planner(mut self, planner: Arc<dyn QueryPlanner>) -> Self {
        self.planner = Some(planner);
        self
    }

    /// Loads the hottest keys back after each cache clear (default: none); its figures join
    /// the cache's in `/cache/stats` and the exposition. The host warms at start-up itself,
    /// before it serves.
    #[must_use]
    pub fn cache_warmer(mut self, warmer: Arc<dyn CacheWarmer>) -> Self {
        self.warmer = Some(warmer);
        self
    }

    /// Builds the service; it does nothing until [`start`](PerformanceService::start).
    ///
    /// # Errors
    /// [`PerfkitError::InvalidConfig`] for a bad service config, [`PerfkitError::Optimizer`]
    /// or [`PerfkitError::Alerting`] for a bad optimizer config or rule set,
    /// [`PerfkitError::Host`] for a bad connection registry config,
    /// [`PerfkitError::Setup`] when the default probe or the exposition cannot be set up.
    pub fn build(self) -> Result<PerformanceService, PerfkitError> {
        self.config.validate()?;
        indicators::validate(&self.indicators)?;
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let recorder = self.recorder.unwrap_or_default();
        let probe: Arc<dyn SystemProbe> = match self.probe {
            Some(probe) => probe,
            None => Arc::new(SysinfoProbe::with_clock(Arc::clone(&clock)).map_err(|e| {
                PerfkitError::Setup { part: "system probe", message: e.to_string() }
            })?),
        };
        let (cache, cache_admin) = self.cache.unwrap_or_else(|| {
            let backend = Arc::new(MemoryCache::new(MemoryConfig::default()));
            (backend.clone(), backend)
        });
        let reserved_cache = cache_admin.reserved();
        let coordination = self
            .coordination
            .unwrap_or_else(|| Arc::new(LocalCoordination::new(Arc::clone(&clock))));

        let mut delivery_workers = Vec::new();
        let alerts = match self.alert_engine {
            Some(engine) => engine,
            None => AlertEngine::new(
                self.alert_rules.unwrap_or_default(),
                self.engine_config.unwrap_or_default(),
                Arc::clone(&clock),
            )?,
        };
        for (notifier, policy) in self.notifiers {
            delivery_workers.push(alerts.add_notifier(notifier, policy));
        }

        let connections = self.connections.unwrap_or_else(|| {
            ConnectionRegistry::new(ConnectionRegistryConfig::default(), Arc::clone(&clock))
        });
        connections.config().validate()?;
        // The registry owns the connection figure unless the host gave its own control.
        let registry_owns_connections = self.connection_control.is_none();
        let connection_control: Arc<dyn ConnectionControl> =
            self.connection_control.unwrap_or_else(|| Arc::new(connections.clone()));
        let heap: Arc<dyn HeapAllocator> = self.heap.unwrap_or_else(|| Arc::new(SystemHeap));
        let controls = Controls {
            cache: Some(
                self.cache_control
                    .unwrap_or_else(|| Arc::new(CacheController::new(Arc::clone(&cache_admin)))),
            ),
            connections: Some(Arc::clone(&connection_control)),
            memory: Some(self.memory_control.unwrap_or_else(|| {
                Arc::new(ProcessMemoryControl::new(
                    Arc::clone(&probe),
                    Some(Arc::clone(&cache_admin)),
                    Arc::clone(&heap),
                ))
            })),
            queue: self.queue_control.clone(),
            pool: self.pool.clone(),
            statements: Some(Arc::new(RecorderStatements(Arc::clone(&recorder)))),
        };
        let optimizer = Optimizer::new(
            self.optimizer_config.unwrap_or_default(),
            controls,
            Arc::clone(&clock),
        )?;

        let exporter =
            PrometheusExporter::new(Arc::clone(&recorder), Some(Arc::clone(&probe))).map_err(
                |e| PerfkitError::Setup { part: "prometheus exposition", message: e.to_string() },
            )?;
        // The first interval's cache hit rate counts from here, like the recorder's.
        let counters = cache_admin.counters();
        let state = Arc::new(Mutex::new(ServiceState::new(
            self.config.history_capacity,
            (counters.hits, counters.misses),
        )));
        let setup_error = |e: prometheus::Error| PerfkitError::Setup {
            part: "prometheus exposition",
            message: e.to_string(),
        };
        let slow_operations = Arc::new(
            SlowOperations::new(self.config.slow_operations.clone(), Arc::clone(&clock))
                .map_err(|e| PerfkitError::InvalidConfig(vec![e.to_string()]))?,
        );
        let registry = exporter.registry();
        registry
            .register(Box::new(SlowOperationsCollector(Arc::clone(&slow_operations))))
            .map_err(setup_error)?;
        registry
            .register(Box::new(CacheStatsCollector::new(
                Arc::clone(&cache_admin),
                self.warmer.clone(),
            )?))
            .map_err(setup_error)?;
        let host_caches = Arc::new(HostCaches::new(MAX_HOST_CACHES));
        registry
            .register(Box::new(HostCachesCollector::new(Arc::clone(&host_caches))?))
            .map_err(setup_error)?;
        registry.register(Box::new(RuntimeCollector::new()?)).map_err(setup_error)?;
        registry.register(Box::new(HeapCollector::new(Arc::clone(&heap))?)).map_err(setup_error)?;
        registry
            .register(Box::new(HostCollector::new(
                registry_owns_connections.then(|| connections.clone()),
                Arc::clone(&state),
            )?))
            .map_err(setup_error)?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let published = {
            let mut state = lock(&state);
            state.delivery = alerts.delivery_stats();
            super::PublishedState::of(&state)
        };
        let inner = Arc::new(Inner {
            parts: Parts {
                recorder,
                probe,
                cache,
                cache_admin,
                host_caches,
                alerts: Arc::new(alerts),
                optimizer: Arc::new(optimizer),
                connections,
                coordination,
                exporter,
                slow_operations,
                pool: self.pool,
                planner: self.planner,
                heap,
                warmer: self.warmer,
            },
            clock,
            reserved_cache,
            connection_control,
            queue: self.queue_control,
            published: arc_swap::ArcSwap::from_pointee(published),
            state,
            is_running: std::sync::atomic::AtomicBool::new(false),
            generation: std::sync::atomic::AtomicU64::new(0),
            events,
            running: Mutex::new(None),
            delivery_workers: Mutex::new(delivery_workers),
            readings: arc_swap::ArcSwap::from_pointee(vec![None; self.indicators.len()]),
            indicators: self.indicators,
            config: self.config,
        });
        Ok(PerformanceService { inner })
    }
}

/// The slow-operation helper as a collector of the exposition, shared with `Parts`.
struct SlowOperationsCollector(Arc<SlowOperations>);

impl prometheus::core::Collector for SlowOperationsCollector {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        prometheus::core::Collector::desc(&*self.0)
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        prometheus::core::Collector::collect(&*self.0)
    }
}
