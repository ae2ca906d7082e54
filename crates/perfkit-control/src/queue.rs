//! `QueueControl`: a job queue's length and its resizable number of workers.

use async_trait::async_trait;

use crate::ControlError;

/// A job queue with a resizable number of workers.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait QueueControl: Send + Sync {
    /// Jobs waiting.
    async fn length(&self) -> Result<u64, ControlError>;
    /// Workers now.
    async fn workers(&self) -> Result<u32, ControlError>;
    /// Sets the number of workers; returns the number in force afterwards.
    async fn scale_to(&self, workers: u32) -> Result<u32, ControlError>;
}
