//! `CacheControl`: what the optimizer needs of a cache (compact it, evict a prefix, read its
//! figures, per key prefix too), `CacheFigures` and `CachePrefixFigures`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ControlError;

/// The cache's figures, as far as the optimizer needs them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheFigures {
    /// Hits per read, 0..1; `None` before the first read.
    pub hit_rate: Option<f64>,
    /// Entries held.
    pub keys: u64,
    /// Bytes held.
    pub bytes: u64,
}

/// One key prefix's figures (`user:`), as far as the optimizer needs them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachePrefixFigures {
    /// The prefix, with its trailing separator (`user:`), or a bucket's name (`(other)`).
    pub prefix: String,
    /// Reads under the prefix that found a value.
    pub hits: u64,
    /// Reads under the prefix that found nothing.
    pub misses: u64,
    /// Keys held under the prefix.
    pub keys: u64,
    /// The TTL of the latest write under the prefix, in milliseconds; `None` before a write
    /// or without expiry.
    pub ttl_ms: Option<u64>,
}

/// Optimizes and trims a cache.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait CacheControl: Send + Sync {
    /// Drops expired and cold entries, compacts what can be compacted.
    async fn optimize(&self) -> Result<(), ControlError>;
    /// Evicts every key under `prefix`; returns how many were evicted.
    async fn evict_prefix(&self, prefix: &str) -> Result<u64, ControlError>;
    /// The cache's figures now.
    async fn stats(&self) -> Result<CacheFigures, ControlError>;
    /// Figures per key prefix, without waiting on I/O; empty when the cache keeps none.
    fn prefixes(&self) -> Vec<CachePrefixFigures> {
        Vec::new()
    }
}
