//! One suite for both `Coordination` implementations: `LocalCoordination` on a manual clock,
//! `RedisCoordination` on a private redis-server (two handles, as two instances would hold).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use perfkit_cache::{
    Cache, CacheAdmin, CacheError, Coordination, ExclusiveRun, LocalCoordination, RedisCache,
    RedisConfig, run_exclusive,
};
use perfkit_core::{ManualClock, Timestamp};
use perfkit_testing::{RedisServer, unique_namespace};

type Pass = Box<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Two handles on one store (the same object for the local one), and a way to let time pass.
struct Subject {
    a: Arc<dyn Coordination>,
    b: Arc<dyn Coordination>,
    pass: Pass,
    _guard: Box<dyn std::any::Any>,
}

fn local() -> Subject {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_000_000)));
    let coordination: Arc<dyn Coordination> = Arc::new(LocalCoordination::new(clock.clone()));
    Subject {
        a: coordination.clone(),
        b: coordination,
        pass: Box::new(move |by| {
            clock.advance(by);
            Box::pin(async {})
        }),
        _guard: Box::new(()),
    }
}

async fn redis_pair(server: &RedisServer, namespace: &str) -> (RedisCache, RedisCache) {
    let config = || RedisConfig {
        url: server.url().to_owned(),
        namespace: namespace.to_owned(),
        pool_size: 2,
        ..RedisConfig::default()
    };
    (RedisCache::connect(config()).await.unwrap(), RedisCache::connect(config()).await.unwrap())
}

async fn redis() -> Subject {
    let server = RedisServer::start();
    let (a, b) = redis_pair(&server, &unique_namespace("coordination")).await;
    Subject {
        a: Arc::new(a.coordination()),
        b: Arc::new(b.coordination()),
        // Redis expires keys on its own clock; real time must pass.
        pass: Box::new(|by| Box::pin(tokio::time::sleep(by))),
        _guard: Box::new(server),
    }
}

const TTL: Duration = Duration::from_millis(200);

async fn announcements_live_for_their_ttl(s: Subject) {
    s.a.announce("api-1", b"one", TTL).await.unwrap();
    s.b.announce("api-2", b"two", TTL * 10).await.unwrap();
    s.a.announce("api-1", b"one again", TTL).await.unwrap();
    let mut live = s.b.announced().await.unwrap();
    live.sort_by(|x, y| x.instance.cmp(&y.instance));
    let seen: Vec<(&str, &[u8])> =
        live.iter().map(|a| (a.instance.as_str(), a.record.as_slice())).collect();
    assert_eq!(seen, [("api-1", &b"one again"[..]), ("api-2", &b"two"[..])]);

    (s.pass)(TTL + Duration::from_millis(100)).await;
    let live = s.a.announced().await.unwrap();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].instance, "api-2");
    assert!(s.a.withdraw("api-2").await.unwrap());
    assert!(!s.a.withdraw("api-2").await.unwrap());
    assert!(s.b.announced().await.unwrap().is_empty());
}

async fn names_are_checked(s: Subject) {
    for bad in ["", "a*", "a b", "x/y"] {
        let error = s.a.announce(bad, b"", TTL).await.unwrap_err();
        assert!(matches!(error, CacheError::InvalidName { what: "instance", .. }), "{error}");
        assert!(s.a.try_lock(bad, "api-1", TTL).await.is_err());
        assert!(s.a.try_lock("lock", bad, TTL).await.is_err());
    }
}

async fn a_lock_has_one_holder_and_only_it_renews_or_releases(s: Subject) {
    let token = s.a.try_lock("optimizer", "api-1", TTL).await.unwrap().unwrap();
    assert!(s.b.try_lock("optimizer", "api-2", TTL).await.unwrap().is_none());
    assert_eq!(s.b.lock_holder("optimizer").await.unwrap().as_deref(), Some("api-1"));
    // Another lock is independent.
    let other = s.b.try_lock("cache-clear", "api-2", TTL).await.unwrap().unwrap();

    // A token of another owner neither renews nor releases it.
    let stranger = perfkit_cache::LockToken::generate("api-1").unwrap();
    assert!(!s.b.renew_lock("optimizer", &stranger, TTL).await.unwrap());
    assert!(!s.b.unlock("optimizer", &stranger).await.unwrap());
    assert!(s.b.try_lock("optimizer", "api-2", TTL).await.unwrap().is_none());

    // Renewed by its holder, it outlives its first TTL.
    (s.pass)(TTL / 2).await;
    assert!(s.a.renew_lock("optimizer", &token, TTL).await.unwrap());
    (s.pass)(TTL * 3 / 4).await;
    assert!(s.b.try_lock("optimizer", "api-2", TTL).await.unwrap().is_none());
    assert!(s.a.unlock("optimizer", &token).await.unwrap());
    assert!(!s.a.unlock("optimizer", &token).await.unwrap(), "released once");
    assert_eq!(s.a.lock_holder("optimizer").await.unwrap(), None);

    // Not renewed, it expires; the old holder cannot renew or release the new holder's lock.
    let token = s.a.try_lock("optimizer", "api-1", TTL).await.unwrap().unwrap();
    (s.pass)(TTL + Duration::from_millis(100)).await;
    let taken = s.b.try_lock("optimizer", "api-2", TTL).await.unwrap().unwrap();
    assert!(!s.a.renew_lock("optimizer", &token, TTL).await.unwrap());
    assert!(!s.a.unlock("optimizer", &token).await.unwrap());
    assert_eq!(s.a.lock_holder("optimizer").await.unwrap().as_deref(), Some("api-2"));
    assert!(s.b.unlock("optimizer", &taken).await.unwrap());
    drop(other);
}

