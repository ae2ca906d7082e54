//! Logic that sits above the `Cache` trait (the TTL policy, the typed extension, cache-aside
//! and its fail-open rule), tested against mockall's `MockCache`: these tests are about the
//! calls made.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use mockall::Sequence;
use mockall::predicate::eq;
use perfkit_cache::{
    ACCESS_COUNTER_PREFIX, Bytes, CacheAside, CacheError, CacheExt, Lookup, MockCache, TtlPolicy,
};

fn backend_down(command: &'static str) -> CacheError {
    CacheError::Backend { command, message: "connection refused".into() }
}

#[tokio::test]
async fn record_access_counts_in_the_cache_over_a_day_and_grows_the_ttl() {
    let mut cache = MockCache::new();
    // The counter lives for the guide's 24 h window, not for the TTL's 1 h cap.
    cache
        .expect_increment()
        .with(eq(format!("{ACCESS_COUNTER_PREFIX}user:1")), eq(Some(Duration::from_secs(86_400))))
        .times(1)
        .returning(|_, _| Ok(3));
    let ttl = TtlPolicy::default().record_access(&cache, "user:1").await.unwrap();
    assert_eq!(ttl, Duration::from_secs(8 * 60));
}

#[tokio::test]
async fn record_access_passes_cache_errors_on() {
    let mut cache = MockCache::new();
    cache.expect_increment().returning(|_, _| Err(CacheError::CircuitOpen));
    let error = TtlPolicy::default().record_access(&cache, "k").await.unwrap_err();
    assert!(matches!(error, CacheError::CircuitOpen));
}

