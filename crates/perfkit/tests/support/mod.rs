//! mockall mocks of the service's collaborators (the cache's come from perfkit-cache's
//! `mock` feature), and a service built from them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mockall::mock;
use perfkit::cache::{Backend, BreakerState, CacheStats, MockCache, MockCacheAdmin};
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
        estimated: false,
        count: None,
        prefixes: Vec::new(),
        evictions: 0,
        errors: 0,
        connected,
        breaker: BreakerState::Closed,
        compressed_bytes_saved: 0,
        server: None,
        near: None,
        warming: None,
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

/// A cache administration mock with a reserved handle (a data-path mock that expects no
/// calls) and no other expectations yet.
pub(crate) fn cache_admin() -> MockCacheAdmin {
    let mut admin = bare_cache_admin();
    admin.expect_counters().returning(|| cache_stats(0, 0, true));
    admin
}

/// A cache administration mock with only the reserved handle: the test sets the counters.
pub(crate) fn bare_cache_admin() -> MockCacheAdmin {
    let mut admin = MockCacheAdmin::new();
    admin.expect_reserved().returning(|| Arc::new(MockCache::new()));
    admin
}

/// A cache administration mock whose counters report a growing number of reads, 90 % hits.
pub(crate) fn steady_cache() -> MockCacheAdmin {
    let mut admin = bare_cache_admin();
    let reads = Arc::new(AtomicU64::new(0));
    admin.expect_counters().returning(move || {
        let total = reads.fetch_add(100, Ordering::Relaxed) + 100;
        cache_stats(total * 9 / 10, total / 10, true)
    });
    admin.expect_stats().returning(|| cache_stats(0, 0, true));
    admin
}

/// A service on tokio's (paused) clock with the guide's intervals and the given parts; the
/// cache's data path is a mock that expects no calls (the schedule never reads the cache).
pub(crate) fn service_with(probe: MockProbe, admin: MockCacheAdmin) -> PerformanceService {
    PerformanceService::builder()
        .config(ServiceConfig::default())
        .clock(Arc::new(TokioClock::starting_at(Timestamp::from_unix_millis(1_764_000_000_000))))
        .probe(Arc::new(probe))
        .cache_parts(Arc::new(MockCache::new()), Arc::new(admin))
        .build()
        .unwrap()
}

/// Lets every task that is ready run, without moving the paused clock.
pub(crate) async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}
