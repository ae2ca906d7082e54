//! The near cache's settings: the front's size and local TTL, and how often the invalidation
//! channel is checked.

use std::time::Duration;

/// Settings of a [`TieredCache`](crate::TieredCache)'s local front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NearCacheConfig {
    /// The front's size limit: keys plus values, in bytes. Beyond it, entries are evicted
    /// (TinyLFU admission, LRU eviction) and counted.
    pub max_bytes: u64,
    /// The longest an entry stays in the front. Each entry's own TTL is the shorter of this
    /// and the time its key has left in Redis, so the front never outlives Redis; this bound
    /// also caps how stale an entry could be if an invalidation were lost unnoticed.
    pub ttl: Duration,
    /// How often the invalidation connections are pinged; a failed ping empties the front and
    /// re-establishes tracking, as a lost connection does.
    pub heartbeat: Duration,
}

impl Default for NearCacheConfig {
    fn default() -> Self {
        NearCacheConfig {
            max_bytes: 32 * 1024 * 1024,
            ttl: Duration::from_secs(10),
            heartbeat: Duration::from_secs(1),
        }
    }
}
