//! The crate's one error type: a bad recorder setting, a failed system probe, a failed
//! Prometheus exposition, or a second global recorder.

/// Everything that can go wrong in perfkit-metrics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A recorder setting is out of range.
    #[error("invalid recorder config: {0}")]
    InvalidConfig(String),
    /// A slow-operation helper setting is out of range.
    #[error("invalid slow-operation config: {0}")]
    InvalidSlowOperations(String),
    /// The system probe could not read a figure from the operating system.
    #[error("system probe failed: {0}")]
    Probe(String),
    /// The Prometheus registry refused a collector or could not encode the exposition.
    #[error("prometheus exposition failed: {0}")]
    Exposition(#[from] prometheus::Error),
    /// The process already has a global `metrics` recorder (perfkit's, installed before, or
    /// another crate's): the facade takes one per process.
    #[error(
        "a global metrics recorder is already installed in this process; install perfkit's once, before any other, or combine recorders with metrics-util's FanoutBuilder and install that"
    )]
    RecorderAlreadyInstalled,
}
