#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The service's answers, end to end through real parts where they exist (recorder,
//! in-memory cache, alert engine, optimizer) and mocks where the collaborator is external.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use mockall::mock;
use perfkit::alerting::{
    AlertStatus, AlertingError, Notification, NotificationPolicy, Notifier, RuleSet,
};
use perfkit::analysis::{Direction, Status};
use perfkit::cache::{Backend, CacheBackend, MemoryCache, MemoryConfig, MockCache, NearCacheStats};
use perfkit::core::{Metric, Timestamp};
use perfkit::metrics::Method;
use perfkit::optimizer::{ActionKind, OptimizerConfig, OptimizerError};
use perfkit::{PerformanceService, ServiceConfig, TokioClock};
use support::{cache_stats, settle, steady_probe};

mock! {
    pub Receiver {}
    #[async_trait]
    impl Notifier for Receiver {
        fn name(&self) -> &str;
        async fn notify(&self, notification: &Notification) -> Result<(), AlertingError>;
    }
    impl std::fmt::Debug for Receiver {
        fn fmt<'a>(&self, f: &mut std::fmt::Formatter<'a>) -> std::fmt::Result;
    }
}

fn clock() -> Arc<TokioClock> {
    Arc::new(TokioClock::starting_at(Timestamp::from_unix_millis(1_764_000_000_000)))
}

fn memory_service(cache: Arc<dyn CacheBackend>) -> PerformanceService {
    PerformanceService::builder()
        .clock(clock())
        .probe(Arc::new(steady_probe(Arc::default())))
        .cache(cache)
        .build()
        .unwrap()
}

fn memory_cache() -> Arc<dyn CacheBackend> {
    Arc::new(MemoryCache::new(MemoryConfig::default()))
}

