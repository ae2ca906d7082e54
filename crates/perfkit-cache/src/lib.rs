//! perfkit's cache: a data-path trait [`Cache`] and an administration trait [`CacheAdmin`]
//! (one backend is both: [`CacheBackend`]), an in-memory backend ([`MemoryCache`], moka),
//! a Redis backend ([`RedisCache`], fred), and a near cache ([`TieredCache`]: a bounded moka
//! front over Redis, kept coherent by Redis's invalidation messages).
//!
//! - Every Redis key lives under a namespace prefix (default `perfkit:`); `clear`,
//!   `delete_pattern` and `optimize` never touch a key outside it, and a caller's pattern is a
//!   literal prefix (glob characters are escaped). Deletion is `SCAN MATCH` + `UNLINK` in
//!   batches, never `KEYS` or `FLUSHDB`.
//! - perfkit's own keys (persisted history, instance announcements and locks) live in a
//!   reserved sub-namespace, [`RESERVED_PREFIX`], reached through [`CacheAdmin::reserved`].
//!   The application handle refuses keys under it, never clears or deletes them, and does not
//!   count their reads.
//! - Values of at least 1 KiB in Redis, 16 KiB in memory (both configurable) are stored
//!   lz4-compressed behind a one-byte tag; text values below it are stored verbatim, so other
//!   applications can read them.
//! - [`CacheAside`] is cache-aside written once over the trait: single-flight (concurrent
//!   callers of one missing key share one computation), one fail-open rule, and a [`Lookup`]
//!   saying whether the value was a hit.
//! - [`CacheAdmin::counters`] is synchronous, so a Prometheus collector reads the figures at
//!   scrape time; [`CacheAdmin::stats`] refreshes what only the server knows.
//! - The Redis backend fails open: reads miss, cache-aside still computes, errors are
//!   counted, and a [`CircuitBreaker`] stops callers paying the timeout while Redis is down.
//! - [`Coordination`] is what instances sharing a store do together: announce themselves
//!   with a TTL, list the live ones, take turns under named locks ([`run_exclusive`]);
//!   [`LocalCoordination`] for one process, [`RedisCoordination`] over a Redis cache.
//! - [`CacheExt`] adds serde values (JSON) and the prefix and warming helpers over any cache;
//!   [`TtlPolicy`] is the guide's access-count TTL rule (accesses over 24 h);
//!   [`HotKeys`] counts accesses in the process, names the keys to warm and owns the
//!   warming figures.
//! - With the `mock` feature, mockall mocks of both traits (`MockCache`, `MockCacheAdmin`)
//!   for the tests of crates that use them.
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use perfkit_cache::{CacheAdmin, CacheAside, CacheBackend, CacheExt, Lookup, MemoryCache};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let backend: Arc<dyn CacheBackend> = Arc::new(MemoryCache::default());
//! let loader = CacheAside::new(backend.clone());
//! let ttl = Some(Duration::from_secs(60));
//! let (roles, lookup) = loader
//!     .get_or_compute_value("user:1:roles", ttl, || async {
//!         Ok(vec!["admin".to_owned()]) // the slow query
//!     })
//!     .await?;
//! assert_eq!((roles.as_slice(), lookup), (&["admin".to_owned()][..], Lookup::Computed));
//! assert_eq!(backend.get_value::<Vec<String>>("user:1:roles").await?, Some(roles));
//! assert_eq!(backend.counters().hits, 1);
//!
//! // Every read says how it went: `Hit` from the cache; a miss is `Computed` by this
//! // caller, or `Joined` when it shared another caller's computation.
//! let (_, lookup) = loader
//!     .get_or_compute_value("user:1:roles", ttl, || async { Ok(Vec::<String>::new()) })
//!     .await?;
//! assert_eq!(lookup, Lookup::Hit);
//! assert!(lookup.is_hit());
//!
//! // perfkit's own keys: out of the application's reach.
//! backend.reserved().set("history:host-1", b"[]", None).await?;
//! assert_eq!(backend.clear().await?, 1);
//! assert!(backend.reserved().exists("history:host-1").await?);
//! # Ok::<_, perfkit_cache::CacheError>(())
//! # }).unwrap();
//! ```

mod breaker;
mod cache;
mod cache_aside;
mod coordination;
mod error;
mod frame;
mod host_caches;
mod hot_keys;
mod key_prefixes;
mod memory;
mod namespace;
mod redis;
mod report;
mod reserved;
mod single_flight;
mod stats;
mod stored;
mod tiered;
mod ttl_policy;
mod typed;
mod warmer;

pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker};
/// The shared byte buffer [`Cache::get_shared`] and [`CacheAside`] hand out (axum's and
/// hyper's body type too).
pub use bytes::Bytes;
pub use cache::{Cache, CacheAdmin, CacheBackend};
#[cfg(any(test, feature = "mock"))]
pub use cache::{MockCache, MockCacheAdmin};
pub use cache_aside::{CacheAside, Lookup, READ_SPAN_TARGET};
#[cfg(any(test, feature = "mock"))]
pub use coordination::MockCoordination;
pub use coordination::{
    Announcement, Coordination, ExclusiveRun, LocalCoordination, LockToken, MAX_ANNOUNCED,
    run_exclusive,
};
pub use error::{BoxError, CacheError};
pub use host_caches::{HostCache, HostCacheStats, HostCaches, MAX_HOST_CACHE_NAME};
pub use hot_keys::{HotKey, HotKeys, MAX_HOT_KEYS_CAPACITY, WarmReason, WarmRun, WarmingStats};
pub use key_prefixes::{KeyPrefixConfig, KeyPrefixStats, NO_PREFIX, OTHER_PREFIXES};
pub use memory::{MemoryCache, MemoryConfig};
pub use redis::{RedisCache, RedisConfig, RedisCoordination, RedisTls};
pub use report::{Footprint, OptimizeReport};
pub use reserved::RESERVED_PREFIX;
pub use stats::{Backend, CacheStats, NamespaceCount, NearCacheStats, RedisServerStats};
pub use stored::{decode_stored, encode_stored};
pub use tiered::{NearCacheConfig, TieredCache};
pub use ttl_policy::{ACCESS_COUNTER_PREFIX, TtlPolicy};
pub use typed::CacheExt;
pub use warmer::CacheWarmer;
