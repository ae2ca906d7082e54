//! TieredCache beyond the conformance suite: coherence between instances and with any other
//! Redis client, the invalidation channel's loss, failing open. Against private
//! redis-servers; other clients are a second instance, `redis-cli` and raw fred calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fred::interfaces::ClientInterface;
use fred::types::client::ClientKillFilter;
use perfkit_cache::{
    BreakerConfig, BreakerState, Cache, CacheAdmin, CacheStats, NearCacheConfig, NearCacheStats,
    RESERVED_PREFIX, RedisConfig, TieredCache,
};
use perfkit_core::{ManualClock, Timestamp};
use perfkit_testing::{RedisServer, unique_namespace};

fn config(server: &RedisServer, namespace: &str) -> RedisConfig {
    RedisConfig {
        url: server.url().to_owned(),
        namespace: namespace.to_owned(),
        pool_size: 2,
        ..RedisConfig::default()
    }
}

async fn connect(server: &RedisServer, namespace: &str) -> TieredCache {
    let cache =
        TieredCache::connect(config(server, namespace), NearCacheConfig::default()).await.unwrap();
    wait_for("invalidation tracking to start", || cache.is_tracking()).await;
    cache
}

/// Polls `done` every millisecond for up to 10 s: the condition is an event on another
/// connection (an invalidation, a reconnection), not the passing of time.
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn near(stats: &CacheStats) -> NearCacheStats {
    stats.near.clone().expect("a tiered cache reports its front")
}

