//! The cache boundary in two parts: [`Cache`], the data path application code uses, and
//! [`CacheAdmin`], the administration the orchestrator and the HTTP API use. Split so each
//! can be mocked on its own and each implementation stays small.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{CacheError, CacheStats, OptimizeReport};

/// The data path of a cache: byte values under string keys, with TTLs. Every perfkit cache
/// sits behind it, held as `Arc<dyn Cache>`.
///
/// Keys are relative to the cache's namespace. A `ttl` of `None` means the cache's configured
/// default TTL. Keys starting with [`RESERVED_PREFIX`](crate::RESERVED_PREFIX) belong to
/// perfkit itself and are refused with [`CacheError::ReservedKey`] (reach them through
/// [`CacheAdmin::reserved`]).
///
/// Reads fail open: when the backend is unreachable, `get` and `mget` report misses (counted
/// as errors in the statistics); writes return the error. For a read that computes a missing
/// value once under a stampede, see [`CacheAside`](crate::CacheAside); for serde values and
/// the prefix and warming helpers, see [`CacheExt`](crate::CacheExt).
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
/// assert!(cache.delete("greeting").await?);
/// # Ok::<_, perfkit_cache::CacheError>(())
/// # }).unwrap();
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Cache: Send + Sync + fmt::Debug {
    /// A short name of the backend, for spans (`cache.backend`) and logs: `"memory"`,
    /// `"redis"`, `"tiered"` for perfkit's; `"custom"` unless an implementation says.
    fn backend_name(&self) -> &'static str {
        "custom"
    }

    /// The value at `key`, or `None` when absent, expired, or the backend is unreachable.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;

    /// [`get`](Self::get) as shared bytes: a cache that keeps values in process memory hands
    /// out another reference to the stored value instead of a copy, so a hot read that is
    /// sent on as it is (an HTTP answer) costs no allocation and no copy. Same misses, errors
    /// and statistics as `get`; by default, `get`'s value without a further copy.
    async fn get_shared(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        Ok(self.get(key).await?.map(Bytes::from))
    }

    /// Stores `value` at `key` for `ttl`.
    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError>;

    /// Removes `key`; whether it was there.
    async fn delete(&self, key: &str) -> Result<bool, CacheError>;

    /// Whether `key` holds a value. Not counted as a read in the statistics.
    async fn exists(&self, key: &str) -> Result<bool, CacheError>;

    /// Time left before `key` expires; `None` when the key is absent or never expires.
    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError>;

    /// The values at `keys`, in order, in one round trip where the backend allows.
    async fn mget<'k>(&self, keys: &[&'k str]) -> Result<Vec<Option<Vec<u8>>>, CacheError>;

    /// Stores every entry with the same `ttl`, in one round trip where the backend allows.
    async fn mset<'k>(
        &self,
        entries: &[(&'k str, &'k [u8])],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError>;

    /// Adds one to the integer at `key` and returns the new value; a missing key starts at 0
    /// and gets `ttl`, which later increments leave alone.
    async fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError>;
}

/// The administration of a cache: figures, housekeeping, bulk deletion, and perfkit's own
/// reserved keys. Held as `Arc<dyn CacheAdmin>` by the orchestrator.
///
/// Every operation stays inside the application's part of the namespace: `clear` and
/// `delete_pattern` never delete a key of another application nor a reserved key, and the
/// figures count application reads only.
///
/// ```
/// use perfkit_cache::{Cache, CacheAdmin, MemoryCache};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let cache = MemoryCache::default();
/// cache.set("user:1", b"ada", None).await?;
/// cache.reserved().set("history", b"[]", None).await?; // perfkit's own key
/// cache.get("user:1").await?;
/// assert_eq!(cache.counters().hits, 1); // synchronous: fit for a metrics scrape
/// assert_eq!(cache.delete_pattern("user").await?, 1);
/// assert_eq!(cache.clear().await?, 0); // the reserved key is not the application's
/// assert!(cache.reserved().exists("history").await?);
/// # Ok::<_, perfkit_cache::CacheError>(())
/// # }).unwrap();
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait CacheAdmin: Send + Sync + fmt::Debug {
    /// The figures as they stand, without waiting on I/O: the hit, miss, error and
    /// compression counters are atomics this cache keeps, so a Prometheus collector can read
    /// them at scrape time.
    ///
    /// Memory: keys and bytes are exact too. Redis: keys, bytes, evictions and the server
    /// figures are those of the most recent [`stats`](Self::stats) refresh (zero and `None`
    /// before the first); `connected` and the breaker state are current.
    fn counters(&self) -> CacheStats;

    /// The figures after a refresh: for Redis, asks the server (`INFO`), takes one bounded
    /// step of the namespace's key count (at most one per `count_interval`), and keeps both
    /// for [`counters`](Self::counters); for memory, the same as `counters`.
    async fn stats(&self) -> CacheStats;

    /// Housekeeping (drop expired entries, apply the default TTL where missing, report
    /// memory); what it did, with before/after figures.
    async fn optimize(&self) -> Result<OptimizeReport, CacheError>;

    /// Deletes every application key of the namespace, and only those (reserved keys stay);
    /// how many were deleted.
    async fn clear(&self) -> Result<u64, CacheError>;

    /// Deletes every application key that literally starts with `prefix` (glob characters in
    /// it are not special); how many were deleted. Reserved keys and keys outside the
    /// namespace are never touched, whatever the prefix (`""` and `"~"` included).
    async fn delete_pattern(&self, prefix: &str) -> Result<u64, CacheError>;

    /// The handle on perfkit's own keys (persisted history, instance announcements and
    /// locks): a [`Cache`] under the reserved sub-namespace
    /// ([`RESERVED_PREFIX`](crate::RESERVED_PREFIX)), on the same store or connection pool,
    /// with its own counters. The same handle on every call.
    fn reserved(&self) -> Arc<dyn Cache>;
}

/// One backend as both parts, so the orchestrator can hold it once as
/// `Arc<dyn CacheBackend>` and hand out `Arc<dyn Cache>` and `Arc<dyn CacheAdmin>` (trait
/// upcasting). Implemented for every type that implements both.
///
/// ```
/// use std::sync::Arc;
/// use perfkit_cache::{Cache, CacheAdmin, CacheBackend, MemoryCache};
///
/// let backend: Arc<dyn CacheBackend> = Arc::new(MemoryCache::default());
/// let data: Arc<dyn Cache> = backend.clone();
/// let admin: Arc<dyn CacheAdmin> = backend;
/// # drop((data, admin));
/// ```
pub trait CacheBackend: Cache + CacheAdmin {}

impl<T: Cache + CacheAdmin + ?Sized> CacheBackend for T {}
