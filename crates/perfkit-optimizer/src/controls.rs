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

/// A database connection pool, as far as the optimizer needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolFigures {
    /// Connections held now, idle and in use.
    pub size: u32,
    /// The most connections the pool may hold.
    pub max: u32,
    /// Connections idle now.
    pub idle: u32,
    /// Whether [`PoolControl::resize`] can change `max` while the pool runs.
    pub resizable: bool,
}

impl PoolFigures {
    /// Connections in use now.
    #[must_use]
    pub fn in_use(&self) -> u32 {
        self.size.saturating_sub(self.idle)
    }
}

/// A database connection pool: its figures, and its size where it can change at run time.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait PoolControl: Send + Sync {
    /// The pool's figures now.
    async fn figures(&self) -> Result<PoolFigures, OptimizerError>;
    /// Sets the most connections the pool may hold; returns the limit in force afterwards.
    /// A pool that cannot be resized at run time refuses with an error that says so.
    async fn resize(&self, max: u32) -> Result<u32, OptimizerError>;
    /// Where the pool has read replicas or a breaker: the furthest replica's lag and how
    /// long the latest outage lasted. A plain pool has neither.
    async fn replication(&self) -> Result<ReplicationFigures, OptimizerError> {
        Ok(ReplicationFigures::default())
    }
    /// From now on keeps read replicas further behind than `max_lag` out of rotation until
    /// they catch up; returns how many are out now. A pool without replicas refuses.
    async fn rotate_out_lagging(
        &self,
        _max_lag: std::time::Duration,
    ) -> Result<u32, OptimizerError> {
        Err(OptimizerError::control(
            "pool",
            "this pool has no read replicas to take out of rotation",
        ))
    }
}

/// A pool's replication and recovery figures (see [`PoolControl::replication`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplicationFigures {
    /// How far the furthest read replica is behind the primary; `None` without replicas or
    /// before a measurement.
    pub replica_lag: Option<std::time::Duration>,
    /// How long the latest outage lasted, from refusing queries to the first success.
    pub last_recovery: Option<std::time::Duration>,
}

/// One database statement's measured figures, as the slow-query report reads them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementFigures {
    /// The normalized statement.
    pub statement: String,
    /// Calls.
    pub count: u64,
    /// Time spent in it, all calls together, ms.
    pub total_ms: f64,
    /// Median duration, ms.
    pub p50: Option<f64>,
    /// 95th percentile duration, ms.
    pub p95: Option<f64>,
    /// Longest call, ms.
    pub max: Option<f64>,
    /// Rows returned or changed, all calls together.
    pub rows: u64,
}

/// Where the measured statements come from (the orchestrator reads them off its recorder).
#[cfg_attr(test, mockall::automock)]
pub trait StatementSource: Send + Sync {
    /// Every statement measured, in any order.
    fn statements(&self) -> Vec<StatementFigures>;
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
    /// The database pool to size.
    pub pool: Option<Arc<dyn PoolControl>>,
    /// The measured statements the slow-query report names.
    pub statements: Option<Arc<dyn StatementSource>>,
}

impl std::fmt::Debug for Controls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controls")
            .field("cache", &self.cache.is_some())
            .field("connections", &self.connections.is_some())
            .field("memory", &self.memory.is_some())
            .field("queue", &self.queue.is_some())
            .field("pool", &self.pool.is_some())
            .field("statements", &self.statements.is_some())
            .finish()
    }
}