#[tokio::test(start_paused = true)]
async fn slow_requests_fire_the_latency_alert_and_notify_once() {
    let notified = Arc::new(AtomicU64::new(0));
    let mut receiver = MockReceiver::new();
    receiver.expect_name().return_const("test-receiver".to_owned());
    receiver.expect_fmt().returning(|f| f.write_str("Receiver"));
    let counted = Arc::clone(&notified);
    receiver
        .expect_notify()
        .withf(|notification| {
            notification.status == AlertStatus::Firing
                && notification.alerts.iter().any(|alert| alert.labels.contains_key("alertname"))
        })
        .times(1)
        .returning(move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
            Ok(())
        });
    let service = PerformanceService::builder()
        .clock(clock())
        .probe(Arc::new(steady_probe(Arc::default())))
        .cache(memory_cache())
        .notifier(Arc::new(receiver), NotificationPolicy::default())
        .build()
        .unwrap();
    service.start();
    // Every request takes 2 s: P95 far above the guide's 1000 ms rule, for 5 minutes.
    for _ in 0..10 {
        for _ in 0..20 {
            service.recorder().record_request(
                Some("/slow"),
                Method::Get,
                200,
                Duration::from_secs(2),
            );
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    settle().await;
    let active = service.parts().alerts.active_alerts();
    assert!(active.iter().any(|alert| alert.is_firing()), "{active:?}");
    assert_eq!(
        notified.load(Ordering::Relaxed),
        1,
        "one firing notification, not one per collection"
    );

    assert!(service.parts().alerts.clear() >= 1);
    assert!(service.parts().alerts.active_alerts().is_empty());
    service.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn reports_carry_averages_trends_and_the_score() {
    let service = memory_service(memory_cache());
    // Latency climbing 100 ms per collection, over ten collections 30 s apart.
    for step in 1..=10u64 {
        for _ in 0..50 {
            service.recorder().record_request(
                Some("/api/posts"),
                Method::Get,
                200,
                Duration::from_millis(100 * step),
            );
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
        service.collect_now().await;
    }
    let report = service.readout().report().await;
    let period = report.period.unwrap();
    assert_eq!(period.snapshots, 10);
    let p95 = report.averages[&Metric::P95];
    assert!((p95 - 550.0).abs() < 10.0, "{p95}");
    let trend = report.trends.iter().find(|t| t.metric == Metric::P95).unwrap();
    assert_eq!(trend.direction, Direction::Degrading);
    assert!(trend.confidence > 0.99, "{}", trend.confidence);
    assert!((trend.slope_per_hour - 12_000.0).abs() < 200.0, "{}", trend.slope_per_hour);
    assert_eq!(report.slowest_routes[0].route, "/api/posts");
    assert!(report.score.score.is_some());
    assert_ne!(report.score.status, Status::Unknown);
    assert_eq!(service.readout().history(1000).len(), 10);
}

#[tokio::test(start_paused = true)]
async fn a_low_hit_rate_is_recommended_for_and_shown_in_the_exposition() {
    let mut cache = support::bare_cache_admin();
    // Each read of the counters finds 1000 more reads, 30 % of them hits: at the build
    // (the baseline), at each of two collections, for the optimizer's per-prefix advice,
    // and at the scrape.
    let reads = Arc::new(AtomicU64::new(0));
    cache.expect_counters().times(5).returning(move || {
        let total = reads.fetch_add(1000, Ordering::Relaxed) + 1000;
        cache_stats(total * 3 / 10, total * 7 / 10, true)
    });
    cache.expect_stats().returning(|| cache_stats(0, 0, true));
    let service = PerformanceService::builder()
        .clock(clock())
        .probe(Arc::new(steady_probe(Arc::default())))
        .cache_parts(Arc::new(MockCache::new()), Arc::new(cache))
        .build()
        .unwrap();
    service.collect_now().await;
    service.collect_now().await;
    assert_eq!(service.readout().latest().unwrap().cache_hit_rate, Some(0.3));
    let latest = service.readout().latest().unwrap();
    let recommendations = service.parts().optimizer.recommend(&latest).await;
    let cache = recommendations.iter().find(|r| r.action == ActionKind::OptimizeCache).unwrap();
    assert!(cache.reason.to_lowercase().contains("hit rate"), "{}", cache.reason);
    let text = service.parts().exporter.render().unwrap();
    // Read when scraped, not at the last collection (which saw 900 hits).
    assert!(text.contains("perfkit_cache_hits_total{backend=\"memory\"} 1500"), "{text}");
    assert!(text.contains("cache_hit_rate 0.3"), "{text}");
    assert!(text.contains("# TYPE perfkit_cache_connected gauge"));
}

#[tokio::test(start_paused = true)]
async fn a_near_cache_shows_its_front_and_both_tiers_in_the_exposition_and_the_snapshot() {
    let mut cache = support::bare_cache_admin();
    let reads = Arc::new(AtomicU64::new(0));
    // Each read finds 100 more reads: 60 answered by the front, 20 by Redis, 20 misses.
    cache.expect_counters().returning(move || {
        let n = reads.fetch_add(100, Ordering::Relaxed) / 100 + 1;
        let mut stats = cache_stats(80 * n, 20 * n, true);
        stats.backend = Backend::Redis;
        stats.near = Some(NearCacheStats {
            front_hits: 60 * n,
            back_hits: 20 * n,
            invalidations: 7,
            flushes: 1,
            evictions: 2,
            keys: 5,
            bytes: 321,
            max_bytes: 1024,
            tracking: true,
        });
        stats
    });
    cache.expect_stats().returning(|| cache_stats(0, 0, true));
    let service = PerformanceService::builder()
        .clock(clock())
        .probe(Arc::new(steady_probe(Arc::default())))
        .cache_parts(Arc::new(MockCache::new()), Arc::new(cache))
        .build()
        .unwrap();
    service.collect_now().await;
    // Front and back hits both count: 80 of each 100 reads.
    assert_eq!(service.readout().latest().unwrap().cache_hit_rate, Some(0.8));
    let text = service.parts().exporter.render().unwrap();
    for line in [
        "perfkit_cache_tier_hits_total{backend=\"redis\",tier=\"front\"} 180",
        "perfkit_cache_tier_hits_total{backend=\"redis\",tier=\"back\"} 60",
        "perfkit_cache_hits_total{backend=\"redis\"} 240",
        "perfkit_cache_front_invalidations_total{backend=\"redis\"} 7",
        "perfkit_cache_front_flushes_total{backend=\"redis\"} 1",
        "perfkit_cache_front_evictions_total{backend=\"redis\"} 2",
        "perfkit_cache_front_keys{backend=\"redis\"} 5",
        "perfkit_cache_front_bytes{backend=\"redis\"} 321",
        "perfkit_cache_front_max_bytes{backend=\"redis\"} 1024",
        "perfkit_cache_front_tracking{backend=\"redis\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_cache_without_a_front_adds_no_front_families() {
    let text = memory_service(memory_cache()).parts().exporter.render().unwrap();
    assert!(text.contains("perfkit_cache_hits_total"), "{text}");
    assert!(!text.contains("perfkit_cache_front_") && !text.contains("tier_hits"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn reset_clears_history_and_application_metrics() {
    let service = memory_service(memory_cache());
    service.recorder().record_request(None, Method::Get, 200, Duration::from_millis(5));
    service.collect_now().await;
    assert_eq!(service.readout().history(10).len(), 1);
    service.reset_metrics();
    assert!(service.readout().history(10).is_empty());
    assert_eq!(service.recorder().snapshot().requests.total, 0);
}

#[tokio::test]
async fn invalid_updates_are_refused_whole() {
    let service = memory_service(memory_cache());
    let before = service.parts().optimizer.config();
    let mut bad = before.clone();
    bad.cache_optimization.hit_rate_threshold = 7.0;
    bad.queue_scaling.min_workers = 10;
    bad.queue_scaling.max_workers = 2;
    let error = service.parts().optimizer.update_config(bad).unwrap_err();
    assert!(matches!(error, OptimizerError::InvalidConfig(_)), "{error}");
    assert_eq!(service.parts().optimizer.config(), before);

    let rules_before = service.parts().alerts.rules();
    let mut bad_rules = RuleSet::default();
    bad_rules.rules[0].name = String::new();
    let duplicate = bad_rules.rules[1].clone();
    bad_rules.rules.push(duplicate);
    let error = service.parts().alerts.replace_rules(bad_rules).unwrap_err();
    assert!(matches!(error, AlertingError::InvalidRules { .. }), "{error}");
    assert_eq!(service.parts().alerts.rules(), rules_before);

    service.parts().optimizer.set_auto(false);
    assert!(!service.parts().optimizer.config().mode.auto);
    let valid = OptimizerConfig::default();
    service.parts().optimizer.update_config(valid.clone()).unwrap();
    assert_eq!(service.parts().optimizer.config(), valid);
}

#[tokio::test(start_paused = true)]
async fn history_persisted_in_the_cache_survives_a_restart() {
    let cache = memory_cache();
    let config = ServiceConfig {
        persist_history: true,
        instance: "api-1".to_owned(),
        ..ServiceConfig::default()
    };
    let first = PerformanceService::builder()
        .config(config.clone())
        .clock(clock())
        .probe(Arc::new(steady_probe(Arc::default())))
        .cache(Arc::clone(&cache))
        .build()
        .unwrap();
    first.start();
    tokio::time::sleep(Duration::from_secs(95)).await; // collections at 0, 30, 60, 90 s
    first.shutdown().await;
    assert_eq!(first.readout().history(100).len(), 4);
    // The history is perfkit's own key: clearing the application's cache leaves it.
    assert_eq!(first.parts().cache_admin.clear().await.unwrap(), 0);

    let second = PerformanceService::builder()
        .config(config)
        .clock(clock())
        .probe(Arc::new(steady_probe(Arc::default())))
        .cache(Arc::clone(&cache))
        .build()
        .unwrap();
    second.start();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(second.readout().history(100).len(), 5, "4 restored + 1 new");
    assert_eq!(second.readout().persisted_history("api-1").await.unwrap().len(), 5);
    assert!(second.readout().persisted_history("api-2").await.unwrap().is_empty());
    second.shutdown().await;
}

#[tokio::test]
async fn instances_sharing_redis_read_each_others_history() {
    let redis = perfkit_testing::RedisServer::start();
    let namespace = perfkit_testing::unique_namespace("history");
    let connect = || async {
        let config = perfkit::cache::RedisConfig {
            url: redis.url().to_owned(),
            namespace: namespace.clone(),
            ..perfkit::cache::RedisConfig::default()
        };
        Arc::new(perfkit::cache::RedisCache::connect(config).await.unwrap())
            as Arc<dyn CacheBackend>
    };
    let service = |instance: &str, cache: Arc<dyn CacheBackend>| {
        PerformanceService::builder()
            .config(ServiceConfig {
                persist_history: true,
                instance: instance.to_owned(),
                ..ServiceConfig::default()
            })
            .probe(Arc::new(steady_probe(Arc::default())))
            .cache(cache)
            .build()
            .unwrap()
    };
    let a = service("a", connect().await);
    let b = service("b", connect().await);
    a.collect_now().await;
    a.collect_now().await;
    b.collect_now().await;
    assert_eq!(b.readout().persisted_history("a").await.unwrap().len(), 2);
    assert_eq!(a.readout().persisted_history("b").await.unwrap().len(), 1);
    b.parts().cache_admin.clear().await.unwrap();
    assert_eq!(b.parts().cache_admin.delete_pattern("~").await.unwrap(), 0);
    assert_eq!(
        b.readout().persisted_history("a").await.unwrap().len(),
        2,
        "history survives clearing"
    );
    assert!(b.parts().cache_admin.stats().await.connected);
}
