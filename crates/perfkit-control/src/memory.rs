//! `MemoryControl`: measuring the process's memory and releasing what can be released, and
//! `MemoryUsage`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ControlError;

/// The process's memory in use, measured. (The system's memory as a whole, total, free and
/// available, is the system probe's `perfkit_metrics::MemoryFigures`.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryUsage {
    /// Bytes the process holds (resident set size).
    pub used_bytes: u64,
    /// Share of system memory in use, 0..1, where known.
    pub usage: Option<f64>,
}

/// Measures memory and releases what can be released.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait MemoryControl: Send + Sync {
    /// Memory now.
    async fn usage(&self) -> Result<MemoryUsage, ControlError>;
    /// Shrinks caches and returns freed memory to the OS through the process's
    /// [`HeapAllocator`](crate::HeapAllocator) (`malloc_trim` on glibc, `mi_collect` under
    /// mimalloc).
    async fn release(&self) -> Result<(), ControlError>;
}
