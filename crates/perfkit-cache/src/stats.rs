//! A cache's figures as the API and the Prometheus collector show them, and the lock-free counters
//! each backend keeps on its hot path.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::{BreakerState, KeyPrefixStats};

/// Which kind of backend produced the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum Backend {
    /// [`MemoryCache`](crate::MemoryCache).
    Memory,
    /// [`RedisCache`](crate::RedisCache).
    Redis,
}

/// A cache's figures, as the HTTP API and the Prometheus collector show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CacheStats {
    /// The backend.
    pub backend: Backend,
    /// Reads that found a value (`get`, `mget` per key, `get_or_compute`).
    pub hits: u64,
    /// Reads that found nothing, including reads that failed open.
    pub misses: u64,
    /// `hits / (hits + misses)`, 0 before any read.
    pub hit_rate: f64,
    /// Keys of the application's part of the namespace (perfkit's reserved keys and other
    /// applications' keys never counted): exact for memory; for Redis, counted by a bounded
    /// `SCAN` of every primary (see [`count`](Self::count)).
    pub keys: u64,
    /// Bytes those keys hold: keys plus stored frames for memory; for Redis, the average
    /// `MEMORY USAGE` of the sampled keys times `keys`. Redis's own `used_memory` is
    /// [`server`](Self::server)'s.
    pub bytes: u64,
    /// Whether `keys` and `bytes` are estimates (Redis) rather than exact (memory).
    #[serde(default)]
    pub estimated: bool,
    /// How a Redis cache counted `keys` and `bytes`; absent for memory and before the first
    /// count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<NamespaceCount>,
    /// Hits, misses and keys per key prefix, most read first (empty when prefixes are off).
    #[serde(default)]
    pub prefixes: Vec<KeyPrefixStats>,
    /// Entries evicted to respect the size limit (for Redis, the server's `evicted_keys`).
    pub evictions: u64,
    /// Operations that failed (backend errors, timeouts, calls refused by the breaker).
    pub errors: u64,
    /// Whether the backend is reachable now (always true for memory).
    pub connected: bool,
    /// The circuit breaker's state (always closed for memory).
    pub breaker: BreakerState,
    /// Bytes saved by compression over all writes.
    pub compressed_bytes_saved: u64,
    /// The Redis server's own figures, when the backend is Redis and it answered `INFO`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<RedisServerStats>,
    /// The near cache's figures, when a [`TieredCache`](crate::TieredCache) keeps a local
    /// front over Redis. `hits` above counts front and back hits together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near: Option<NearCacheStats>,
    /// The warming's figures, when the host gave perfkit a
    /// [`CacheWarmer`](crate::CacheWarmer) (the warmer owns them; the cache leaves this
    /// `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warming: Option<crate::WarmingStats>,
}

/// The figures of a [`TieredCache`](crate::TieredCache)'s local front, which it owns (the
/// back's figures are the [`RedisCache`](crate::RedisCache)'s, in the enclosing stats).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NearCacheStats {
    /// Reads answered by the front, without a round trip to Redis.
    pub front_hits: u64,
    /// Reads the front could not answer that found a value in Redis.
    pub back_hits: u64,
    /// Keys named by invalidation messages from Redis (changes by any other client:
    /// writes, deletes, expiry, eviction).
    pub invalidations: u64,
    /// Times the whole front was emptied: the invalidation channel was lost or reconnected,
    /// invalidations were missed, the database was flushed, or the cache was cleared.
    pub flushes: u64,
    /// Front entries evicted to respect its size limit.
    pub evictions: u64,
    /// Entries in the front.
    pub keys: u64,
    /// Bytes in the front: keys plus values.
    pub bytes: u64,
    /// The front's size limit in bytes.
    pub max_bytes: u64,
    /// Whether invalidations are flowing now; while not, every read goes to Redis.
    pub tracking: bool,
}

/// How a Redis cache counts its namespace: `SCAN MATCH <namespace>*` over every primary, at
/// most [`count_pages_per_step`](crate::RedisConfig::count_pages_per_step) pages per
/// refresh, with `MEMORY USAGE` read for a sample of each page's keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NamespaceCount {
    /// Whether the figures are a finished pass over every primary; false until the first
    /// pass finishes (the figures are then the pass so far: a lower bound).
    pub complete: bool,
    /// Passes finished since start-up.
    pub passes: u64,
    /// Keys whose `MEMORY USAGE` the pass read.
    pub bytes_sampled: u64,
    /// Primaries counted (1 outside a cluster).
    pub primaries: u32,
}

/// Figures from the Redis server's `INFO`: the whole server, not only our namespace, summed
/// over every primary of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RedisServerStats {
    /// `keyspace_hits`.
    pub keyspace_hits: u64,
    /// `keyspace_misses`.
    pub keyspace_misses: u64,
    /// `evicted_keys`.
    pub evicted_keys: u64,
    /// `expired_keys`.
    pub expired_keys: u64,
    /// `used_memory` in bytes.
    pub used_memory: u64,
    /// `maxmemory` in bytes (0: no limit).
    pub maxmemory: u64,
    /// Keys in the selected database (`dbN:keys=`), every application's.
    pub db_keys: u64,
    /// Servers whose `INFO` is summed here: the primaries of a cluster, else 1.
    #[serde(default)]
    pub primaries: u32,
}

/// The counters a backend keeps itself; lock-free so the hot path stays cheap.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) evictions: AtomicU64,
    pub(crate) compressed_bytes_saved: AtomicU64,
}

impl Counters {
    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn saved(&self, bytes: u64) {
        if bytes > 0 {
            self.compressed_bytes_saved.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// The counters as stats; the backend fills in the rest.
    pub(crate) fn snapshot(&self, backend: Backend) -> CacheStats {
        let hits = self.hits.load(Ordering::Relaxed);
        let misses = self.misses.load(Ordering::Relaxed);
        let reads = hits + misses;
        #[allow(clippy::cast_precision_loss)] // a ratio; exact to 2^53 reads
        let hit_rate = if reads == 0 { 0.0 } else { hits as f64 / reads as f64 };
        CacheStats {
            backend,
            hits,
            misses,
            hit_rate,
            keys: 0,
            bytes: 0,
            estimated: false,
            count: None,
            prefixes: Vec::new(),
            evictions: self.evictions.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            connected: true,
            breaker: BreakerState::Closed,
            compressed_bytes_saved: self.compressed_bytes_saved.load(Ordering::Relaxed),
            server: None,
            near: None,
            warming: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_serialize_in_camel_case() {
        let counters = Counters::default();
        counters.hit();
        counters.hit();
        counters.hit();
        counters.miss();
        let stats = counters.snapshot(Backend::Memory);
        assert!((stats.hit_rate - 0.75).abs() < f64::EPSILON);
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["hitRate"], 0.75);
        assert_eq!(json["backend"], "memory");
        assert_eq!(json["breaker"], "closed");
        assert_eq!(json["compressedBytesSaved"], 0);
        assert!(json.get("server").is_none());
        assert!(json.get("near").is_none());
    }
}
