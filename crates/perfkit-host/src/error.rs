//! `HostError`, everything the host toolkit can refuse, and its mapping into
//! `ControlError` for the control traits.

use perfkit_control::{ControlError, ControlKind};

/// Everything the worker pool and the connection registry can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// A worker pool setting is out of range; every problem is listed.
    #[error("invalid worker pool config: {}", .0.join("; "))]
    InvalidPoolConfig(Vec<String>),
    /// The pool was created outside a tokio runtime, where its workers cannot run.
    #[error("no tokio runtime: create the worker pool inside one, its workers are tokio tasks")]
    NoRuntime,
    /// The job queue is at capacity; the job was not queued.
    #[error("job queue is full ({capacity} jobs waiting): job not queued")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The worker pool was shut down: it takes no more jobs and its workers are not resized.
    #[error("worker pool is shut down: it takes no jobs and cannot be resized")]
    PoolClosed,
    /// A connection registry setting is out of range; every problem is listed.
    #[error("invalid connection registry config: {}", .0.join("; "))]
    InvalidConfig(Vec<String>),
    /// The connection registry is at its limit with no inactive connection to close; the
    /// connection was refused.
    #[error("connection limit of {max} reached: connection refused")]
    TooManyConnections {
        /// The limit.
        max: usize,
    },
}

impl HostError {
    /// Which control a failure belongs to.
    fn control(&self) -> ControlKind {
        match self {
            HostError::TooManyConnections { .. } | HostError::InvalidConfig(_) => {
                ControlKind::Connections
            }
            HostError::InvalidPoolConfig(_)
            | HostError::NoRuntime
            | HostError::QueueFull { .. }
            | HostError::PoolClosed => ControlKind::Queue,
        }
    }
}

impl From<HostError> for ControlError {
    fn from(error: HostError) -> Self {
        ControlError::failed(error.control(), &error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn becomes_a_failure_of_the_right_control() {
        let error = ControlError::from(HostError::PoolClosed);
        assert_eq!(
            error.to_string(),
            "queue control failed: worker pool is shut down: it takes no jobs and cannot be resized"
        );
        let error = ControlError::from(HostError::TooManyConnections { max: 3 });
        assert!(matches!(error, ControlError::Failed { control: ControlKind::Connections, .. }));
    }

    #[test]
    fn lists_every_config_problem() {
        let error = HostError::InvalidPoolConfig(vec!["a".into(), "b".into()]);
        assert_eq!(error.to_string(), "invalid worker pool config: a; b");
    }
}
