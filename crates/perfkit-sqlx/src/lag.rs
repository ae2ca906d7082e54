//! Replication lag as PostgreSQL itself reports it: the primary's current WAL position, then
//! on the replica whether it has replayed that far and, when not, how old the newest
//! transaction it replayed is (`pg_last_xact_replay_timestamp()`).

use std::time::Duration;

use async_trait::async_trait;
use sqlx::{Database, Pool, Postgres, Sqlite};

/// The replica's side: `NULL` on a server that is no standby; 0 when it has replayed at
/// least the primary's position read just before (or, without it, all it received); else
/// the age of the newest transaction it replayed, in seconds.
const REPLICA_LAG: &str = "SELECT CASE \
     WHEN NOT pg_is_in_recovery() THEN NULL \
     WHEN pg_last_wal_replay_lsn() >= COALESCE($1::pg_lsn, pg_last_wal_receive_lsn()) THEN 0 \
     ELSE EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) \
     END::float8";

/// A database whose replicas can say how far behind their primary they are.
#[async_trait]
pub trait ReplicationLag: Database {
    /// How far `replica` is behind `primary`: `Some(ZERO)` when it has replayed everything
    /// the primary had written when asked, `None` when the database cannot tell (no
    /// standby, nothing replayed yet). A primary that does not answer is skipped; the
    /// replica's own view is used then.
    ///
    /// # Errors
    /// The replica's error when it cannot be asked.
    async fn replication_lag(
        primary: &Pool<Self>,
        replica: &Pool<Self>,
    ) -> Result<Option<Duration>, sqlx::Error>;
}

#[async_trait]
impl ReplicationLag for Postgres {
    async fn replication_lag(
        primary: &Pool<Self>,
        replica: &Pool<Self>,
    ) -> Result<Option<Duration>, sqlx::Error> {
        // Read first, so "replayed at least this" means caught up as of this moment.
        let position: Option<String> =
            sqlx::query_scalar("SELECT pg_current_wal_lsn()::text").fetch_one(primary).await.ok();
        let seconds: Option<f64> =
            sqlx::query_scalar(REPLICA_LAG).bind(position).fetch_one(replica).await?;
        Ok(seconds.and_then(|seconds| Duration::try_from_secs_f64(seconds.max(0.0)).ok()))
    }
}

#[async_trait]
impl ReplicationLag for Sqlite {
    /// SQLite has no replication: a second pool on the same file is never behind.
    async fn replication_lag(
        _primary: &Pool<Self>,
        _replica: &Pool<Self>,
    ) -> Result<Option<Duration>, sqlx::Error> {
        Ok(None)
    }
}
