/// Everything that can go wrong in the orchestrator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PerfkitError {
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
