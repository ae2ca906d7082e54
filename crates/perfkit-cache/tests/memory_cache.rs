//! MemoryCache behaviour beyond the conformance suite: the size limit, exact figures,
//! corrupt frames, optimize.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use perfkit_cache::{
    Bytes, Cache, CacheAdmin, CacheAside, CacheError, Lookup, MemoryCache, MemoryConfig,
};
use perfkit_core::{ManualClock, Timestamp};

#[tokio::test]
async fn the_size_limit_evicts_and_counts() {
    let config = MemoryConfig { max_bytes: 10_000, ..MemoryConfig::default() };
    let cache = MemoryCache::new(config);
    // Distinct incompressible-enough values below the compression threshold.
    for i in 0..100 {
        let value = format!("{i:0>900}");
        cache.set(&format!("key:{i}"), value.as_bytes(), None).await.unwrap();
        cache.get(&format!("key:{i}")).await.unwrap();
    }
    let stats = cache.stats().await;
    assert!(stats.bytes <= 10_000, "{stats:?}");
    assert!(stats.evictions > 0, "{stats:?}");
    assert_eq!(stats.evictions + stats.keys, 100, "{stats:?}");
}

#[tokio::test]
async fn figures_are_exact() {
    let cache = MemoryCache::default();
    cache.set("ab", b"xyz", None).await.unwrap();
    cache.set("c", b"", None).await.unwrap();
    let stats = cache.stats().await;
    assert_eq!((stats.keys, stats.bytes, stats.evictions), (2, 6, 0));
    cache.delete("ab").await.unwrap();
    assert_eq!(cache.stats().await.keys, 1);
}

#[tokio::test]
async fn by_default_api_sized_values_are_kept_as_they_are_and_large_ones_compressed() {
    let cache = MemoryCache::default();
    let json = |items: usize| {
        serde_json::to_vec(&(0..items).map(|i| format!("post {i} under load")).collect::<Vec<_>>())
            .unwrap()
    };
    let (page, large) = (json(250), json(2_000));
    assert!(page.len() > 4_096 && page.len() < 16 * 1024 && large.len() > 16 * 1024);
    cache.set("page", &page, None).await.unwrap();
    assert_eq!(cache.stats().await.compressed_bytes_saved, 0, "a hit costs no decode");
    assert_eq!(cache.stats().await.bytes, ("page".len() + page.len()) as u64);
    cache.set("large", &large, None).await.unwrap();
    assert!(cache.stats().await.compressed_bytes_saved > large.len() as u64 / 2);
    assert_eq!(cache.get("large").await.unwrap(), Some(large));
    assert_eq!(cache.get("page").await.unwrap(), Some(page));
}

#[tokio::test]
async fn reserved_keys_are_not_in_the_application_figures() {
    let cache = MemoryCache::default();
    cache.set("ab", b"xyz", None).await.unwrap();
    let reserved = cache.reserved();
    reserved.set("history:host-1", &[b'x'; 100], None).await.unwrap();
    reserved.get("history:host-1").await.unwrap();
    let counters = cache.counters();
    assert_eq!((counters.keys, counters.bytes, counters.hits, counters.misses), (1, 5, 0, 0));
}

#[tokio::test]
async fn reserved_keys_have_a_size_limit_of_their_own() {
    let config =
        MemoryConfig { max_bytes: 1_000, reserved_max_bytes: 100_000, ..MemoryConfig::default() };
    let cache = MemoryCache::new(config);
    let big = vec![b'h'; 900];
    cache.reserved().set("history", &big, None).await.unwrap();
    // Filling the application's store does not evict perfkit's own keys.
    for i in 0..20 {
        cache.set(&format!("k{i}"), &[b'v'; 500], None).await.unwrap();
    }
    assert!(cache.counters().evictions > 0);
    assert_eq!(cache.reserved().get("history").await.unwrap(), Some(big));
}