fn redis_cli(server: &RedisServer, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-u", server.url()])
        .args(args)
        .output()
        .expect("redis-cli is installed with redis-server");
    assert!(output.status.success(), "redis-cli {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn number(value: Option<Vec<u8>>) -> u64 {
    String::from_utf8(value.expect("every key was seeded")).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_never_returns_a_value_older_than_an_invalidation_it_received() {
    const KEYS: u64 = 16;
    const WRITES: u64 = 10_000;
    let server = RedisServer::start();
    let namespace = unique_namespace("staleness");
    let writer = Arc::new(connect(&server, &namespace).await);
    let reader = connect(&server, &namespace).await;
    let keys: Vec<String> = (0..KEYS).map(|k| format!("item:{k}")).collect();
    for key in &keys {
        writer.set(key, b"0", None).await.unwrap();
    }
    wait_for("the guide's invalidations", || near(&reader.counters()).invalidations == KEYS).await;
    let baseline = KEYS;

    // Write i goes to key i % KEYS, one after another; each write's invalidation is its own
    // message, so the reader's count says exactly which writes it has heard of.
    let writing = tokio::spawn({
        let (writer, keys) = (Arc::clone(&writer), keys.clone());
        async move {
            let mut completed = Vec::with_capacity(WRITES as usize + 1);
            completed.push(Instant::now());
            for i in 1..=WRITES {
                let key = &keys[(i % KEYS) as usize];
                writer.set(key, i.to_string().as_bytes(), None).await.unwrap();
                completed.push(Instant::now());
            }
            completed
        }
    });
    let mut reads = Vec::new();
    let mut k = 0;
    while !writing.is_finished() {
        let heard = near(&reader.counters()).invalidations - baseline;
        let started = Instant::now();
        let value = number(reader.get(&keys[k]).await.unwrap());
        reads.push((k as u64, heard, started, value));
        k = (k + 1) % keys.len();
    }
    let completed = writing.await.unwrap();

    let mut worst = Duration::ZERO;
    for &(key, heard, started, value) in &reads {
        // The last write to this key among those the reader had heard of (0: the initial value).
        let floor = if heard < key { 0 } else { heard - (heard - key) % KEYS };
        assert!(value >= floor, "key {key}: read {value} after hearing of write {floor}");
        // How long the value read had been superseded in Redis when the read began.
        let next = if value == 0 { if key == 0 { KEYS } else { key } } else { value + KEYS };
        if let Some(&superseded) = completed.get(next as usize)
            && superseded < started
        {
            worst = worst.max(started - superseded);
        }
    }
    let figures = near(&reader.counters());
    println!(
        "staleness: {} reads during {WRITES} writes, {} front hits, {} back hits; largest \
         window between a write's reply and a read still returning the older value: {worst:?} \
         (target < 10ms on loopback)",
        reads.len(),
        figures.front_hits,
        figures.back_hits
    );
    wait_for("every write's invalidation", || {
        near(&reader.counters()).invalidations == baseline + WRITES
    })
    .await;
    // During the writes a busy machine may invalidate every key before its second read; with
    // the writes over, a second read of a key is the front's.
    for key in &keys {
        reader.get(key).await.unwrap();
        reader.get(key).await.unwrap();
    }
    let figures = near(&reader.counters());
    assert!(figures.front_hits > 0, "the reader's front served nothing: {figures:?}");
    // Without invalidations the front would serve old values for its whole 10 s TTL.
    assert!(worst < Duration::from_millis(250), "staleness window {worst:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_by_redis_cli_is_seen_by_the_next_read_after_its_invalidation() {
    let server = RedisServer::start();
    let namespace = unique_namespace("cli");
    let cache = connect(&server, &namespace).await;
    cache.set("greeting", b"hello", None).await.unwrap();
    assert_eq!(cache.get("greeting").await.unwrap(), Some(b"hello".to_vec()));
    let before = near(&cache.counters());
    assert_eq!((before.front_hits, before.back_hits), (1, 0), "own writes fill the front");

    // perfkit's own keys are never in the front: their invalidations are not counted, and
    // the application key's, sent after, is the only one that is.
    redis_cli(&server, &["SET", &format!("{namespace}{RESERVED_PREFIX}lock"), "x"]);
    redis_cli(&server, &["SET", &format!("{namespace}greeting"), "bonjour"]);
    wait_for("the invalidation", || near(&cache.counters()).invalidations > before.invalidations)
        .await;
    assert_eq!(near(&cache.counters()).invalidations, before.invalidations + 1);
    assert_eq!(cache.get("greeting").await.unwrap(), Some(b"bonjour".to_vec()));
    // And the front holds the new value: the read after is a front hit.
    assert_eq!(cache.get("greeting").await.unwrap(), Some(b"bonjour".to_vec()));
    let after = near(&cache.counters());
    assert_eq!((after.front_hits, after.back_hits), (2, 1), "{after:?}");

    // A delete and an expiry by another client are changes too.
    redis_cli(&server, &["DEL", &format!("{namespace}greeting")]);
    wait_for("the delete's invalidation", || {
        near(&cache.counters()).invalidations > after.invalidations
    })
    .await;
    assert_eq!(cache.get("greeting").await.unwrap(), None);
    cache.set("short", b"v", Some(Duration::from_secs(60))).await.unwrap();
    redis_cli(&server, &["PEXPIRE", &format!("{namespace}short"), "1"]);
    wait_for("the expiry", || {
        let stats = near(&cache.counters());
        stats.invalidations >= after.invalidations + 2
    })
    .await;
    // The PEXPIRE's own invalidation can arrive within the millisecond the key has left: a
    // read then would still find it in Redis. Past that millisecond it is gone everywhere.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(cache.get("short").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instances_clear_and_delete_pattern_reach_the_front() {
    let server = RedisServer::start();
    let namespace = unique_namespace("bulk");
    let (ours, theirs) = (connect(&server, &namespace).await, connect(&server, &namespace).await);
    for key in ["user:1", "user:2", "post:1"] {
        ours.set(key, b"v", None).await.unwrap();
        assert_eq!(ours.get(key).await.unwrap(), Some(b"v".to_vec()));
    }
    let heard = near(&ours.counters()).invalidations;
    assert_eq!(theirs.delete_pattern("user:").await.unwrap(), 2);
    wait_for("the pattern's invalidations", || near(&ours.counters()).invalidations == heard + 2)
        .await;
    assert_eq!(
        ours.mget(&["user:1", "user:2", "post:1"]).await.unwrap(),
        vec![None, None, Some(b"v".to_vec())]
    );
    assert_eq!(theirs.clear().await.unwrap(), 1);
    wait_for("the clear's invalidation", || near(&ours.counters()).invalidations == heard + 3)
        .await;
    assert_eq!(ours.get("post:1").await.unwrap(), None);
    // FLUSHDB says "everything" with one null message: the whole front goes.
    ours.set("k", b"v", None).await.unwrap();
    let flushes = near(&ours.counters()).flushes;
    redis_cli(&server, &["FLUSHDB"]);
    wait_for("the flush", || near(&ours.counters()).flushes > flushes).await;
    assert_eq!(ours.get("k").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_invalidation_connection_empties_the_front() {
    let server = RedisServer::start_private();
    let namespace = unique_namespace("kill");
    let cache = connect(&server, &namespace).await;
    cache.set("k", b"before", None).await.unwrap();
    cache.set("other", b"v", None).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Some(b"before".to_vec()));
    let before = near(&cache.stats().await);
    assert_eq!((before.front_hits, before.keys), (1, 2), "{before:?}");

    let id = cache.invalidation_client_id().unwrap();
    let killed: i64 =
        cache.back().pool().client_kill(vec![ClientKillFilter::ID(id.to_string())]).await.unwrap();
    assert_eq!(killed, 1);
    // Changed while nobody listens: this invalidation is lost with the connection.
    redis_cli(&server, &["SET", &format!("{namespace}k"), "after"]);
    wait_for("a new invalidation connection", || {
        cache.invalidation_client_id().is_some_and(|new| new != id)
    })
    .await;
    let after = near(&cache.stats().await);
    assert_eq!(after.keys, 0, "the front is empty once tracking is back: {after:?}");
    assert!(after.flushes > before.flushes && after.tracking, "{after:?}");
    assert_eq!(cache.get("k").await.unwrap(), Some(b"after".to_vec()));
    assert_eq!(cache.get("k").await.unwrap(), Some(b"after".to_vec()));
    assert_eq!(near(&cache.counters()).front_hits, 2, "the front fills again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_open_while_redis_is_down_and_the_front_fills_again_after() {
    let mut server = RedisServer::start_private();
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000)));
    let reset_timeout = Duration::from_secs(10);
    let config = RedisConfig {
        command_timeout: Duration::from_millis(300),
        breaker: BreakerConfig { failure_threshold: 3, reset_timeout },
        ..config(&server, "near-fail-open:")
    };
    let cache = TieredCache::connect_with_clock(config, NearCacheConfig::default(), clock.clone())
        .await
        .unwrap();
    wait_for("invalidation tracking to start", || cache.is_tracking()).await;
    cache.set("k", b"v", None).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Some(b"v".to_vec()));

    server.stop().unwrap();
    wait_for("the front to go dark", || !cache.is_tracking()).await;
    // Neither the front's copy nor an error: a miss, as RedisCache fails open.
    for _ in 0..4 {
        assert_eq!(cache.get("k").await.unwrap(), None);
    }
    let stats = cache.stats().await;
    assert_eq!(stats.breaker, BreakerState::Open, "the breaker works as before");
    let down = near(&stats);
    assert!(!down.tracking && down.keys == 0, "{down:?}");

    server.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        clock.advance(reset_timeout);
        if cache.set("k", b"back", None).await.is_ok() && cache.is_tracking() {
            break;
        }
        assert!(Instant::now() < deadline, "the cache did not recover after redis restarted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cache.set("k", b"back", None).await.unwrap();
    let hits = near(&cache.counters()).front_hits;
    assert_eq!(cache.get("k").await.unwrap(), Some(b"back".to_vec()));
    assert_eq!(near(&cache.counters()).front_hits, hits + 1, "the front serves again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_split_front_and_back_and_join_the_hit_rate() {
    let server = RedisServer::start();
    let namespace = unique_namespace("figures");
    let cache = connect(&server, &namespace).await;
    let other = connect(&server, &namespace).await;
    other.set("a", b"1", None).await.unwrap();
    // The other's write is announced to this front too; once it has arrived it cannot
    // drop the entry the next read fills.
    wait_for("the other's write to be announced", || near(&cache.counters()).invalidations >= 1)
        .await;
    cache.get("a").await.unwrap(); // back hit, fills the front
    cache.get("a").await.unwrap(); // front hit
    cache.get("none").await.unwrap(); // miss
    let stats = cache.stats().await;
    let front = near(&stats);
    assert_eq!((stats.hits, stats.misses), (2, 1));
    assert_eq!((front.front_hits, front.back_hits), (1, 1));
    assert!((stats.hit_rate - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(front.keys, 1);
    assert_eq!(front.bytes, 2, "key and value bytes");
    assert_eq!(front.max_bytes, NearCacheConfig::default().max_bytes);
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(json["near"]["frontHits"], 1);
    assert_eq!(json["near"]["tracking"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_front_hit_shares_the_value_the_front_holds() {
    let server = RedisServer::start();
    let cache = connect(&server, &unique_namespace("shared")).await;
    let page = br#"{"id":1,"title":"a post"},"#.repeat(200);
    cache.set("page", &page, None).await.unwrap();
    let first = cache.get_shared("page").await.unwrap().unwrap();
    let second = cache.get_shared("page").await.unwrap().unwrap();
    assert_eq!(first, page);
    assert_eq!(first.as_ptr(), second.as_ptr(), "both reads are the front's value itself");
    assert_eq!(near(&cache.counters()).front_hits, 2);
    assert_eq!(cache.get("page").await.unwrap().as_deref(), Some(page.as_slice()));
}
