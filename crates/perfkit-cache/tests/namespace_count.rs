//! The Redis cache's keys and bytes count its own namespace only: other applications' keys in
//! the same database and perfkit's reserved keys are left out, a pass is spread over refreshes
//! within its budget, and on a Redis Cluster every primary is counted. Against private
//! redis-servers and a private three-primary cluster.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use fred::prelude::{KeysInterface, MemoryInterface};
use perfkit_cache::{Cache, CacheAdmin, CacheStats, RedisCache, RedisConfig};
use perfkit_core::{ManualClock, Timestamp};
use perfkit_testing::{RedisCluster, RedisServer, unique_namespace};

const FOREIGN: usize = 10_000;

fn config(url: &str, namespace: &str) -> RedisConfig {
    RedisConfig {
        url: url.to_owned(),
        namespace: namespace.to_owned(),
        pool_size: 2,
        ..RedisConfig::default()
    }
}

async fn connect(config: RedisConfig) -> (RedisCache, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000)));
    (RedisCache::connect_with_clock(config, clock.clone()).await.unwrap(), clock)
}

/// Another application's keys, written around the cache.
async fn write_foreign(cache: &RedisCache, count: usize) {
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        let writes = chunk.iter().map(|i| {
            cache.pool().set::<(), _, _>(
                format!("other-app:item:{i}"),
                "x".repeat(100),
                None,
                None,
                false,
            )
        });
        futures::future::try_join_all(writes).await.unwrap();
    }
}

fn prefix(stats: &CacheStats, prefix: &str) -> u64 {
    stats.prefixes.iter().find(|p| p.prefix == prefix).map_or(0, |p| p.keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_bytes_count_the_namespace_only() {
    let server = RedisServer::start_private();
    let namespace = unique_namespace("census");
    let (cache, _clock) = connect(config(server.url(), &namespace)).await;
    write_foreign(&cache, FOREIGN).await;
    let ours = ["user:1", "user:2", "user:3", "post:1", "greeting"];
    for key in ours {
        cache.set(key, b"a value of ours", None).await.unwrap();
    }
    cache.reserved().set("history", b"[]", None).await.unwrap();

    let stats = cache.stats().await;
    let server_figures = stats.server.clone().unwrap();
    assert_eq!(stats.keys, ours.len() as u64, "{stats:?}");
    assert!(server_figures.db_keys > FOREIGN as u64, "the server's own figure is kept apart");
    let mut measured = 0;
    for key in ours {
        let usage: u64 =
            cache.pool().memory_usage(format!("{namespace}{key}"), None).await.unwrap();
        measured += usage;
    }
    // Few keys: every one is measured, so the estimate is their sum.
    assert_eq!(stats.bytes, measured);
    assert!(stats.bytes * 100 < server_figures.used_memory, "{stats:?}");
    assert!(stats.estimated);
    let count = stats.count.clone().unwrap();
    assert!(count.complete && count.passes == 1 && count.primaries == 1, "{count:?}");
    assert_eq!(count.bytes_sampled, ours.len() as u64);
    assert_eq!((prefix(&stats, "user:"), prefix(&stats, "post:")), (3, 1));
    assert_eq!(prefix(&stats, perfkit_cache::NO_PREFIX), 1);
    assert_eq!(cache.counters(), stats, "counters() shows what the refresh counted");
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(json["server"]["dbKeys"], server_figures.db_keys);
    assert_eq!(json["count"]["complete"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_spans_refreshes_within_its_budget_and_its_interval() {
    let server = RedisServer::start_private();
    let namespace = unique_namespace("budget");
    let config =
        RedisConfig { count_pages_per_step: 1, scan_batch: 50, ..config(server.url(), &namespace) };
    let (cache, clock) = connect(config).await;
    write_foreign(&cache, 2_000).await;
    for i in 0..10 {
        cache.set(&format!("k:{i}"), b"v", None).await.unwrap();
    }

    let first = cache.stats().await.count.unwrap();
    assert!(!first.complete, "one page of 50 cannot cover 2 010 keys");
    let mut refreshes = 1;
    while !cache.counters().count.unwrap().complete {
        clock.advance(Duration::from_secs(1));
        cache.stats().await;
        refreshes += 1;
        assert!(refreshes < 500, "the pass never finished");
    }
    assert!(refreshes > 10, "a pass took {refreshes} steps of one page");
    assert_eq!(cache.counters().keys, 10);

    // Without time passing, a refresh does not step: a new key waits for the next pass.
    cache.set("k:new", b"v", None).await.unwrap();
    for _ in 0..5 {
        cache.stats().await;
    }
    assert_eq!(cache.counters().count.unwrap().passes, 1);
    while cache.counters().count.unwrap().passes < 2 {
        clock.advance(Duration::from_secs(1));
        cache.stats().await;
    }
    assert_eq!(cache.counters().keys, 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_every_primary_is_counted() {
    let cluster = RedisCluster::start(3, 0).unwrap();
    let namespace = unique_namespace("cluster");
    let (cache, clock) = connect(config(&cluster.url(), &namespace)).await;
    write_foreign(&cache, 50).await;
    for i in 0..30 {
        cache.set(&format!("user:{i}"), b"v", None).await.unwrap();
    }
    let mut stats = cache.stats().await;
    for _ in 0..50 {
        if stats.count.as_ref().is_some_and(|c| c.complete) {
            break;
        }
        clock.advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(20)).await; // the cluster's slots arriving
        stats = cache.stats().await;
    }
    let count = stats.count.clone().unwrap();
    assert!(count.complete && count.primaries == 3, "{count:?}");
    assert_eq!(stats.keys, 30, "{stats:?}");
    assert_eq!(prefix(&stats, "user:"), 30);
    let server_figures = stats.server.unwrap();
    assert_eq!((server_figures.primaries, server_figures.db_keys), (3, 80));
}