#[tokio::test]
async fn typed_values_are_written_as_json_with_the_given_ttl() {
    let mut cache = MockCache::new();
    cache
        .expect_set()
        .withf(|key, value, ttl| {
            key == "p" && value == b"[1,2]" && *ttl == Some(Duration::from_secs(5))
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    cache.expect_get().with(eq("p")).returning(|_| Ok(Some(b"[1,2]".to_vec())));
    cache.set_value("p", &[1, 2], Some(Duration::from_secs(5))).await.unwrap();
    assert_eq!(cache.get_value::<Vec<u8>>("p").await.unwrap(), Some(vec![1, 2]));
}

#[tokio::test]
async fn set_with_pattern_and_warm_are_one_set_and_one_mset() {
    let mut cache = MockCache::new();
    cache
        .expect_set()
        .withf(|key, value, _| key == "user:7" && value == b"ada")
        .times(1)
        .returning(|_, _, _| Ok(()));
    cache
        .expect_mset()
        .withf(|entries, ttl| {
            entries == [("a", &b"1"[..]), ("b", &b"2"[..])] && *ttl == Some(Duration::from_secs(9))
        })
        .times(1)
        .returning(|_, _| Ok(()));
    cache.set_with_pattern("user", "7", b"ada", None).await.unwrap();
    let warmed = cache.warm(&[("a", b"1"), ("b", b"2")], Some(Duration::from_secs(9))).await;
    assert_eq!(warmed.unwrap(), 2);
}

#[tokio::test]
async fn a_hit_never_computes_nor_writes() {
    let mut cache = MockCache::new();
    cache
        .expect_get_shared()
        .with(eq("k"))
        .times(1)
        .returning(|_| Ok(Some(Bytes::from_static(b"v"))));
    let loader = CacheAside::new(Arc::new(cache));
    let found = loader.get_or_compute("k", None, || async { panic!("a hit") }).await.unwrap();
    assert_eq!(found, (Bytes::from_static(b"v"), Lookup::Hit));
}

#[tokio::test]
async fn a_miss_computes_and_stores_with_the_ttl() {
    let ttl = Some(Duration::from_secs(30));
    let mut cache = MockCache::new();
    let mut order = Sequence::new();
    cache.expect_get_shared().times(1).in_sequence(&mut order).returning(|_| Ok(None));
    cache.expect_exists().times(1).in_sequence(&mut order).returning(|_| Ok(false));
    cache
        .expect_set()
        .withf(move |key, value, t| key == "k" && value == b"v" && *t == ttl)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(()));
    let loader = CacheAside::new(Arc::new(cache));
    let found = loader.get_or_compute("k", ttl, || async { Ok(b"v".to_vec()) }).await.unwrap();
    assert_eq!(found, (Bytes::from_static(b"v"), Lookup::Computed));
}

#[tokio::test]
async fn a_failed_read_is_a_miss_and_a_failed_write_still_returns_the_value() {
    let mut cache = MockCache::new();
    cache.expect_get_shared().times(1).returning(|key| {
        Err(CacheError::CorruptFrame { key: key.to_owned(), reason: "bad tag".into() })
    });
    cache.expect_exists().never();
    cache.expect_set().times(1).returning(|_, _, _| Err(backend_down("SET")));
    let loader = CacheAside::new(Arc::new(cache));
    let found = loader.get_or_compute("k", None, || async { Ok(b"v".to_vec()) }).await.unwrap();
    assert_eq!(found, (Bytes::from_static(b"v"), Lookup::Computed));
}

#[tokio::test]
async fn a_failed_second_look_still_computes() {
    let mut cache = MockCache::new();
    cache.expect_get_shared().times(1).returning(|_| Ok(None));
    cache.expect_exists().times(1).returning(|_| Err(backend_down("EXISTS")));
    cache.expect_set().times(1).returning(|_, _, _| Ok(()));
    let loader = CacheAside::new(Arc::new(cache));
    let found = loader.get_or_compute("k", None, || async { Ok(b"v".to_vec()) }).await.unwrap();
    assert_eq!(found, (Bytes::from_static(b"v"), Lookup::Computed));
}

#[tokio::test]
async fn a_compute_error_is_returned_and_nothing_is_written() {
    let mut cache = MockCache::new();
    cache.expect_get_shared().returning(|_| Ok(None));
    cache.expect_exists().returning(|_| Ok(false));
    cache.expect_set().never();
    let loader = CacheAside::new(Arc::new(cache));
    let error = loader
        .get_or_compute("k", None, || async {
            Err(CacheError::Compute { key: "k".into(), source: "database down".into() })
        })
        .await
        .unwrap_err();
    assert!(matches!(error, CacheError::Compute { .. }), "{error}");
}

#[tokio::test]
async fn a_refused_key_is_an_error_before_any_computation() {
    let mut cache = MockCache::new();
    cache.expect_get_shared().returning(|key| Err(CacheError::ReservedKey { key: key.to_owned() }));
    let loader = CacheAside::new(Arc::new(cache));
    let error = loader
        .get_or_compute("~perfkit:x", None, || async { panic!("refused") })
        .await
        .unwrap_err();
    assert!(matches!(error, CacheError::ReservedKey { .. }), "{error}");
}

#[tokio::test]
async fn a_value_stored_by_a_flight_that_just_landed_is_a_hit() {
    let mut cache = MockCache::new();
    let mut order = Sequence::new();
    cache.expect_get_shared().times(1).in_sequence(&mut order).returning(|_| Ok(None));
    cache.expect_exists().times(1).in_sequence(&mut order).returning(|_| Ok(true));
    cache
        .expect_get_shared()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(Some(Bytes::from_static(b"theirs"))));
    let loader = CacheAside::new(Arc::new(cache));
    let found = loader.get_or_compute("k", None, || async { panic!("landed") }).await.unwrap();
    assert_eq!(found, (Bytes::from_static(b"theirs"), Lookup::Hit));
}

#[tokio::test]
async fn typed_get_or_compute_serializes_through_the_cache() {
    let mut cache = MockCache::new();
    cache
        .expect_get_shared()
        .with(eq("answer"))
        .times(1)
        .returning(|_| Ok(Some(Bytes::from_static(b"42"))));
    let loader = CacheAside::new(Arc::new(cache));
    let (value, lookup) = loader
        .get_or_compute_value::<u32, _, _>("answer", None, || async { panic!("the cache had it") })
        .await
        .unwrap();
    assert_eq!((value, lookup), (42, Lookup::Hit));

    let mut cache = MockCache::new();
    cache.expect_get_shared().returning(|_| Ok(None));
    cache.expect_exists().returning(|_| Ok(false));
    cache
        .expect_set()
        .withf(|_, value, _| value == br#"["a"]"#)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let loader = CacheAside::new(Arc::new(cache));
    let value_lookup =
        loader.get_or_compute_value("k", None, || async { Ok(vec!["a".to_owned()]) }).await;
    let (value, lookup) = value_lookup.unwrap();
    assert_eq!((value, lookup), (vec!["a".to_owned()], Lookup::Computed));
}
