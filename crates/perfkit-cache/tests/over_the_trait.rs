//! Logic that sits above the `Cache` trait (the TTL policy, the typed extension), tested
//! against a mock: these tests are about the calls made.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use async_trait::async_trait;
use mockall::predicate::eq;
use perfkit_cache::{
    ACCESS_COUNTER_PREFIX, Cache, CacheError, CacheExt, CacheStats, Compute, OptimizeReport,
    TtlPolicy,
};

/// The calls this logic makes; mockall cannot mock `mget`/`mset`'s nested references, so the
/// mock is of this narrower trait and `Store` adapts it to `Cache`.
#[mockall::automock]
trait Calls {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError>;
    fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError>;
    fn get_or_compute(&self, key: &str) -> Result<Vec<u8>, CacheError>;
}

#[derive(Debug)]
struct Store(MockCalls);

#[async_trait]
impl Cache for Store {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.0.get(key)
    }
    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError> {
        self.0.set(key, value, ttl)
    }
    async fn delete(&self, _: &str) -> Result<bool, CacheError> {
        unreachable!("not used by this logic")
    }
    async fn exists(&self, _: &str) -> Result<bool, CacheError> {
        unreachable!("not used by this logic")
    }
    async fn ttl(&self, _: &str) -> Result<Option<Duration>, CacheError> {
        unreachable!("not used by this logic")
    }
    async fn mget(&self, _: &[&str]) -> Result<Vec<Option<Vec<u8>>>, CacheError> {
        unreachable!("not used by this logic")
    }
    async fn mset(&self, _: &[(&str, &[u8])], _: Option<Duration>) -> Result<(), CacheError> {
        unreachable!("not used by this logic")
    }
    async fn delete_pattern(&self, _: &str) -> Result<u64, CacheError> {
        unreachable!("not used by this logic")
    }
    async fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError> {
        self.0.increment(key, ttl)
    }
    async fn get_or_compute(
        &self,
        key: &str,
        _: Option<Duration>,
        _: Compute<'_>,
    ) -> Result<Vec<u8>, CacheError> {
        self.0.get_or_compute(key)
    }
    async fn stats(&self) -> CacheStats {
        unreachable!("not used by this logic")
    }
    async fn optimize(&self) -> Result<OptimizeReport, CacheError> {
        unreachable!("not used by this logic")
    }
    async fn clear(&self) -> Result<u64, CacheError> {
        unreachable!("not used by this logic")
    }
}

#[tokio::test]
async fn record_access_counts_in_the_cache_and_grows_the_ttl() {
    let mut store = MockCalls::new();
    store
        .expect_increment()
        .with(eq(format!("{ACCESS_COUNTER_PREFIX}user:1")), eq(Some(Duration::from_secs(3600))))
        .times(1)
        .returning(|_, _| Ok(3));
    let ttl = TtlPolicy::default().record_access(&Store(store), "user:1").await.unwrap();
    assert_eq!(ttl, Duration::from_secs(8 * 60));
}

#[tokio::test]
async fn record_access_passes_cache_errors_on() {
    let mut store = MockCalls::new();
    store.expect_increment().returning(|_, _| Err(CacheError::CircuitOpen));
    let error = TtlPolicy::default().record_access(&Store(store), "k").await.unwrap_err();
    assert!(matches!(error, CacheError::CircuitOpen));
}

#[tokio::test]
async fn typed_values_are_written_as_json_with_the_given_ttl() {
    let mut store = MockCalls::new();
    store
        .expect_set()
        .withf(|key, value, ttl| {
            key == "p" && value == b"[1,2]" && *ttl == Some(Duration::from_secs(5))
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    store.expect_get().with(eq("p")).returning(|_| Ok(Some(b"[1,2]".to_vec())));
    let store = Store(store);
    store.set_value("p", &[1, 2], Some(Duration::from_secs(5))).await.unwrap();
    assert_eq!(store.get_value::<Vec<u8>>("p").await.unwrap(), Some(vec![1, 2]));
}

#[tokio::test]
async fn typed_get_or_compute_serializes_through_the_cache() {
    let mut store = MockCalls::new();
    store.expect_get_or_compute().times(1).returning(|key| {
        assert_eq!(key, "answer");
        Ok(b"42".to_vec())
    });
    let value: u32 = Store(store)
        .get_or_compute_value("answer", None, || async { unreachable!("the cache had it") })
        .await
        .unwrap();
    assert_eq!(value, 42);
}
