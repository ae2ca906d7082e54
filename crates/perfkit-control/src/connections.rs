//! `ConnectionControl`: counting and closing a host's client connections, and
//! `ConnectionCounts`.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ControlError;

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
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ConnectionControl: Send + Sync {
    /// Open connections, and those idle for longer than `idle_after`.
    async fn counts(&self, idle_after: Duration) -> Result<ConnectionCounts, ControlError>;
    /// Closes connections idle for longer than `idle_after`; returns how many were closed.
    async fn close_idle(&self, idle_after: Duration) -> Result<u64, ControlError>;
}