async fn exclusive_runs_never_overlap(s: Subject) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let runs = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for n in 0..6 {
        let coordination = if n % 2 == 0 { s.a.clone() } else { s.b.clone() };
        let (in_flight, most, runs) = (in_flight.clone(), most.clone(), runs.clone());
        tasks.push(tokio::spawn(async move {
            let owner = format!("api-{n}");
            for _ in 0..3 {
                let run = ExclusiveRun {
                    lock: "optimizer",
                    owner: &owner,
                    ttl: Duration::from_secs(5),
                    wait: Duration::from_secs(20),
                };
                run_exclusive(coordination.as_ref(), run, async {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    runs.fetch_add(1, Ordering::SeqCst);
                })
                .await
                .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(runs.load(Ordering::SeqCst), 18);
    assert_eq!(most.load(Ordering::SeqCst), 1, "two runs overlapped");
    assert_eq!(s.a.lock_holder("optimizer").await.unwrap(), None, "released after the last");

    // Busy: a run that may not wait does not start, and names the holder.
    let token = s.b.try_lock("optimizer", "api-9", Duration::from_secs(5)).await.unwrap().unwrap();
    let run = ExclusiveRun { lock: "optimizer", owner: "api-1", ttl: TTL, wait: Duration::ZERO };
    let error = run_exclusive(s.a.as_ref(), run, async { panic!("must not run") }).await;
    assert!(
        matches!(error, Err(CacheError::LockBusy { ref holder, .. }) if holder.as_deref() == Some("api-9")),
        "{error:?}"
    );
    assert!(s.b.unlock("optimizer", &token).await.unwrap());
}

macro_rules! suite {
    ($($test:ident),*) => {
        mod local_coordination {
            $(#[tokio::test]
            async fn $test() { super::$test(super::local()).await; })*
        }
        mod redis_coordination {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() { super::$test(super::redis().await).await; })*
        }
    };
}

suite!(
    announcements_live_for_their_ttl,
    names_are_checked,
    a_lock_has_one_holder_and_only_it_renews_or_releases,
    exclusive_runs_never_overlap
);

/// Wall time that follows tokio's paused timer, for the renewal tests.
#[derive(Debug)]
struct PausedClock(tokio::time::Instant);

impl perfkit_core::Clock for PausedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(1_000_000) + self.0.elapsed()
    }
}

#[tokio::test(start_paused = true)]
async fn a_held_lock_is_renewed_for_as_long_as_the_work_runs() {
    let coordination = LocalCoordination::new(Arc::new(PausedClock(tokio::time::Instant::now())));
    let ttl = Duration::from_secs(3);
    let run = ExclusiveRun { lock: "optimizer", owner: "api-1", ttl, wait: Duration::ZERO };
    let done = run_exclusive(&coordination, run, async {
        // Ten TTLs long: only renewals keep the lock.
        for _ in 0..10 {
            tokio::time::sleep(ttl).await;
            assert_eq!(
                coordination.lock_holder("optimizer").await.unwrap().as_deref(),
                Some("api-1")
            );
        }
        "done"
    })
    .await
    .unwrap();
    assert_eq!(done, "done");
    assert_eq!(coordination.lock_holder("optimizer").await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn a_lost_lock_stops_the_work_at_its_next_await() {
    let mut coordination = perfkit_cache::MockCoordination::new();
    coordination
        .expect_try_lock()
        .returning(|_, owner, _| Ok(Some(perfkit_cache::LockToken::generate(owner).unwrap())));
    // The first renewal finds the lock taken over (it expired during a pause, say).
    coordination.expect_renew_lock().times(1).returning(|_, _, _| Ok(false));
    coordination.expect_unlock().never();
    let run = ExclusiveRun {
        lock: "optimizer",
        owner: "api-1",
        ttl: Duration::from_secs(3),
        wait: Duration::ZERO,
    };
    let started = tokio::time::Instant::now();
    let outcome = run_exclusive(&coordination, run, async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        panic!("the work went on after the lock was lost");
    })
    .await;
    assert!(matches!(outcome, Err(CacheError::LockLost { .. })), "{outcome:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(1), "stopped at the first renewal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_the_application_cache_leaves_announcements_and_locks() {
    let server = RedisServer::start();
    let (cache, _) = redis_pair(&server, &unique_namespace("coordination-clear")).await;
    let coordination = cache.coordination();
    coordination.announce("api-1", b"{}", Duration::from_secs(60)).await.unwrap();
    let token = coordination.try_lock("optimizer", "api-1", Duration::from_secs(60)).await.unwrap();
    cache.set("user:1", b"ada", None).await.unwrap();
    assert_eq!(cache.clear().await.unwrap(), 1);
    assert_eq!(cache.delete_pattern("").await.unwrap(), 0);
    assert_eq!(coordination.announced().await.unwrap().len(), 1);
    assert!(coordination.unlock("optimizer", &token.unwrap()).await.unwrap(), "the lock stayed");
}
