//! `PoolControl`: a database connection pool's figures and, where it can change at run time,
//! its size; where it has read replicas, their lag and taking lagging ones out of rotation;
//! and `PoolFigures`, `ReplicationFigures`.

use std::time::Duration;

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
    /// Where the pool has read replicas or a breaker: the furthest replica's lag and how
    /// long the latest outage lasted. A plain pool has neither.
    async fn replication(&self) -> Result<ReplicationFigures, ControlError> {
        Ok(ReplicationFigures::default())
    }
    /// From now on keeps read replicas further behind than `max_lag` out of rotation until
    /// they catch up; returns how many are out now. A pool without replicas refuses with
    /// [`ControlError::Unsupported`].
    async fn rotate_out_lagging(&self, _max_lag: Duration) -> Result<u32, ControlError> {
        Err(ControlError::Unsupported {
            control: crate::ControlKind::Pool,
            reason: "this pool has no read replicas to take out of rotation".to_owned(),
        })
    }
}

/// A pool's replication and recovery figures (see [`PoolControl::replication`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplicationFigures {
    /// How far the furthest read replica is behind the primary; `None` without replicas or
    /// before a measurement.
    pub replica_lag: Option<Duration>,
    /// How long the latest outage lasted, from refusing queries to the first success.
    pub last_recovery: Option<Duration>,
}
