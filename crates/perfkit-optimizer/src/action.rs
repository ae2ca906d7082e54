//! The closed list of actions the optimizer can take, with their configuration names and which of
//! them can be undone.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The optimizations the optimizer knows how to perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum ActionKind {
    /// Compact the cache and evict configured prefixes ([`CacheControl`](crate::CacheControl)).
    OptimizeCache,
    /// Close connections idle for longer than the idle timeout
    /// ([`ConnectionControl`](crate::ConnectionControl)).
    CloseIdleConnections,
    /// Shrink caches and return freed memory to the OS ([`MemoryControl`](crate::MemoryControl)).
    ReleaseMemory,
    /// Report the slowest database statements, measured; has no effect beyond the record.
    ReportSlowQueries,
    /// Change the number of job queue workers ([`QueueControl`](crate::QueueControl)).
    ScaleWorkers,
    /// Size the database pool to measured demand ([`PoolControl`](crate::PoolControl)); a
    /// pool that cannot be resized at run time gets the size in a report instead.
    ResizeDatabasePool,
    /// Take read replicas lagging past `databasePool.maxReplicaLagMs` out of rotation until
    /// they catch up ([`PoolControl::rotate_out_lagging`](crate::PoolControl::rotate_out_lagging)).
    RotateOutLaggingReplicas,
}

impl ActionKind {
    /// Every action, in the order a run considers them.
    pub const ALL: [ActionKind; 7] = [
        ActionKind::OptimizeCache,
        ActionKind::CloseIdleConnections,
        ActionKind::ReleaseMemory,
        ActionKind::ReportSlowQueries,
        ActionKind::ScaleWorkers,
        ActionKind::ResizeDatabasePool,
        ActionKind::RotateOutLaggingReplicas,
    ];

    /// The camelCase name used in JSON and configuration.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ActionKind::OptimizeCache => "optimizeCache",
            ActionKind::CloseIdleConnections => "closeIdleConnections",
            ActionKind::ReleaseMemory => "releaseMemory",
            ActionKind::ReportSlowQueries => "reportSlowQueries",
            ActionKind::ScaleWorkers => "scaleWorkers",
            ActionKind::ResizeDatabasePool => "resizeDatabasePool",
            ActionKind::RotateOutLaggingReplicas => "rotateOutLaggingReplicas",
        }
    }

    /// Whether the action can be undone when verification finds it made things worse.
    #[must_use]
    pub const fn is_reversible(self) -> bool {
        matches!(self, ActionKind::ScaleWorkers)
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
