//! perfkit's cache: one [`Cache`] trait, an in-memory backend ([`MemoryCache`], moka) and a
//! Redis backend ([`RedisCache`], fred).
//!
//! - Every Redis key lives under a namespace prefix (default `perfkit:`); `clear`,
//!   `delete_pattern` and `optimize` never touch a key outside it, and a caller's pattern is a
//!   literal prefix (glob characters are escaped). Deletion is `SCAN MATCH` + `UNLINK` in
//!   batches, never `KEYS` or `FLUSHDB`.
//! - Values of at least 1 KiB (configurable) are stored lz4-compressed behind a one-byte tag;
//!   text values below it are stored verbatim, so other applications can read them.
//! - [`get_or_compute`](Cache::get_or_compute) is single-flight: concurrent callers of one
//!   missing key share one computation.
//! - The Redis backend fails open: reads miss, `get_or_compute` still computes, errors are
//!   counted, and a [`CircuitBreaker`] stops callers paying the timeout while Redis is down.
//! - [`CacheExt`] adds serde values (JSON) over any cache; [`TtlPolicy`] is the seed's
//!   access-count TTL rule.
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use perfkit_cache::{Cache, CacheExt, MemoryCache};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let cache: Arc<dyn Cache> = Arc::new(MemoryCache::default());
//! let user: Vec<String> = cache
//!     .get_or_compute_value("user:1:roles", Some(Duration::from_secs(60)), || async {
//!         Ok(vec!["admin".to_owned()]) // the slow query
//!     })
//!     .await?;
//! assert_eq!(user, ["admin"]);
//! assert_eq!(cache.get_value::<Vec<String>>("user:1:roles").await?, Some(user));
//! assert_eq!(cache.stats().await.hits, 1);
//! # Ok::<_, perfkit_cache::CacheError>(())
//! # }).unwrap();
//! ```

mod breaker;
mod cache;
mod error;
mod frame;
mod memory;
mod namespace;
mod redis;
mod report;
mod single_flight;
mod stats;
mod ttl_policy;
mod typed;

pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker};
pub use cache::{Cache, Compute, ComputeFuture};
pub use error::{BoxError, CacheError};
pub use memory::{MemoryCache, MemoryConfig};
pub use redis::{RedisCache, RedisConfig};
pub use report::{Footprint, OptimizeReport};
pub use stats::{Backend, CacheStats, RedisServerStats};
pub use ttl_policy::{ACCESS_COUNTER_PREFIX, TtlPolicy};
pub use typed::CacheExt;
