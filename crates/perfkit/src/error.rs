/// Everything that can go wrong in the orchestrator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PerfkitError {
    /// A service setting is out of range; every problem is listed.
    #[error("invalid service config: {}", .0.join("; "))]
    InvalidConfig(Vec<String>),
    /// A part could not be built or set up (the system probe, a cache, the Prometheus
    /// registry).
    #[error("could not set up {part}: {message}")]
    Setup {
        /// Which part.
        part: &'static str,
        /// Why.
        message: String,
    },
    /// The optimizer refused a request (an invalid config update, say).
    #[error(transparent)]
    Optimizer(#[from] perfkit_optimizer::OptimizerError),
    /// The alert engine refused a request (an invalid rule set, say).
    #[error(transparent)]
    Alerting(#[from] perfkit_alerting::AlertingError),
    /// The cache failed an operation that was asked of it directly.
    #[error(transparent)]
    Cache(#[from] perfkit_cache::CacheError),
    /// The job queue is at capacity; the job was not queued.
    #[error("job queue is full ({capacity} jobs waiting): job not queued")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The worker pool was shut down; it takes no more jobs.
    #[error("worker pool is shut down: job not queued")]
    PoolClosed,
    /// The connection registry is at its limit; the connection was refused.
    #[error("connection limit of {max} reached: connection refused")]
    TooManyConnections {
        /// The limit.
        max: usize,
    },
}
