use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;

use crate::{CacheError, CacheStats, OptimizeReport};

/// The future a compute function returns: the value's bytes, or why it could not be made.
pub type ComputeFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, CacheError>> + Send + 'a>>;

/// A caller's function that computes a missing value for
/// [`get_or_compute`](Cache::get_or_compute).
pub type Compute<'a> = Box<dyn FnOnce() -> ComputeFuture<'a> + Send + 'a>;

/// A cache of byte values under string keys, with TTLs; the boundary every perfkit cache sits
/// behind (held as `Arc<dyn Cache>`).
///
/// Keys are relative to the cache's namespace. A `ttl` of `None` means the cache's configured
/// default TTL. Reads fail open: when the backend is unreachable, `get` and `mget` report
/// misses (counted as errors in [`stats`](Cache::stats)) and
/// [`get_or_compute`](Cache::get_or_compute) still returns the computed value; writes return
/// the error.
///
/// For serde values, see [`CacheExt`](crate::CacheExt).
///
/// ```
/// use std::time::Duration;
/// use perfkit_cache::{Cache, MemoryCache};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let cache = MemoryCache::default();
/// cache.set("greeting", b"hello", Some(Duration::from_secs(60))).await?;
/// assert_eq!(cache.get("greeting").await?, Some(b"hello".to_vec()));
/// assert_eq!(cache.increment("visits", None).await?, 1);
/// assert_eq!(cache.delete_pattern("gree").await?, 1);
/// # Ok::<_, perfkit_cache::CacheError>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait Cache: Send + Sync + fmt::Debug {
    /// The value at `key`, or `None` when absent, expired, or the backend is unreachable.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;

    /// Stores `value` at `key` for `ttl`.
    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError>;

    /// Removes `key`; whether it was there.
    async fn delete(&self, key: &str) -> Result<bool, CacheError>;

    /// Whether `key` holds a value.
    async fn exists(&self, key: &str) -> Result<bool, CacheError>;

    /// Time left before `key` expires; `None` when the key is absent or never expires.
    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError>;

    /// The values at `keys`, in order, in one round trip where the backend allows.
    async fn mget(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, CacheError>;

    /// Stores every entry with the same `ttl`, in one round trip where the backend allows.
    async fn mset(
        &self,
        entries: &[(&str, &[u8])],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError>;

    /// Stores `value` at `prefix:id`, so [`delete_pattern`](Cache::delete_pattern)`(prefix)`
    /// can drop the whole group.
    async fn set_with_pattern(
        &self,
        prefix: &str,
        id: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        self.set(&format!("{prefix}:{id}"), value, ttl).await
    }

    /// Deletes every key that literally starts with `prefix` (glob characters in it are not
    /// special); how many were deleted. Keys outside the namespace are never touched.
    async fn delete_pattern(&self, prefix: &str) -> Result<u64, CacheError>;

    /// Adds one to the integer at `key` and returns the new value; a missing key starts at 0
    /// and gets `ttl`, which later increments leave alone.
    async fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError>;

    /// The value at `key`; when missing, runs `compute`, stores its value for `ttl` and returns
    /// it. Concurrent callers of the same missing key share one computation (single-flight).
    /// When the backend is unreachable the computed value is still returned.
    async fn get_or_compute(
        &self,
        key: &str,
        ttl: Option<Duration>,
        compute: Compute<'_>,
    ) -> Result<Vec<u8>, CacheError>;

    /// Preloads entries (`mset`); how many were written.
    async fn warm(
        &self,
        entries: &[(&str, &[u8])],
        ttl: Option<Duration>,
    ) -> Result<u64, CacheError> {
        self.mset(entries, ttl).await?;
        Ok(entries.len() as u64)
    }

    /// The cache's figures; cheap enough to call on every metrics scrape.
    async fn stats(&self) -> CacheStats;

    /// Housekeeping (drop expired entries, apply the default TTL where missing, report memory);
    /// what it did, with before/after figures.
    async fn optimize(&self) -> Result<OptimizeReport, CacheError>;

    /// Deletes every key of the namespace, and only those; how many were deleted.
    async fn clear(&self) -> Result<u64, CacheError>;
}
