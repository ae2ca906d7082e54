//! The figures of caches perfkit does not own (a host's own LRU, an HTTP client's cache): the
//! host reports each read and write in one call, and perfkit shows them beside its own cache's
//! figures, each under the name the host gave.
//!
//! The host owns these figures; perfkit only keeps the counters. Names come from the host's
//! code, but the set is capped all the same: beyond [`HostCaches::new`]'s cap, or for a name
//! longer than [`MAX_HOST_CACHE_NAME`], reports are counted together under
//! [`OTHER_PREFIXES`](crate::OTHER_PREFIXES)'s name, `(other)`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use perfkit_core::BoundedTable;
use serde::{Deserialize, Serialize};

use crate::OTHER_PREFIXES;

/// The longest host cache name kept, in bytes.
pub const MAX_HOST_CACHE_NAME: usize = 64;

#[derive(Debug, Default)]
struct HostCacheCounters {
    hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
}

/// The handle a host reports one cache's reads and writes through: cheap to clone, lock-free
/// to call.
///
/// ```
/// use perfkit_cache::HostCaches;
///
/// let caches = HostCaches::new(8);
/// let lru = caches.cache("session-lru");
/// lru.record_read(true);
/// lru.record_read(false);
/// lru.record_write();
/// let figures = &caches.stats()[0];
/// assert_eq!((figures.name.as_str(), figures.hits, figures.misses, figures.writes), ("session-lru", 1, 1, 1));
/// assert!((figures.hit_rate - 0.5).abs() < f64::EPSILON);
/// ```
#[derive(Debug, Clone)]
pub struct HostCache(Arc<HostCacheCounters>);

impl HostCache {
    /// One read: `hit` when the cache had the value.
    pub fn record_read(&self, hit: bool) {
        let counter = if hit { &self.0.hits } else { &self.0.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// One write (a value stored or replaced).
    pub fn record_write(&self) {
        self.0.writes.fetch_add(1, Ordering::Relaxed);
    }
}

/// One host cache's figures, as the host reported them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HostCacheStats {
    /// The name the host gave, or `(other)` for reports beyond the cap.
    pub name: String,
    /// Reads that found a value.
    pub hits: u64,
    /// Reads that found nothing.
    pub misses: u64,
    /// `hits / (hits + misses)`, 0 before any read.
    pub hit_rate: f64,
    /// Writes.
    pub writes: u64,
}

/// The host's caches, by name, at most a fixed number of them.
#[derive(Debug)]
pub struct HostCaches {
    table: BoundedTable<HostCache>,
    other: HostCache,
}

impl HostCaches {
    /// Room for `max` named caches.
    #[must_use]
    pub fn new(max: usize) -> Self {
        HostCaches {
            table: BoundedTable::new(max),
            other: HostCache(Arc::new(HostCacheCounters::default())),
        }
    }

    /// The handle of the cache called `name`, made on first use; the shared `(other)` handle
    /// when the cap is reached or the name is longer than [`MAX_HOST_CACHE_NAME`]. Keep the
    /// handle: each call looks the name up.
    #[must_use]
    pub fn cache(&self, name: &str) -> HostCache {
        if name.len() > MAX_HOST_CACHE_NAME || name == OTHER_PREFIXES {
            return self.other.clone();
        }
        self.table
            .get_or_insert_with(name, || HostCache(Arc::new(HostCacheCounters::default())))
            .unwrap_or(&self.other)
            .clone()
    }

    /// Every cache with a report, by name; `(other)` last when it has any.
    #[must_use]
    pub fn stats(&self) -> Vec<HostCacheStats> {
        let mut named: Vec<HostCacheStats> =
            self.table.iter().map(|(name, cache)| figures(name, cache)).collect();
        named.sort_by(|a, b| a.name.cmp(&b.name));
        let other = figures(OTHER_PREFIXES, &self.other);
        if other.hits + other.misses + other.writes > 0 {
            named.push(other);
        }
        named
    }
}

fn figures(name: &str, cache: &HostCache) -> HostCacheStats {
    let hits = cache.0.hits.load(Ordering::Relaxed);
    let misses = cache.0.misses.load(Ordering::Relaxed);
    let reads = hits + misses;
    #[allow(clippy::cast_precision_loss)] // a ratio; exact to 2^53 reads
    let hit_rate = if reads == 0 { 0.0 } else { hits as f64 / reads as f64 };
    HostCacheStats {
        name: name.to_owned(),
        hits,
        misses,
        hit_rate,
        writes: cache.0.writes.load(Ordering::Relaxed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_beyond_the_cap_or_too_long_are_counted_together() {
        let caches = HostCaches::new(2);
        caches.cache("a").record_read(true);
        caches.cache("b").record_write();
        caches.cache("c").record_read(false);
        caches.cache(&"x".repeat(MAX_HOST_CACHE_NAME + 1)).record_read(false);
        caches.cache("a").record_read(false);
        let stats = caches.stats();
        let names: Vec<&str> = stats.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b", OTHER_PREFIXES]);
        assert_eq!((stats[0].hits, stats[0].misses), (1, 1));
        assert_eq!((stats[1].writes, stats[2].misses), (1, 2));
    }

    #[test]
    fn handles_of_one_name_share_their_counters() {
        let caches = HostCaches::new(4);
        let first = caches.cache("lru");
        let second = caches.cache("lru");
        first.record_read(true);
        second.record_read(true);
        assert_eq!(caches.stats()[0].hits, 2);
        assert!(HostCaches::new(1).stats().is_empty());
    }
}
