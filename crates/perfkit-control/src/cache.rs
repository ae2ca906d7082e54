//! `CacheControl`: what the optimizer needs of a cache (compact it, evict a prefix, read its
//! figures), and `CacheFigures`.

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
}
