//! `PoolControl`: a database connection pool's figures and, where it can change at run time,
//! its size; and `PoolFigures`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ControlError;

/// A database connection pool, as far as the optimizer and the collector need it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolFigures {
    /// Connections held now, idle and in use.
    pub size: u32,
    /// The most connections the pool may hold.
    pub max: u32,
    /// Connections idle now.
    pub idle: u32,
    /// Whether [`PoolControl::resize`] can change `max` while the pool runs.
    pub resizable: bool,
}

impl PoolFigures {
    /// Connections in use now.
    ///
    /// ```
    /// use perfkit_control::PoolFigures;
    ///
    /// let figures = PoolFigures { size: 8, max: 10, idle: 3, resizable: false };
    /// assert_eq!(figures.in_use(), 5);
    /// ```
    #[must_use]
    pub fn in_use(&self) -> u32 {
        self.size.saturating_sub(self.idle)
    }
}

/// A database connection pool: its figures, and its size where it can change at run time.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PoolControl: Send + Sync {
    /// The pool's figures now.
    async fn figures(&self) -> Result<PoolFigures, ControlError>;
    /// Sets the most connections the pool may hold; returns the limit in force afterwards.
    /// A pool that cannot be resized at run time refuses with
    /// [`ControlError::Unsupported`], saying where its size is set.
    async fn resize(&self, max: u32) -> Result<u32, ControlError>;
}
