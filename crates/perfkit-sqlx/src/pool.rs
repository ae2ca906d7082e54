//! An sqlx pool as the optimizer's [`PoolControl`]: its size, idle connections and maximum,
//! read from the pool itself. sqlx fixes a pool's maximum when the pool is built, so this
//! control reports itself not resizable, and the optimizer reports the size it would set.

use async_trait::async_trait;
use perfkit::optimizer::{OptimizerError, PoolControl, PoolFigures};
use sqlx::{Database, Pool};

/// An sqlx [`Pool`] seen by perfkit: hand it to
/// [`PerformanceServiceBuilder::database_pool`](perfkit::PerformanceServiceBuilder::database_pool).
///
/// ```
/// use std::sync::Arc;
/// use perfkit::optimizer::PoolControl;
/// use perfkit_sqlx::SqlxPool;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let pool = sqlx::sqlite::SqlitePoolOptions::new()
///     .max_connections(4)
///     .connect("sqlite::memory:")
///     .await?;
/// let control = SqlxPool::new(pool);
/// let figures = control.figures().await?;
/// assert_eq!((figures.max, figures.resizable), (4, false));
/// assert!(figures.size >= 1 && figures.size <= 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqlxPool<DB: Database> {
    pool: Pool<DB>,
}

impl<DB: Database> SqlxPool<DB> {
    /// A control over `pool` (a clone of the pool handle; the connections are shared).
    #[must_use]
    pub fn new(pool: Pool<DB>) -> Self {
        SqlxPool { pool }
    }
}

#[async_trait]
impl<DB: Database> PoolControl for SqlxPool<DB> {
    async fn figures(&self) -> Result<PoolFigures, OptimizerError> {
        let size = self.pool.size();
        // Read after the size, and never more than it: a connection closing between the
        // two reads must not make "in use" negative.
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX).min(size);
        Ok(PoolFigures {
            size,
            max: self.pool.options().get_max_connections(),
            idle,
            resizable: false,
        })
    }

    async fn resize(&self, _max: u32) -> Result<u32, OptimizerError> {
        Err(OptimizerError::control(
            "pool",
            "an sqlx pool's max_connections is fixed when the pool is built; set it there",
        ))
    }
}
