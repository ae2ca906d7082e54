//! RedisCache behaviour beyond the conformance suite: other applications' keys, failing open,
//! server figures, optimize. Against private redis-servers (killed and restarted here).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use fred::prelude::{KeysInterface, Value};
use perfkit_cache::{
    BreakerConfig, BreakerState, Bytes, Cache, CacheAdmin, CacheAside, CacheError, CacheExt,
    Lookup, RESERVED_PREFIX, RedisCache, RedisConfig,
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

async fn raw_get(cache: &RedisCache, key: &str) -> Option<Vec<u8>> {
    let value: Value = cache.pool().get(key).await.unwrap();
    value.as_bytes().map(<[u8]>::to_vec)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_of_other_applications_survive_clear_and_delete_pattern() {
    // Private: this test writes the literal foreign key `other:x`.
    let server = RedisServer::start_private();
    // Glob characters in the namespace too: unescaped, `t:[ab]:*` would match `t:a:x`.
    let cache = RedisCache::connect(config(&server, "t:[ab]:")).await.unwrap();
    let raw = cache.pool();
    for foreign in ["other:x", "t:a:x", "*", "t:[ab]"] {
        let _: () = raw.set(foreign, "foreign", None, None, false).await.unwrap();
    }
    cache.set("x", b"mine", None).await.unwrap();
    cache.set("*", b"mine", None).await.unwrap();

    assert_eq!(cache.delete_pattern("*").await.unwrap(), 1);
    assert_eq!(cache.clear().await.unwrap(), 1);
    assert_eq!(raw_get(&cache, "t:[ab]:x").await, None);
    for foreign in ["other:x", "t:a:x", "*", "t:[ab]"] {
        assert_eq!(raw_get(&cache, foreign).await, Some(b"foreign".to_vec()), "{foreign}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_are_namespaced_and_json_is_stored_verbatim() {
    let server = RedisServer::start();
    let namespace = unique_namespace("verbatim");
    let cache = RedisCache::connect(config(&server, &namespace)).await.unwrap();
    cache.set_value("user", &serde_json::json!({"id": 1}), None).await.unwrap();
    let stored = raw_get(&cache, &format!("{namespace}user")).await;
    assert_eq!(stored, Some(br#"{"id":1}"#.to_vec()));
    assert_eq!(cache.namespace(), namespace);
    cache.clear().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_frame_is_an_error_and_counted() {
    let server = RedisServer::start();
    let namespace = unique_namespace("corrupt");
    let cache = RedisCache::connect(config(&server, &namespace)).await.unwrap();
    let bad: Vec<u8> = vec![0xFE, 0x10, 0, 0, 0, 0xF0, 0xFF];
    let _: () = cache.pool().set(format!("{namespace}bad"), bad, None, None, false).await.unwrap();
    let error = cache.get("bad").await.unwrap_err();
    assert!(matches!(error, CacheError::CorruptFrame { ref key, .. } if key == "bad"), "{error}");
    assert_eq!(cache.stats().await.errors, 1);
    cache.clear().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_open_while_redis_is_down_and_recovers_after_restart() {
    let mut server = RedisServer::start_private();
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000)));
    let reset_timeout = Duration::from_secs(10);
    let config = RedisConfig {
        command_timeout: Duration::from_millis(300),
        breaker: BreakerConfig { failure_threshold: 3, reset_timeout },
        ..config(&server, "fail-open:")
    };
    let cache = Arc::new(RedisCache::connect_with_clock(config, clock.clone()).await.unwrap());
    let loader = CacheAside::new(cache.clone());
    cache.set("k", b"v", None).await.unwrap();
    server.stop().unwrap();

    // Reads miss, writes fail, cache-aside computes.
    assert_eq!(cache.get("k").await.unwrap(), None);
    assert!(cache.set("k", b"v2", None).await.is_err());
    let computed = loader.get_or_compute("c", None, || async { Ok(b"42".to_vec()) }).await;
    assert_eq!(computed.unwrap(), (Bytes::from_static(b"42"), Lookup::Computed));

    // Three consecutive failures opened the breaker: calls are refused without waiting.
    assert!(matches!(cache.set("k", b"v3", None).await, Err(CacheError::CircuitOpen)));
    assert_eq!(cache.get("k").await.unwrap(), None);
    let computed = loader.get_or_compute("c", None, || async { Ok(b"43".to_vec()) }).await;
    assert_eq!(computed.unwrap(), (Bytes::from_static(b"43"), Lookup::Computed));
    // The reserved handle shares the breaker: it fails fast too, on its own counters.
    assert!(matches!(
        cache.reserved().set("history", b"[]", None).await,
        Err(CacheError::CircuitOpen)
    ));
    let stats = cache.stats().await;
    assert_eq!(stats.breaker, BreakerState::Open);
    assert!(!stats.connected);
    assert!(stats.errors >= 6, "{stats:?}");
    assert!(stats.server.is_none());
    assert_eq!(cache.counters(), stats);

    server.restart().unwrap();
    // Each round lets one probe through; the pool reconnects on its own within seconds.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        clock.advance(reset_timeout);
        if cache.set("k", b"back", None).await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the cache did not recover after redis restarted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cache.get("k").await.unwrap(), Some(b"back".to_vec()));
    let stats = cache.stats().await;
    assert_eq!(stats.breaker, BreakerState::Closed);
    assert!(stats.connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_while_redis_is_down_and_fails_open() {
    let mut server = RedisServer::start_private();
    server.stop().unwrap();
    let config = RedisConfig {
        connect_timeout: Duration::from_millis(200),
        command_timeout: Duration::from_millis(200),
        ..config(&server, "down-at-start:")
    };
    let cache = RedisCache::connect(config).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), None);
    assert!(!cache.stats().await.connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_join_the_server_figures() {
    let server = RedisServer::start();
    let namespace = unique_namespace("stats");
    let cache = RedisCache::connect(config(&server, &namespace)).await.unwrap();
    cache.set("a", b"1", None).await.unwrap();
    cache.get("a").await.unwrap();
    let stats = cache.stats().await;
    let figures = stats.server.clone().unwrap();
    assert!(figures.keyspace_hits >= 1 && figures.used_memory > 0 && figures.db_keys >= 1);
    // The namespace's own figures; the server's stay under `server`.
    assert_eq!(stats.keys, 1);
    assert!(stats.bytes > 0 && stats.bytes < figures.used_memory, "{stats:?}");
    let json = serde_json::to_value(&stats).unwrap();
    assert!(json["server"]["keyspaceHits"].is_u64(), "{json}");
    cache.clear().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimize_gives_the_default_ttl_to_namespace_keys_only() {
    let server = RedisServer::start_private();
    let cache = RedisCache::connect(config(&server, "opt:")).await.unwrap();
    let raw = cache.pool();
    let _: () = raw.set("opt:forever", "v", None, None, false).await.unwrap();
    let _: () = raw.set("other:forever", "v", None, None, false).await.unwrap();
    let reserved_key = format!("opt:{RESERVED_PREFIX}forever");
    let _: () = raw.set(reserved_key.as_str(), "v", None, None, false).await.unwrap();
    cache.set("timed", b"v", Some(Duration::from_secs(30))).await.unwrap();

    cache.stats().await; // the namespace count the report starts from
    let report = cache.optimize().await.unwrap();
    assert_eq!((report.keys_scanned, report.ttl_applied), (2, 1));
    assert!(report.namespace_bytes > 0 && report.before.bytes > 0, "{report:?}");
    // Both footprints are the namespace's: the foreign and reserved keys are not in them.
    assert_eq!((report.before.keys, report.after.keys), (2, 2), "{report:?}");
    assert_eq!(report.after.bytes, report.namespace_bytes);
    assert!(cache.ttl("forever").await.unwrap().is_some());
    assert!(cache.ttl("timed").await.unwrap().unwrap() <= Duration::from_secs(30));
    let foreign_ttl: i64 = raw.pttl("other:forever").await.unwrap();
    assert_eq!(foreign_ttl, -1);
    let reserved_ttl: i64 = raw.pttl(reserved_key.as_str()).await.unwrap();
    assert_eq!(reserved_ttl, -1, "optimize leaves perfkit's own keys alone");
}

#[tokio::test]
async fn bad_urls_are_configuration_errors() {
    for url in ["rediss://127.0.0.1:1", "not a url"] {
        let config = RedisConfig { url: url.to_owned(), ..RedisConfig::default() };
        let error = RedisCache::connect(config).await.unwrap_err();
        assert!(matches!(error, CacheError::InvalidConfig(_)), "{url}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_keys_live_under_the_namespace_and_survive_every_application_deletion() {
    let server = RedisServer::start();
    let namespace = unique_namespace("reserved");
    let cache = RedisCache::connect(config(&server, &namespace)).await.unwrap();
    cache.reserved().set("history:host-1", b"[1]", None).await.unwrap();
    let full = format!("{namespace}{RESERVED_PREFIX}history:host-1");
    assert_eq!(raw_get(&cache, &full).await, Some(b"[1]".to_vec()));
    // A reserved key written without TTL by an older writer: still never the app's to delete.
    let _: () = cache
        .pool()
        .set(format!("{namespace}~perfkit:lock"), "x", None, None, false)
        .await
        .unwrap();
    cache.set("~", b"app", None).await.unwrap();
    for prefix in ["", "~", "~perfkit", RESERVED_PREFIX] {
        cache.delete_pattern(prefix).await.unwrap();
    }
    cache.clear().await.unwrap();
    assert_eq!(raw_get(&cache, &full).await, Some(b"[1]".to_vec()));
    assert_eq!(raw_get(&cache, &format!("{namespace}~perfkit:lock")).await, Some(b"x".to_vec()));
    assert_eq!(raw_get(&cache, &format!("{namespace}~")).await, None);
    let _: i64 =
        cache.pool().unlink(vec![full, format!("{namespace}~perfkit:lock")]).await.unwrap();
}
