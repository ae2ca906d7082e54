//! The connection registry on a manual clock, directly and through `ConnectionControl`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use perfkit_control::{ConnectionControl, ConnectionCounts};
use perfkit_core::{ManualClock, Timestamp};
use perfkit_host::{
    CloseReason, ConnectionRegistry, ConnectionRegistryConfig, ConnectionSignal, HeartbeatReport,
    HostError,
};

fn registry(max: usize) -> (ConnectionRegistry, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000)));
    let config = ConnectionRegistryConfig {
        max_connections: max,
        inactive_after: Duration::from_secs(60),
        ..ConnectionRegistryConfig::default()
    };
    (ConnectionRegistry::new(config, clock.clone()), clock)
}

#[tokio::test]
async fn refuses_beyond_the_limit_and_frees_a_place_when_a_lease_drops() {
    let (registry, _clock) = registry(2);
    let first = registry.register().unwrap();
    let _second = registry.register().unwrap();
    assert!(matches!(registry.register().unwrap_err(), HostError::TooManyConnections { max: 2 }));
    drop(first);
    assert_eq!(registry.len(), 1);
    assert!(registry.register().is_ok());
}

#[tokio::test]
async fn tracks_activity_and_cleans_up_the_inactive() {
    let (registry, clock) = registry(10);
    let mut quiet = registry.register().unwrap();
    let busy = registry.register().unwrap();
    let opened = registry.connections()[0].opened_at;
    clock.advance(Duration::from_secs(45));
    busy.touch();
    clock.advance(Duration::from_secs(30));

    let listed = registry.connections();
    assert_eq!(listed[0].last_activity, opened);
    assert_eq!(listed[1].last_activity, opened + Duration::from_secs(45));
    assert_eq!(registry.cleanup_inactive(), 1);
    assert_eq!(quiet.next_signal().await, Some(ConnectionSignal::Close(CloseReason::Inactive)));
    assert_eq!(registry.connections().len(), 1);
    assert_eq!(registry.connections()[0].id, busy.id());
    assert!(!registry.touch(quiet.id()), "a closed connection is gone");
}

#[tokio::test]
async fn heartbeat_pings_and_closes_the_silent_after_one_round() {
    let (registry, _clock) = registry(10);
    let mut answers = registry.register().unwrap();
    let mut silent = registry.register().unwrap();

    assert_eq!(registry.heartbeat(), HeartbeatReport { pinged: 2, closed: 0 });
    assert_eq!(answers.next_signal().await, Some(ConnectionSignal::Ping));
    assert_eq!(silent.next_signal().await, Some(ConnectionSignal::Ping));
    answers.touch(); // the pong

    assert_eq!(registry.heartbeat(), HeartbeatReport { pinged: 1, closed: 1 });
    assert_eq!(
        silent.next_signal().await,
        Some(ConnectionSignal::Close(CloseReason::HeartbeatTimeout))
    );
    assert_eq!(answers.next_signal().await, Some(ConnectionSignal::Ping));
    assert_eq!(registry.len(), 1);
}

#[tokio::test]
async fn the_optimizer_control_counts_and_closes_idle_connections() {
    let (registry, clock) = registry(10);
    let mut leases: Vec<_> = (0..4).map(|_| registry.register().unwrap()).collect();
    clock.advance(Duration::from_secs(120));
    leases[0].touch();
    let control: Arc<dyn ConnectionControl> = Arc::new(registry.clone());
    let idle_after = Duration::from_secs(100);

    assert_eq!(control.counts(idle_after).await.unwrap(), ConnectionCounts { open: 4, idle: 3 });
    assert_eq!(control.close_idle(idle_after).await.unwrap(), 3);
    assert_eq!(control.counts(idle_after).await.unwrap(), ConnectionCounts { open: 1, idle: 0 });
    for lease in &mut leases[1..] {
        assert_eq!(lease.next_signal().await, Some(ConnectionSignal::Close(CloseReason::Idle)));
    }
    assert_eq!(registry.close_all(), 1);
    assert_eq!(leases[0].next_signal().await, Some(ConnectionSignal::Close(CloseReason::Shutdown)));
}

#[tokio::test]
async fn a_lease_outliving_its_registry_ends_quietly() {
    let (registry, _clock) = registry(1);
    let mut lease = registry.register().unwrap();
    drop(registry);
    assert_eq!(lease.next_signal().await, None);
    lease.touch();
}

#[tokio::test]
async fn the_default_registry_is_bounded_at_the_seeds_thousand() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(0)));
    let registry = ConnectionRegistry::new(ConnectionRegistryConfig::default(), clock);
    let leases: Vec<_> = (0..1000).map(|_| registry.register().unwrap()).collect();
    assert_eq!(registry.register().unwrap_err(), HostError::TooManyConnections { max: 1000 });
    assert_eq!(registry.len(), 1000);
    drop(leases);
    assert!(registry.is_empty());
}

#[tokio::test]
async fn at_the_limit_inactive_connections_make_way_before_a_refusal() {
    let (registry, clock) = registry(3);
    let mut abandoned = registry.register().unwrap();
    let live = registry.register().unwrap();
    clock.advance(Duration::from_secs(61));
    live.touch();
    let _recent = registry.register().unwrap();
    // Full now; the abandoned one makes way for the next.
    let _recent_too = registry.register().unwrap();
    assert_eq!(
        abandoned.next_signal().await,
        Some(ConnectionSignal::Close(CloseReason::Inactive)),
        "the inactive one made way"
    );
    assert_eq!(registry.len(), 3);
    // Nobody inactive now: the next is refused.
    assert!(matches!(registry.register().unwrap_err(), HostError::TooManyConnections { max: 3 }));
    assert_eq!(registry.len(), 3);
}

/// Wall time that follows tokio's paused timer.
#[derive(Debug)]
struct PausedClock(tokio::time::Instant);

impl perfkit_core::Clock for PausedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(0) + self.0.elapsed()
    }
}

#[tokio::test(start_paused = true)]
async fn maintenance_keeps_an_answering_client_for_an_hour_and_drops_a_silent_one() {
    let started = tokio::time::Instant::now();
    let config = ConnectionRegistryConfig {
        heartbeat_interval: Duration::from_secs(10),
        cleanup_interval: Duration::from_secs(15),
        inactive_after: Duration::from_secs(25),
        ..ConnectionRegistryConfig::default()
    };
    let registry = ConnectionRegistry::new(config, Arc::new(PausedClock(started)));
    let mut silent = registry.register().unwrap();
    let mut answering = registry.register().unwrap();
    let maintenance = tokio::spawn({
        let registry = registry.clone();
        async move { registry.maintain().await }
    });
    // The answering one pongs every ping for an hour; the silent one never does.
    let (mut pings, mut silent_gone_at) = (0, None);
    while started.elapsed() < Duration::from_secs(3600) {
        let signal = answering.next_signal().await;
        assert_eq!(signal, Some(ConnectionSignal::Ping), "closed after {:?}", started.elapsed());
        pings += 1;
        answering.touch();
        if registry.len() == 1 && silent_gone_at.is_none() {
            silent_gone_at = Some(started.elapsed());
        }
    }
    assert_eq!(pings, 360, "one ping per heartbeat for an hour");
    assert_eq!(registry.len(), 1, "the answering one is still there");
    assert_eq!(silent_gone_at, Some(Duration::from_secs(20)), "two heartbeat periods");
    assert_eq!(
        silent.next_signal().await,
        Some(ConnectionSignal::Close(CloseReason::HeartbeatTimeout))
    );
    maintenance.abort();
}
