#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The schedule on tokio's paused clock: the guide's intervals, failures, panics, shutdown.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use perfkit::cache::{
    Cache, CacheAdmin, CacheError, CacheStats, MockCache, MockCacheAdmin, OptimizeReport,
};
use perfkit::core::Timestamp;
use perfkit::metrics::{MetricsError, SystemMetrics, SystemProbe};
use perfkit::optimizer::RunTrigger;
use perfkit::{HealthStatus, PerformanceService, TokioClock};
use support::{MockProbe, service_with, settle, steady_cache, steady_probe, system_figures};

/// Just short of `minutes`, so ticks due exactly at the end are not counted.
async fn run_for(minutes: u64) {
    tokio::time::sleep(Duration::from_secs(minutes * 60) - Duration::from_millis(1)).await;
    settle().await;
}

#[tokio::test(start_paused = true)]
async fn fifteen_minutes_give_30_collections_3_reports_and_1_optimization_check() {
    let probe_calls = Arc::new(AtomicU64::new(0));
    let service = service_with(steady_probe(Arc::clone(&probe_calls)), steady_cache());
    service.start();
    run_for(15).await;

    let status = service.readout().status();
    assert_eq!(status.steps["collect"].runs, 30, "{status:?}");
    assert_eq!(status.steps["report"].runs, 3, "{status:?}");
    assert_eq!(status.steps["optimize"].runs, 1, "{status:?}");
    assert_eq!(service.readout().history(1000).len(), 30);
    assert_eq!(probe_calls.load(Ordering::Relaxed), 30, "one probe reading per collection");
    let runs = service.parts().optimizer.history(10);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger, RunTrigger::Auto);

    // Snapshots are 30 s apart on the service's clock and carry the probe's and cache's figures.
    let history = service.readout().history(2);
    assert_eq!(history[1].timestamp.duration_since(history[0].timestamp), Duration::from_secs(30));
    assert_eq!(history[1].memory_usage, Some(0.5));
    assert_eq!(history[1].cpu_usage, Some(0.3));
    assert_eq!(history[1].cache_hit_rate, Some(0.9));
    assert_eq!(service.readout().health().status, HealthStatus::Healthy);
    service.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn no_optimization_check_acts_while_auto_is_off() {
    let service = service_with(steady_probe(Arc::default()), steady_cache());
    service.parts().optimizer.set_auto(false);
    service.start();
    run_for(31).await;
    assert!(service.parts().optimizer.history(10).is_empty());
    service.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_ring_keeps_exactly_the_last_1000_snapshots() {
    let service = service_with(steady_probe(Arc::default()), steady_cache());
    service.start();
    // 1100 collections at 30 s: 9 h 10 min.
    run_for(1100 / 2).await;
    let history = service.readout().history(5000);
    assert_eq!(service.readout().status().steps["collect"].runs, 1100);
    assert_eq!(history.len(), 1000);
    let newest = service.readout().latest().unwrap();
    assert_eq!(history.last().unwrap(), &newest);
    let span = newest.timestamp.duration_since(history[0].timestamp);
    assert_eq!(span, Duration::from_secs(999 * 30));
    service.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_probe_failing_every_other_call_degrades_health_and_collection_continues() {
    let calls = Arc::new(AtomicU64::new(0));
    let mut probe = MockProbe::new();
    let counted = Arc::clone(&calls);
    probe.expect_sample().returning(move || {
        if counted.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            Err(MetricsError::Probe("/proc unreadable".to_owned()))
        } else {
            Ok(system_figures(0.4, 0.2))
        }
    });
    probe.expect_fmt().returning(|f| f.write_str("FlakyProbe"));
    let service = service_with(probe, steady_cache());
    service.start();

    tokio::time::sleep(Duration::from_secs(1)).await; // first collection: the probe fails
    let health = service.readout().health();
    assert_eq!(health.status, HealthStatus::Degraded);
    assert_eq!(health.checks["probe"].status, HealthStatus::Degraded);
    assert!(health.checks["probe"].detail.contains("/proc unreadable"));
    assert_eq!(service.readout().latest().unwrap().memory_usage, None, "missing, not zero");

    tokio::time::sleep(Duration::from_millis(298_999)).await; // to just short of 5 minutes
    settle().await;
    let status = service.readout().status();
    assert_eq!(status.steps["collect"].runs, 10);
    assert_eq!(status.steps["collect"].panics, 0);
    let history = service.readout().history(10);
    assert_eq!(history.iter().filter(|s| s.memory_usage.is_some()).count(), 5);
    service.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_disconnected_cache_degrades_health_and_collection_continues() {
    let mut cache = support::bare_cache_admin();
    cache.expect_counters().returning(|| support::cache_stats(0, 0, false));
    cache.expect_stats().returning(|| support::cache_stats(0, 0, false));
    let service = service_with(steady_probe(Arc::default()), cache);
    service.start();
    run_for(2).await;
    let health = service.readout().health();
    assert_eq!(health.checks["cache"].status, HealthStatus::Degraded);
    assert_eq!(health.status, HealthStatus::Degraded);
    assert!(!service.readout().status().ready);
    assert_eq!(service.readout().status().steps["collect"].runs, 4);
    service.shutdown().await;
}

/// A probe that panics on its second reading. Hand-written: a panic inside a mockall
/// expectation poisons the mock, and every later call would panic too.
#[derive(Debug, Default)]
struct PanickyProbe {
    calls: AtomicU64,
}

impl SystemProbe for PanickyProbe {
    fn sample(&self) -> Result<SystemMetrics, MetricsError> {
        assert!(self.calls.fetch_add(1, Ordering::Relaxed) != 1, "probe bug on the second call");
        Ok(system_figures(0.4, 0.2))
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_step_is_counted_and_the_loop_goes_on() {
    let probe = Arc::new(PanickyProbe::default());
    let service = PerformanceService::builder()
        .clock(Arc::new(TokioClock::starting_at(Timestamp::from_unix_millis(0))))
        .probe(Arc::clone(&probe) as Arc<dyn SystemProbe>)
        .cache_parts(Arc::new(MockCache::new()), Arc::new(steady_cache()))
        .build()
        .unwrap();
    service.start();
    run_for(2).await;
    let collect = service.readout().status().steps["collect"];
    assert_eq!(collect.panics, 1);
    assert_eq!(collect.runs, 3);
    assert_eq!(probe.calls.load(Ordering::Relaxed), 4);
    service.shutdown().await;
}

/// A cache whose statistics never answer: a Redis that accepts connections and then hangs.
/// Hand-written because a mock answers at once; everything else goes to the mock.
#[derive(Debug)]
struct HangingStats(MockCacheAdmin);

#[async_trait::async_trait]
impl CacheAdmin for HangingStats {
    fn counters(&self) -> CacheStats {
        self.0.counters()
    }
    async fn stats(&self) -> CacheStats {
        std::future::pending().await
    }
    async fn optimize(&self) -> Result<OptimizeReport, CacheError> {
        self.0.optimize().await
    }
    async fn clear(&self) -> Result<u64, CacheError> {
        self.0.clear().await
    }
    async fn delete_pattern(&self, prefix: &str) -> Result<u64, CacheError> {
        self.0.delete_pattern(prefix).await
    }
    fn reserved(&self) -> Arc<dyn Cache> {
        self.0.reserved()
    }
}

#[tokio::test(start_paused = true)]
async fn a_hung_cache_costs_one_timeout_per_collection_not_the_loop() {
    let cache = HangingStats(support::cache_admin());
    let service = PerformanceService::builder()
        .clock(Arc::new(TokioClock::starting_at(Timestamp::from_unix_millis(0))))
        .probe(Arc::new(steady_probe(Arc::default())))
        .cache_parts(Arc::new(MockCache::new()), Arc::new(cache))
        .build()
        .unwrap();
    service.start();
    run_for(2).await;
    assert_eq!(
        service.readout().status().steps["collect"].runs,
        4,
        "every 30 s despite a 2 s wait each"
    );
    let cache_health = &service.readout().health().checks["cache"];
    assert_eq!(cache_health.status, HealthStatus::Degraded);
    assert!(cache_health.detail.contains("did not answer"), "{}", cache_health.detail);
    assert_eq!(
        service.readout().latest().unwrap().memory_usage,
        Some(0.5),
        "other figures still collected"
    );
    tokio::time::timeout(Duration::from_secs(1), service.shutdown()).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_returns_promptly_and_leaves_nothing_running() {
    let probe_calls = Arc::new(AtomicU64::new(0));
    let service = service_with(steady_probe(Arc::clone(&probe_calls)), steady_cache());
    service.start();
    service.start(); // a second start is a no-op
    run_for(1).await;
    assert!(service.is_running());

    let started = tokio::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(1), service.shutdown())
        .await
        .expect("shutdown within a second");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(!service.is_running());

    // Nothing collects any more: the probe is never called again.
    let calls_at_shutdown = probe_calls.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(probe_calls.load(Ordering::Relaxed), calls_at_shutdown);
    assert_eq!(service.readout().health().checks["collector"].status, HealthStatus::Unhealthy);
    service.shutdown().await; // a second shutdown is a no-op
}

#[tokio::test(start_paused = true)]
async fn live_events_carry_snapshots() {
    let service = service_with(steady_probe(Arc::default()), steady_cache());
    let mut events = service.subscribe();
    service.start();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let event = events.recv().await.unwrap();
    assert!(matches!(event, perfkit::LiveEvent::Snapshot(_)));
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["type"], "snapshot");
    assert!(json["data"]["timestamp"].is_string());
    service.shutdown().await;
}
