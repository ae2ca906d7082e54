//! `ControlError`, what a control can answer instead of doing what was asked, and
//! `ControlKind`, which control it was.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which control a failure belongs to; shown in messages as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ControlKind {
    /// [`CacheControl`](crate::CacheControl).
    Cache,
    /// [`ConnectionControl`](crate::ConnectionControl).
    Connections,
    /// [`MemoryControl`](crate::MemoryControl).
    Memory,
    /// [`QueueControl`](crate::QueueControl).
    Queue,
    /// [`PoolControl`](crate::PoolControl).
    Pool,
    /// [`StatementSource`](crate::StatementSource).
    Statements,
}

impl ControlKind {
    /// The lowercase name messages use (`cache`, `connections`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ControlKind::Cache => "cache",
            ControlKind::Connections => "connections",
            ControlKind::Memory => "memory",
            ControlKind::Queue => "queue",
            ControlKind::Pool => "pool",
            ControlKind::Statements => "statements",
        }
    }
}

impl fmt::Display for ControlKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a control did not do what was asked.
///
/// ```
/// use perfkit_control::{ControlError, ControlKind};
///
/// let error = ControlError::failed(ControlKind::Queue, "worker pool is shut down");
/// assert_eq!(error.to_string(), "queue control failed: worker pool is shut down");
/// assert_eq!(error.control(), ControlKind::Queue);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The host provides no such control, so nothing was done.
    #[error("no {0} control provided by the host")]
    Missing(ControlKind),
    /// The control cannot do this at all (a pool whose size is fixed when it is built);
    /// trying again will not help.
    #[error("{control} control does not support this: {reason}")]
    Unsupported {
        /// Which control.
        control: ControlKind,
        /// Why not, and what to do instead, in the implementation's words.
        reason: String,
    },
    /// The control tried and failed (a cache that is down, a pool that is shut down).
    #[error("{control} control failed: {message}")]
    Failed {
        /// Which control.
        control: ControlKind,
        /// What went wrong, in the implementation's words.
        message: String,
    },
}

impl ControlError {
    /// A failure of `control`, for implementations that wrap their own error.
    pub fn failed(control: ControlKind, message: impl fmt::Display) -> Self {
        ControlError::Failed { control, message: message.to_string() }
    }

    /// Something `control` cannot do at all, with the reason.
    pub fn unsupported(control: ControlKind, reason: impl fmt::Display) -> Self {
        ControlError::Unsupported { control, reason: reason.to_string() }
    }

    /// The control the error belongs to.
    #[must_use]
    pub fn control(&self) -> ControlKind {
        match self {
            ControlError::Missing(control)
            | ControlError::Unsupported { control, .. }
            | ControlError::Failed { control, .. } => *control,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_names_its_control() {
        let missing = ControlError::Missing(ControlKind::Connections);
        assert_eq!(missing.to_string(), "no connections control provided by the host");
        assert_eq!(missing.control(), ControlKind::Connections);

        let unsupported = ControlError::unsupported(ControlKind::Pool, "fixed at build time");
        assert_eq!(
            unsupported.to_string(),
            "pool control does not support this: fixed at build time"
        );
        assert_eq!(unsupported.control(), ControlKind::Pool);

        let failed = ControlError::failed(ControlKind::Memory, "probe down");
        assert_eq!(failed.to_string(), "memory control failed: probe down");
        assert_eq!(failed.control(), ControlKind::Memory);
    }

    #[test]
    fn kinds_serialize_as_their_names() {
        for kind in [
            ControlKind::Cache,
            ControlKind::Connections,
            ControlKind::Memory,
            ControlKind::Queue,
            ControlKind::Pool,
            ControlKind::Statements,
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
        }
    }
}
