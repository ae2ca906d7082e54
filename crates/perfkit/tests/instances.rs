#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Several services on one coordination: they list each other, take turns at the optimizer,
//! and a busy turn is refused after the wait; the schedule keeps the stream's connections.

use std::sync::Arc;
use std::time::Duration;

use perfkit::cache::{CacheError, Coordination, LocalCoordination};
use perfkit::core::SystemClock;
use perfkit::host::{ConnectionRegistry, ConnectionRegistryConfig};
use perfkit::{OptimizationRun, PerfkitError, PerformanceService, ServiceConfig, TokioClock};

fn service(instance: &str, coordination: &Arc<LocalCoordination>) -> PerformanceService {
    PerformanceService::builder()
        .config(ServiceConfig {
            instance: instance.to_owned(),
            lock_wait: Duration::from_millis(200),
            ..ServiceConfig::default()
        })
        .coordination(coordination.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn services_on_one_coordination_list_each_other_and_withdraw_at_shutdown() {
    let coordination = Arc::new(LocalCoordination::new(Arc::new(SystemClock)));
    let (a, b) = (service("api-1", &coordination), service("api-2", &coordination));
    a.start();
    b.start();
    a.collect_now().await;
    b.collect_now().await;
    let listed = a.readout().instances().await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|i| i.instance.as_str()).collect();
    assert_eq!(ids, ["api-1", "api-2"]);
    assert!(listed.iter().all(|i| i.latest.is_some() && i.started_at.is_some()), "{listed:?}");
    assert_eq!(b.readout().instances().await.unwrap(), listed, "both see the same");

    b.shutdown().await;
    let ids: Vec<String> =
        a.readout().instances().await.unwrap().into_iter().map(|i| i.instance).collect();
    assert_eq!(ids, ["api-1"]);
    a.shutdown().await;
}

#[tokio::test]
async fn a_manual_run_waits_for_the_turn_and_is_refused_when_it_does_not_come() {
    let coordination = Arc::new(LocalCoordination::new(Arc::new(SystemClock)));
    let service = service("api-1", &coordination);
    let held = coordination.try_lock("optimizer", "api-2", Duration::from_secs(30)).await.unwrap();

    let refused = service.optimize(OptimizationRun::Forced).await.unwrap_err();
    assert!(
        matches!(&refused, PerfkitError::Cache(CacheError::LockBusy { holder: Some(h), .. }) if h == "api-2"),
        "{refused}"
    );
    assert!(service.parts().optimizer.history(10).is_empty(), "nothing ran");
    let cleared = service.clear_cache().await;
    assert!(cleared.is_ok(), "another lock: {cleared:?}");

    // Released within the wait: the run goes ahead once it is its turn.
    let release = {
        let coordination = coordination.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            coordination.unlock("optimizer", &held.unwrap()).await.unwrap()
        })
    };
    let record = service.optimize(OptimizationRun::Forced).await.unwrap();
    assert!(release.await.unwrap());
    assert_eq!(record.id, 1);
    assert_eq!(coordination.lock_holder("optimizer").await.unwrap(), None, "released");
}

#[tokio::test(start_paused = true)]
async fn the_schedule_pings_connections_and_drops_a_silent_one_within_two_heartbeats() {
    let clock = Arc::new(TokioClock::default());
    let registry = ConnectionRegistry::new(ConnectionRegistryConfig::default(), clock.clone());
    let service =
        PerformanceService::builder().clock(clock).connections(registry.clone()).build().unwrap();
    let _silent = registry.register().unwrap();
    service.start();
    tokio::time::sleep(Duration::from_secs(59)).await;
    assert_eq!(registry.len(), 1, "one heartbeat so far: pinged, not yet dropped");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(registry.is_empty(), "dropped at the second heartbeat (60 s)");
    service.shutdown().await;
}

#[test]
fn an_invalid_connection_config_is_refused_at_build() {
    let registry = ConnectionRegistry::new(
        ConnectionRegistryConfig { inactive_after: Duration::from_secs(1), ..Default::default() },
        Arc::new(SystemClock),
    );
    let error = PerformanceService::builder().connections(registry).build().unwrap_err();
    assert!(error.to_string().contains("inactiveAfter"), "{error}");
}
