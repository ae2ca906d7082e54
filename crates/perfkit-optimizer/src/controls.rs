//! The traits through which actions reach the host: each names only what the optimizer needs.
//!
//! The host (usually the `perfkit` orchestrator) implements them over its concrete cache,
//! connection registry, allocator and job queue, and hands them over as `Arc<dyn Trait>`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::OptimizerError;

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
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait CacheControl: Send + Sync {
    /// Drops expired and cold entries, compacts what can be compacted.
    async fn optimize(&self) -> Result<(), OptimizerError>;
    /// Evicts every key under `prefix`; returns how many were evicted.
    async fn evict_prefix(&self, prefix: &str) -> Result<u64, OptimizerError>;
    /// The cache's figures now.
    async fn stats(&self) -> Result<CacheFigures, OptimizerError>;
}

/// Open and idle connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionCounts {
    /// Connections open.
    pub open: u64,
    /// Of those, the ones without activity for the asked duration.
    pub idle: u64,
}

/// Counts and closes client connections (HTTP keep-alive, WebSocket, ...).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ConnectionControl: Send + Sync {
    /// Open connections, and those idle for longer than `idle_after`.
    async fn counts(&self, idle_after: Duration) -> Result<ConnectionCounts, OptimizerError>;
    /// Closes connections idle for longer than `idle_after`; returns how many were closed.
    async fn close_idle(&self, idle_after: Duration) -> Result<u64, OptimizerError>;
}

/// The process's memory, measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryFigures {
    /// Bytes the process holds (resident set size).
    pub used_bytes: u64,
    /// Share of system memory in use, 0..1, where known.
    pub usage: Option<f64>,
}

/// Measures memory and releases what can be released.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait MemoryControl: Send + Sync {
    /// Memory now.
    async fn usage(&self) -> Result<MemoryFigures, OptimizerError>;
    /// Shrinks caches and returns freed memory to the OS (e.g. `malloc_trim` on glibc).
    async fn release(&self) -> Result<(), OptimizerError>;
}

/// A job queue with a resizable number of workers.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait QueueControl: Send + Sync {
    /// Jobs waiting.
    async fn length(&self) -> Result<u64, OptimizerError>;
    /// Workers now.
    async fn workers(&self) -> Result<u32, OptimizerError>;
    /// Sets the number of workers; returns the number in force afterwards.
    async fn scale_to(&self, workers: u32) -> Result<u32, OptimizerError>;
}

/// The controls a host provides; an absent one means its actions are skipped.
#[derive(Clone, Default)]
pub struct Controls {
    /// The cache to optimize.
    pub cache: Option<Arc<dyn CacheControl>>,
    /// The connections to close.
    pub connections: Option<Arc<dyn ConnectionControl>>,
    /// The memory to release.
    pub memory: Option<Arc<dyn MemoryControl>>,
    /// The job queue to scale.
    pub queue: Option<Arc<dyn QueueControl>>,
}

impl std::fmt::Debug for Controls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controls")
            .field("cache", &self.cache.is_some())
            .field("connections", &self.connections.is_some())
            .field("memory", &self.memory.is_some())
            .field("queue", &self.queue.is_some())
            .finish()
    }
}
