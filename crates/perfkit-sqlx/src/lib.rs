//! perfkit for sqlx hosts: every statement timed, with nothing at the query sites.
//!
//! - [`layer`]: a `tracing` layer that reads the events sqlx already emits for each statement
//!   it runs (text, elapsed time, rows) and each pool acquire (its wait), and records them
//!   in perfkit's [`Recorder`](perfkit::metrics::Recorder): per statement, normalized by
//!   [`normalize`] (literals out) and capped like routes, so `/metrics/application`, the
//!   Prometheus exposition and the slow-query report show every statement the host runs.
//! - [`SqlxPool`]: an sqlx pool as a [`PoolControl`](perfkit_control::PoolControl) (the
//!   control traits' own crate, `perfkit-control`), so the pool's size, idle and in-use
//!   connections reach every snapshot and the optimizer can say what size it needs; what it
//!   cannot do (resize at run time) it refuses with a
//!   [`ControlError`](perfkit_control::ControlError).
//! - [`PgPlanner`]: `EXPLAIN` (never `ANALYZE`) of a measured read-only statement on
//!   PostgreSQL, on demand, with a timeout.
//! - [`ReplicatedPool`]: a primary and its read replicas behind one handle: reads to a
//!   replica in rotation, writes to the primary, read-your-writes per [`Session`], each pool
//!   behind a breaker that a bounded periodic health check opens and closes (recovery time
//!   in its [`RoleFigures`]), each replica's lag from PostgreSQL itself ([`ReplicationLag`]);
//!   a lagging or unreachable replica leaves the rotation and its reads go to the primary;
//!   its [`RoleCollector`] puts each pool's figures in the exposition, labelled by role.
//! - [`StatementTimeout`]: `statement_timeout` on every PostgreSQL connection (SQLite's busy
//!   timeout); a cancelled statement is a [`DbError::StatementTimeout`] and is counted
//!   against the statement in the slow-query report.
//!
//! ```
//! use std::sync::Arc;
//! use perfkit::PerformanceService;
//! use perfkit::metrics::Recorder;
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let recorder = Arc::new(Recorder::default());
//! // Once, at start-up: the host's own log layers go beside it, each with its own filter.
//! tracing::subscriber::set_global_default(
//!     tracing_subscriber::registry().with(perfkit_sqlx::layer(Arc::clone(&recorder))),
//! )?;
//! let pool = sqlx::sqlite::SqlitePoolOptions::new().connect("sqlite::memory:").await?;
//! let service = PerformanceService::builder()
//!     .recorder(Arc::clone(&recorder))
//!     .database_pool(Arc::new(perfkit_sqlx::SqlxPool::new(pool.clone())))
//!     .build()?;
//!
//! // The host's code, unchanged: no timing, no recorder call.
//! let _: i64 = sqlx::query_scalar("SELECT 40 + 2").fetch_one(&pool).await?;
//!
//! // Every statement, the connection's own set-up included, slowest first.
//! let statements = service.recorder().snapshot().database.statements.slowest;
//! assert!(statements.iter().any(|s| s.statement == "SELECT ? + ?" && s.count == 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod error;
mod lag;
mod layer;
mod member;
mod normalize;
mod planner;
mod pool;
mod replicated_pool;
mod role_collector;
#[cfg(feature = "otel")]
mod statement_span;
mod timeouts;

pub use error::{DbError, is_unreachable};
pub use lag::ReplicationLag;
pub use layer::{
    ACQUIRE_TARGET, QUERY_TARGET, QueryTimingLayer, ROUTE_TARGET, TIMEOUT_TARGET, layer, subscriber,
};
pub use member::RoleFigures;
pub use normalize::{MAX_STATEMENT_CHARS, normalize};
pub use planner::{MAX_PLAN_TIMEOUT, PgPlanner, is_read_only, number_placeholders};
pub use pool::SqlxPool;
pub use replicated_pool::{PoolIndicator, ReplicaConfig, ReplicatedPool, Session};
pub use role_collector::RoleCollector;
pub use timeouts::{StatementTimeout, is_statement_timeout};
