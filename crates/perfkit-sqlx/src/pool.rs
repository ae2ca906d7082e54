//! An sqlx pool as a [`PoolControl`]: its size, idle connections and maximum,
//! read from the pool itself. sqlx fixes a pool's maximum when the pool is built, so this
//! control reports itself not resizable, and the optimizer reports the size it would set.

use async_trait::async_trait;
use perfkit_control::{ControlError, ControlKind, PoolControl, PoolFigures};
use sqlx::{Database, Pool};

/// An sqlx [`Pool`] seen by perfkit: hand it to
/// [`PerformanceServiceBuilder::database_pool`](perfkit::PerformanceServiceBuilder::database_pool).
///
/// ```
/// use std::sync::Arc;
/// use perfkit_control::PoolControl;
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
    async fn figures(&self) -> Result<PoolFigures, ControlError> {
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

    async fn resize(&self, _max: u32) -> Result<u32, ControlError> {
        Err(ControlError::unsupported(
            ControlKind::Pool,
            "an sqlx pool's max_connections is fixed when the pool is built; set it there",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_to_resize_and_says_where_the_size_is_set() {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(2)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let error = SqlxPool::new(pool).resize(8).await.unwrap_err();
        assert!(
            matches!(&error, ControlError::Unsupported { control: ControlKind::Pool, reason }
                if reason.contains("max_connections")),
            "{error}"
        );
    }
}
