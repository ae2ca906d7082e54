//! What an `optimize()` run reports: what it removed or changed, and the cache's footprint before
//! and after.

use serde::{Deserialize, Serialize};

use crate::Backend;

/// What `optimize()` did, with the cache's footprint before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OptimizeReport {
    /// The backend optimized.
    pub backend: Backend,
    /// Keys and bytes before.
    pub before: Footprint,
    /// Keys and bytes after.
    pub after: Footprint,
    /// Keys of our namespace examined.
    pub keys_scanned: u64,
    /// Expired entries removed.
    pub expired_removed: u64,
    /// Keys without a TTL that got the default TTL (Redis).
    pub ttl_applied: u64,
    /// Bytes used by the examined keys of our namespace (`MEMORY USAGE`, Redis).
    pub namespace_bytes: u64,
    /// Whether the allocator was asked to return free memory (`MEMORY PURGE`, Redis).
    pub memory_purged: bool,
    /// How long the run took, in milliseconds.
    pub duration_ms: u64,
}

/// Keys and bytes held, as the backend counts them (see [`CacheStats`](crate::CacheStats)):
/// for Redis, before is the namespace count's, after this run's own scan of the namespace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Footprint {
    /// Keys held.
    pub keys: u64,
    /// Bytes held.
    pub bytes: u64,
}