#[tokio::test]
async fn a_corrupt_frame_is_an_error_and_counted() {
    let cache = MemoryCache::default();
    cache.set_raw_frame("bad", &[0xFE, 9, 0, 0, 0, 0xF0]).await;
    assert!(matches!(cache.get("bad").await, Err(CacheError::CorruptFrame { .. })));
    assert_eq!(cache.stats().await.errors, 1);
}

#[tokio::test]
async fn cache_aside_computes_over_a_corrupt_frame_and_replaces_it() {
    let cache = Arc::new(MemoryCache::default());
    cache.set_raw_frame("bad", &[0xFE, 9, 0, 0, 0, 0xF0]).await;
    let loader = CacheAside::new(cache.clone());
    let found = loader.get_or_compute("bad", None, || async { Ok(b"fresh".to_vec()) }).await;
    assert_eq!(found.unwrap(), (Bytes::from_static(b"fresh"), Lookup::Computed));
    assert_eq!(cache.get("bad").await.unwrap(), Some(b"fresh".to_vec()));
    let counters = cache.counters();
    assert_eq!((counters.errors, counters.misses, counters.hits), (1, 1, 1));
}

#[tokio::test]
async fn optimize_drops_entries_expired_on_the_cache_clock() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(0)));
    let cache = MemoryCache::with_clock(MemoryConfig::default(), clock.clone());
    cache.set("short", b"v", Some(Duration::from_secs(1))).await.unwrap();
    cache.set("long", b"v", Some(Duration::from_secs(100))).await.unwrap();
    clock.advance(Duration::from_secs(2));
    let report = cache.optimize().await.unwrap();
    assert_eq!((report.before.keys, report.after.keys, report.expired_removed), (2, 1, 1));
    assert_eq!(cache.get("long").await.unwrap(), Some(b"v".to_vec()));
}

#[tokio::test]
async fn on_the_system_clock_moka_hides_expired_entries() {
    let cache = MemoryCache::default();
    cache.set("short", b"v", Some(Duration::from_millis(5))).await.unwrap();
    cache.set("long", b"v", Some(Duration::from_secs(300))).await.unwrap();
    // A sleep is a floor on the monotonic clock moka counts TTLs on, so the outcome is fixed.
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(cache.get("short").await.unwrap(), None);
    assert!(!cache.exists("short").await.unwrap());
    assert_eq!(cache.get("long").await.unwrap(), Some(b"v".to_vec()));
    let stats = cache.stats().await;
    assert_eq!((stats.hits, stats.misses), (1, 1));
}

#[tokio::test]
async fn an_increment_keeps_the_deadline_of_the_first() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(0)));
    let cache = MemoryCache::with_clock(MemoryConfig::default(), clock.clone());
    assert_eq!(cache.increment("n", Some(Duration::from_secs(10))).await.unwrap(), 1);
    clock.advance(Duration::from_secs(4));
    assert_eq!(cache.increment("n", Some(Duration::from_secs(10))).await.unwrap(), 2);
    assert_eq!(cache.ttl("n").await.unwrap(), Some(Duration::from_secs(6)));
    clock.advance(Duration::from_secs(6));
    assert_eq!(cache.get("n").await.unwrap(), None);
}

#[tokio::test]
async fn shared_reads_hand_out_the_stored_bytes_without_copying() {
    let cache = MemoryCache::default();
    let page = br#"{"posts":[]}"#.repeat(400);
    cache.set("page", &page, None).await.unwrap();
    let first = cache.get_shared("page").await.unwrap().unwrap();
    let second = cache.get_shared("page").await.unwrap().unwrap();
    assert_eq!(first, page);
    assert_eq!(first.as_ptr(), second.as_ptr(), "both reads are the stored value itself");
    let copied = cache.get("page").await.unwrap().unwrap();
    assert_ne!(copied.as_ptr(), first.as_ptr(), "get copies, as it always has");
}
