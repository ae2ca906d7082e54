//! `Controls`: the set of controls a host hands to the optimizer, each optional.

use std::sync::Arc;

use crate::{
    CacheControl, ConnectionControl, MemoryControl, PoolControl, QueueControl, StatementSource,
};

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
