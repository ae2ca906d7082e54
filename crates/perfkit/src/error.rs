//! The orchestrator's one error type: bad settings, parts that could not be set up, and refusals
//! passed up from the optimizer, the alert engine, the cache and host parts.

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
    /// A host part refused a request (the connection registry at its limit, say).
    #[error(transparent)]
    Host(#[from] perfkit_host::HostError),
    /// The recorder refused a request (a second global `metrics` recorder, say).
    #[error(transparent)]
    Metrics(#[from] perfkit_metrics::MetricsError),
}
