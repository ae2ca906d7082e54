//! mockall mocks of the service's collaborators, and a service built from them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use mockall::mock;
use perfkit::cache::{
    Backend, BreakerState, Cache, CacheError, CacheStats, Compute, OptimizeReport,
};
use perfkit::core::Timestamp;
use perfkit::metrics::{
    DiskIo, LoadAverage, MemoryFigures, MetricsError, NetworkTraffic, ProcessFigures,
    SystemMetrics, SystemProbe,
};
use perfkit::{PerformanceService, ServiceConfig, TokioClock};

mock! {
    pub Probe {}
    impl SystemProbe for Probe {
        fn sample(&self) -> Result<SystemMetrics, MetricsError>;
    }
    impl std::fmt::Debug for Probe {
        fn fmt<'a>(&self, f: &mut std::fmt::Formatter<'a>) -> std::fmt::Result;
    }
}

/// The part of `Cache` the service uses on its schedule. mockall cannot mock `mget`/`mset`
/// (slices of borrowed tuples), so the mock covers this narrower trait and [`MockedCache`]
/// adapts it to `Cache`.
#[async_trait]
pub(crate) trait CacheParts: Send + Sync {
    async fn stats(&self) -> CacheStats;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError>;
    async fn optimize(&self) -> Result<OptimizeReport, CacheError>;
    async fn clear(&self) -> Result<u64, CacheError>;
    async fn delete_pattern(&self, prefix: &str) -> Result<u64, CacheError>;
}

mock! {
    pub CacheBackend {}
    #[async_trait]
    impl CacheParts for CacheBackend {
        async fn stats(&self) -> CacheStats;
        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
        async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError>;
        async fn optimize(&self) -> Result<OptimizeReport, CacheError>;
        async fn clear(&self) -> Result<u64, CacheError>;
        async fn delete_pattern(&self, prefix: &str) -> Result<u64, CacheError>;
    }
}

/// A `Cache` whose every call goes to a [`MockCacheBackend`]; calls outside [`CacheParts`]
/// fail, so a test notices if the service starts using them.
pub(crate) struct MockedCache(pub(crate) MockCacheBackend);

impl std::fmt::Debug for MockedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MockedCache")
    }
}

fn not_mocked(operation: &str) -> CacheError {
    CacheError::InvalidConfig(format!("{operation} is not part of the mocked cache"))
}

#[async_trait]
impl Cache for MockedCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.0.get(key).await
    }
    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError> {
        self.0.set(key, value, ttl).await
    }
    async fn delete(&self, _key: &str) -> Result<bool, CacheError> {
        Err(not_mocked("delete"))
    }
    async fn exists(&self, _key: &str) -> Result<bool, CacheError> {
        Err(not_mocked("exists"))
    }
    async fn ttl(&self, _key: &str) -> Result<Option<Duration>, CacheError> {
        Err(not_mocked("ttl"))
    }
    async fn mget(&self, _keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, CacheError> {
        Err(not_mocked("mget"))
    }
    async fn mset(
        &self,
        _entries: &[(&str, &[u8])],
        _ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        Err(not_mocked("mset"))
    }
    async fn delete_pattern(&self, prefix: &str) -> Result<u64, CacheError> {
        self.0.delete_pattern(prefix).await
    }
    async fn increment(&self, _key: &str, _ttl: Option<Duration>) -> Result<i64, CacheError> {
        Err(not_mocked("increment"))
    }
    async fn get_or_compute(
        &self,
        _key: &str,
        _ttl: Option<Duration>,
        _compute: Compute<'_>,
    ) -> Result<Vec<u8>, CacheError> {
        Err(not_mocked("get_or_compute"))
    }
    async fn stats(&self) -> CacheStats {
        self.0.stats().await
    }
    async fn optimize(&self) -> Result<OptimizeReport, CacheError> {
        self.0.optimize().await
    }
    async fn clear(&self) -> Result<u64, CacheError> {
        self.0.clear().await
    }
}

/// System figures as a healthy machine reports them.
pub(crate) fn system_figures(memory_usage: f64, cpu_usage: f64) -> SystemMetrics {
    SystemMetrics {
        timestamp: Timestamp::UNIX_EPOCH,
        cpu_usage: Some(cpu_usage),
        cpu_count: 2,
        load_average: LoadAverage::default(),
        memory: MemoryFigures {
            total_bytes: 1 << 34,
            used_bytes: 1 << 33,
            free_bytes: 1 << 33,
            available_bytes: 1 << 33,
            usage: memory_usage,
        },
        disks: Vec::new(),
        disk_io: DiskIo::default(),
        network: NetworkTraffic::default(),
        process: ProcessFigures {
            pid: 1,
            resident_memory_bytes: 50 << 20,
            ..ProcessFigures::default()
        },
    }
}

/// Cache statistics with the given reads.
pub(crate) fn cache_stats(hits: u64, misses: u64, connected: bool) -> CacheStats {
    #[allow(clippy::cast_precision_loss)]
    let hit_rate = if hits + misses == 0 { 0.0 } else { hits as f64 / (hits + misses) as f64 };
    CacheStats {
        backend: Backend::Memory,
        hits,
        misses,
        hit_rate,
        keys: 10,
        bytes: 1000,
        evictions: 0,
        errors: 0,
        connected,
        breaker: BreakerState::Closed,
        compressed_bytes_saved: 0,
        server: None,
    }
}

/// A probe that always answers with the given figures, counting its calls.
pub(crate) fn steady_probe(calls: Arc<AtomicU64>) -> MockProbe {
    let mut probe = MockProbe::new();
    probe.expect_sample().returning(move || {
        calls.fetch_add(1, Ordering::Relaxed);
        Ok(system_figures(0.5, 0.3))
    });
    probe.expect_fmt().returning(|f| f.write_str("MockProbe"));
    probe
}

/// A cache mock whose statistics report a growing number of reads, 90 % hits.
pub(crate) fn steady_cache() -> MockCacheBackend {
    let mut cache = MockCacheBackend::new();
    let reads = Arc::new(AtomicU64::new(0));
    cache.expect_stats().returning(move || {
        let total = reads.fetch_add(100, Ordering::Relaxed) + 100;
        cache_stats(total * 9 / 10, total / 10, true)
    });
    cache
}

/// A service on tokio's (paused) clock with the seed's intervals and the given parts.
pub(crate) fn service_with(probe: MockProbe, cache: MockCacheBackend) -> PerformanceService {
    PerformanceService::builder()
        .config(ServiceConfig::default())
        .clock(Arc::new(TokioClock::starting_at(Timestamp::from_unix_millis(1_764_000_000_000))))
        .probe(Arc::new(probe))
        .cache(Arc::new(MockedCache(cache)))
        .build()
        .unwrap()
}

/// Lets every task that is ready run, without moving the paused clock.
pub(crate) async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}
