//! TieredCache on a Redis Cluster: invalidations from every primary, coherence between two
//! instances, and coherence again after a planned failover while writes go on. Against a private cluster of three primaries, each with a
//! replica.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use perfkit_cache::{
    Cache, CacheAdmin, NearCacheConfig, NearCacheStats, RedisCache, RedisConfig, TieredCache,
};
use perfkit_testing::{RedisCluster, unique_namespace};

/// Enough keys that every primary holds several (16 384 slots over three primaries).
const KEYS: usize = 48;

fn config(cluster: &RedisCluster, namespace: &str) -> RedisConfig {
    RedisConfig {
        url: cluster.url(),
        namespace: namespace.to_owned(),
        pool_size: 2,
        ..RedisConfig::default()
    }
}

async fn connect(cluster: &RedisCluster, namespace: &str) -> TieredCache {
    connect_to(config(cluster, namespace)).await
}

async fn connect_to(settings: RedisConfig) -> TieredCache {
    let cache = TieredCache::connect(settings, NearCacheConfig::default()).await.unwrap();
    wait_for("invalidation tracking to start", Duration::from_secs(15), || cache.is_tracking())
        .await;
    cache
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn near(cache: &TieredCache) -> NearCacheStats {
    cache.counters().near.expect("a tiered cache reports its front")
}

fn keys() -> Vec<String> {
    (0..KEYS).map(|k| format!("item:{k}")).collect()
}

/// Reads every key twice (the second from the front) and returns the values.
async fn read_all(cache: &TieredCache, keys: &[String]) -> HashMap<String, Vec<u8>> {
    let mut values = HashMap::new();
    for key in keys {
        cache.get(key).await.unwrap();
        values.insert(key.clone(), cache.get(key).await.unwrap().unwrap_or_default());
    }
    values
}

/// 3 000 sets spread over every key by `writer` while `reader` reads them in a loop;
/// `during` runs once, a third of the way in. Returns how many sets Redis acknowledged.
async fn writes_during(
    writer: Arc<TieredCache>,
    reader: &TieredCache,
    during: impl FnOnce() + Send + 'static,
) -> usize {
    let keys = keys();
    let done = Arc::new(AtomicBool::new(false));
    let writing = tokio::spawn({
        let (writer, keys, done) = (Arc::clone(&writer), keys.clone(), Arc::clone(&done));
        async move {
            let mut acknowledged = 0;
            let mut during = Some(during);
            for i in 0..3_000_usize {
                if i == 1_000 {
                    let during = during.take().unwrap();
                    tokio::task::spawn_blocking(during).await.unwrap();
                }
                let key = &keys[i % keys.len()];
                let value = i.to_string().into_bytes();
                // Writes to the failing primary's slots fail for a while.
                if writer.set(key, &value, None).await.is_ok() {
                    acknowledged += 1;
                }
            }
            done.store(true, Ordering::Release);
            acknowledged
        }
    });
    while !done.load(Ordering::Acquire) {
        for key in &keys {
            let _ = reader.get(key).await;
        }
    }
    writing.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instances_writes_on_every_primary_reach_the_front() {
    let cluster = RedisCluster::start(3, 0).unwrap();
    let namespace = unique_namespace("cluster");
    let (writer, reader) =
        (connect(&cluster, &namespace).await, connect(&cluster, &namespace).await);
    let keys = keys();
    for key in &keys {
        writer.set(key, b"first", None).await.unwrap();
    }
    assert!(read_all(&reader, &keys).await.values().all(|v| v == b"first"));
    let before = near(&reader);
    assert!(before.front_hits >= KEYS as u64, "the reader's front serves: {before:?}");

    for key in &keys {
        writer.set(key, b"second", None).await.unwrap();
    }
    // One invalidation per key, whichever primary holds it.
    wait_for("every primary's invalidations", Duration::from_secs(10), || {
        near(&reader).invalidations >= before.invalidations + KEYS as u64
    })
    .await;
    let values = read_all(&reader, &keys).await;
    assert!(values.values().all(|v| v == b"second"), "{values:?}");
    // The writer's own writes are not echoed back to it (NOLOOP on every primary).
    assert_eq!(near(&writer).invalidations, 0, "{:?}", near(&writer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_during_writes_leaves_the_front_coherent() {
    let cluster = Arc::new(RedisCluster::start(3, 1).unwrap());
    let namespace = unique_namespace("failover");
    let writer = Arc::new(connect(&cluster, &namespace).await);
    let reader = connect(&cluster, &namespace).await;
    let flushes = near(&reader).flushes;
    let primary = cluster.primary_ports().unwrap()[0];
    let replica = cluster.replica_of(primary).unwrap();

    let failing_over = Arc::clone(&cluster);
    let acknowledged = writes_during(Arc::clone(&writer), &reader, move || {
        failing_over.fail_over_to(replica).unwrap();
    })
    .await;
    assert!(cluster.primary_ports().unwrap().contains(&replica));
    assert!(acknowledged > 2_000, "only {acknowledged} of 3000 writes succeeded");
    let truth = RedisCache::connect(config(&cluster, &namespace)).await.unwrap();
    assert_coherent_after_the_bound(&reader, &truth, flushes).await;
}

/// After one heartbeat and a setup (the stated bound), every key reads as the cluster
/// holds it, the front was emptied at least once, and it serves again.
async fn assert_coherent_after_the_bound(
    reader: &TieredCache,
    truth: &RedisCache,
    flushes_before: u64,
) {
    wait_for("tracking on the new primaries", Duration::from_secs(15), || reader.is_tracking())
        .await;
    tokio::time::sleep(NearCacheConfig::default().heartbeat * 2).await;
    let keys = keys();
    let values = read_all(reader, &keys).await;
    for key in &keys {
        let held = truth.get(key).await.unwrap().unwrap_or_default();
        assert_eq!(values.get(key), Some(&held), "{key} stale after the failover");
    }
    let figures = near(reader);
    assert!(figures.flushes > flushes_before, "the front was never emptied: {figures:?}");
    assert!(figures.front_hits > 0 && figures.tracking, "{figures:?}");
}
