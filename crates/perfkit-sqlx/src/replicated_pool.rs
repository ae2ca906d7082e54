//! A primary and its read replicas behind one handle: reads to a replica in rotation, writes
//! to the primary, reads after a session's write to the primary for a while, and every pool
//! behind a breaker that a periodic health check opens and closes.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use perfkit::cache::BreakerConfig;
use perfkit::core::{Clock, Timestamp};
use perfkit::{HealthCheckOptions, HealthIndicator, TokioClock};
use perfkit_control::{ControlError, ControlKind, PoolControl, PoolFigures, ReplicationFigures};
use sqlx::{Database, Pool};
use tokio::task::JoinHandle;

use crate::error::DbError;
use crate::lag::ReplicationLag;
use crate::member::{Member, RoleFigures};
use crate::planner::is_read_only;

/// How a [`ReplicatedPool`] routes and checks its pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaConfig {
    /// After a write through a [`Session`], its reads go to the primary for this long, so
    /// they see the write whatever the replicas' lag (read-your-writes).
    pub read_your_writes: Duration,
    /// A replica further behind than this leaves the rotation until it catches up; `None`
    /// keeps lagging replicas in rotation (their lag is still measured and reported).
    pub max_lag: Option<Duration>,
    /// The longest a read may take on a replica before it is given up there, the replica
    /// taken out of rotation, and the read run on the primary. A read that hangs on a
    /// frozen replica costs this much, once.
    pub replica_timeout: Duration,
    /// How often every pool is pinged and every replica's lag measured.
    pub health_interval: Duration,
    /// The longest one ping or lag query may take; past it, the pool reads as unreachable.
    pub health_timeout: Duration,
    /// The statement timeout the pools' connections were given (for error messages and
    /// the figures; set it with [`StatementTimeout`](crate::StatementTimeout)).
    pub statement_timeout: Option<Duration>,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig {
            read_your_writes: Duration::from_secs(2),
            max_lag: Some(Duration::from_secs(10)),
            replica_timeout: Duration::from_secs(1),
            health_interval: Duration::from_secs(1),
            health_timeout: Duration::from_millis(500),
            statement_timeout: None,
        }
    }
}

#[derive(Debug)]
struct Shared<DB: Database> {
    primary: Member<DB>,
    replicas: Vec<Member<DB>>,
    config: ReplicaConfig,
    clock: Arc<dyn Clock>,
    next: AtomicUsize,
    /// The rotation's lag bound in ms (`u64::MAX`: none): `config.max_lag` at first, and what
    /// the optimizer's `rotateOutLaggingReplicas` sets later.
    max_lag_ms: AtomicU64,
}

/// A primary pool and zero or more replica pools, routed by intent.
///
/// - [`read`](Self::read) runs on a replica in rotation (round robin), falling back to the
///   primary when none is, or when the replica does not answer within
///   [`replica_timeout`](ReplicaConfig::replica_timeout); [`write`](Self::write) runs on the
///   primary; [`run`](Self::run) decides by the statement's text ([`is_read_only`]).
/// - A [`Session`] adds read-your-writes: its reads go to the primary for
///   [`read_your_writes`](ReplicaConfig::read_your_writes) after its last write.
/// - Every pool sits behind a breaker: a query that finds the database unreachable opens it,
///   and while it is open queries fail at once with [`DbError::Unavailable`] instead of each
///   waiting out the acquire timeout. [`spawn_health_checks`](Self::spawn_health_checks)
///   pings every pool each interval (bounded), closes a breaker when its pool answers again
///   (the outage's length is the recovery time in [`figures`](Self::figures)), and measures
///   each replica's lag ([`ReplicationLag`]).
///
/// Zero replicas is a primary with a breaker: every query runs there.
///
/// ```
/// use perfkit_sqlx::{ReplicaConfig, ReplicatedPool};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let primary = sqlx::sqlite::SqlitePoolOptions::new().connect("sqlite::memory:").await?;
/// let pools = ReplicatedPool::new(primary, Vec::new(), ReplicaConfig::default());
/// let session = pools.session();
/// session.write(|pool| async move {
///     sqlx::query("CREATE TABLE t (n INTEGER)").execute(&pool).await?;
///     sqlx::query("INSERT INTO t VALUES (7)").execute(&pool).await
/// }).await?;
/// let n: i64 = session
///     .read(|pool| async move { sqlx::query_scalar("SELECT n FROM t").fetch_one(&pool).await })
///     .await?;
/// assert_eq!(n, 7);
/// assert_eq!(pools.figures()[0].role, "primary");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct ReplicatedPool<DB: Database> {
    shared: Arc<Shared<DB>>,
}

impl<DB: Database> Clone for ReplicatedPool<DB> {
    fn clone(&self) -> Self {
        ReplicatedPool { shared: Arc::clone(&self.shared) }
    }
}

impl<DB: Database> ReplicatedPool<DB> {
    /// The pools, named `primary` and `replica-0`, `replica-1`, ... in the order given.
    #[must_use]
    pub fn new(primary: Pool<DB>, replicas: Vec<Pool<DB>>, config: ReplicaConfig) -> Self {
        Self::with_clock(primary, replicas, config, Arc::new(TokioClock::default()))
    }

    /// As [`new`](Self::new), with the clock that times outages and lag.
    #[must_use]
    pub fn with_clock(
        primary: Pool<DB>,
        replicas: Vec<Pool<DB>>,
        config: ReplicaConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        // One failure opens a breaker: the health check confirms every interval, and a
        // half-open probe after one interval lets queries find a recovery the check has
        // not seen yet.
        let breaker = BreakerConfig { failure_threshold: 1, reset_timeout: config.health_interval };
        let member = |role: String, pool: Pool<DB>| {
            Member::new(role, pool, breaker, Arc::clone(&clock), config.statement_timeout)
        };
        let replicas = replicas
            .into_iter()
            .enumerate()
            .map(|(index, pool)| member(format!("replica-{index}"), pool))
            .collect();
        let primary = member("primary".to_owned(), primary);
        let max_lag_ms = AtomicU64::new(config.max_lag.map_or(u64::MAX, millis_of));
        ReplicatedPool {
            shared: Arc::new(Shared {
                primary,
                replicas,
                config,
                clock,
                next: AtomicUsize::new(0),
                max_lag_ms,
            }),
        }
    }

    /// The primary's pool, for what needs a pool itself (migrations, a transaction).
    #[must_use]
    pub fn primary(&self) -> &Pool<DB> {
        &self.shared.primary.pool
    }

    /// The routing settings.
    #[must_use]
    pub fn config(&self) -> &ReplicaConfig {
        &self.shared.config
    }

    /// Closes every pool: queries from now on fail with [`sqlx::Error::PoolClosed`].
    pub async fn close(&self) {
        let shared = &self.shared;
        let closing =
            std::iter::once(&shared.primary).chain(&shared.replicas).map(|m| m.pool.close());
        futures::future::join_all(closing).await;
    }

    /// A handle whose reads see its own writes (see [`Session`]).
    #[must_use]
    pub fn session(&self) -> Session<DB> {
        Session { pools: self.clone(), last_write: Mutex::new(None) }
    }

    /// Runs `query` on the primary.
    ///
    /// # Errors
    /// [`DbError::Unavailable`] at once while the primary's breaker is open; otherwise the
    /// query's own error.
    pub async fn write<T, F, Fut>(&self, query: F) -> Result<T, DbError>
    where
        F: FnOnce(Pool<DB>) -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        let primary = &self.shared.primary;
        primary.run(query(primary.pool.clone())).await
    }

    /// Runs `query` on a replica in rotation, or on the primary when none is or the replica
    /// fails to answer in time. `query` may be called twice (replica, then primary), so it
    /// must only read.
    ///
    /// # Errors
    /// The query's own error (a statement's error on a replica is returned as is, not
    /// retried); [`DbError::Unavailable`] when no pool can take it.
    pub async fn read<T, F, Fut>(&self, query: F) -> Result<T, DbError>
    where
        F: Fn(Pool<DB>) -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        if let Some(replica) = self.pick_replica() {
            let timeout = self.shared.config.replica_timeout;
            match tokio::time::timeout(timeout, replica.run(query(replica.pool.clone()))).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) if !error.is_unavailable() => return Err(error),
                // Its breaker opened (or was open): the primary takes the read.
                Ok(Err(_)) => {}
                Err(_) => replica.trip(&format!("a read got no answer within {timeout:?}")),
            }
            replica.fell_back();
        }
        self.write(query).await
    }

    /// Runs `query` where `statement` belongs: a replica for a read-only statement
    /// ([`is_read_only`]), else the primary.
    ///
    /// # Errors
    /// As [`read`](Self::read) and [`write`](Self::write).
    pub async fn run<T, F, Fut>(&self, statement: &str, query: F) -> Result<T, DbError>
    where
        F: Fn(Pool<DB>) -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        if is_read_only(statement) { self.read(query).await } else { self.write(query).await }
    }

    /// The next replica in rotation: breaker closed, and not lagging past `max_lag`.
    fn pick_replica(&self) -> Option<&Member<DB>> {
        let replicas = &self.shared.replicas;
        if replicas.is_empty() {
            return None;
        }
        let start = self.shared.next.fetch_add(1, Ordering::Relaxed);
        (0..replicas.len())
            .map(|offset| &replicas[(start + offset) % replicas.len()])
            .find(|replica| self.in_rotation(replica))
    }

    fn in_rotation(&self, replica: &Member<DB>) -> bool {
        let max_ms = self.shared.max_lag_ms.load(Ordering::Relaxed);
        replica.is_up() && replica.lag().is_none_or(|lag| millis_of(lag) <= max_ms)
    }

    /// Keeps replicas further behind than `max_lag` out of rotation from now on, until they
    /// catch up; returns how many are out of rotation now.
    pub fn rotate_out_lagging(&self, max_lag: Duration) -> u32 {
        self.shared.max_lag_ms.store(millis_of(max_lag), Ordering::Relaxed);
        let out = self.shared.replicas.iter().filter(|replica| !self.in_rotation(replica)).count();
        u32::try_from(out).unwrap_or(u32::MAX)
    }

    /// Every pool's figures: the primary first, then each replica.
    #[must_use]
    pub fn figures(&self) -> Vec<RoleFigures> {
        let shared = &self.shared;
        std::iter::once(shared.primary.figures(true, false))
            .chain(
                shared
                    .replicas
                    .iter()
                    .map(|replica| replica.figures(self.in_rotation(replica), true)),
            )
            .collect()
    }

    /// The largest lag among the replicas, `None` without replicas or measurements.
    #[must_use]
    pub fn replication_lag(&self) -> Option<Duration> {
        self.shared.replicas.iter().filter_map(Member::lag).max()
    }

    /// The longest of the latest recoveries of any pool: how long the last outage lasted.
    #[must_use]
    pub fn last_recovery(&self) -> Option<Duration> {
        let shared = &self.shared;
        std::iter::once(&shared.primary)
            .chain(&shared.replicas)
            .filter_map(Member::last_recovery)
            .max()
    }

    /// One health indicator per pool, to hand to
    /// [`PerformanceServiceBuilder::health_indicator`](perfkit::PerformanceServiceBuilder::health_indicator):
    /// `db.primary` critical, `db.replica-N` not (a replica down degrades the service; its
    /// reads go to the primary). Each reads the state the health checks keep; none queries.
    #[must_use]
    pub fn health_indicators(&self) -> Vec<(String, HealthCheckOptions, PoolIndicator<DB>)> {
        let timeout = self.shared.config.health_timeout.max(Duration::from_millis(100));
        let count = 1 + self.shared.replicas.len();
        (0..count)
            .map(|index| {
                let options = if index == 0 {
                    HealthCheckOptions::critical(timeout)
                } else {
                    HealthCheckOptions::non_critical(timeout)
                };
                let indicator = PoolIndicator { pools: self.clone(), index };
                (format!("db.{}", self.member(index).role), options, indicator)
            })
            .collect()
    }

    fn member(&self, index: usize) -> &Member<DB> {
        match index.checked_sub(1) {
            None => &self.shared.primary,
            Some(replica) => &self.shared.replicas[replica],
        }
    }
}

impl<DB: ReplicationLag> ReplicatedPool<DB> {
    /// One round of health checks: every pool pinged and every replica's lag measured, at
    /// the same time, each bounded by [`health_timeout`](ReplicaConfig::health_timeout).
    pub async fn check_health(&self) {
        let shared = &self.shared;
        let timeout = shared.config.health_timeout;
        let primary = shared.primary.check(timeout);
        let replicas =
            futures::future::join_all(shared.replicas.iter().map(|replica| async move {
                if !replica.check(timeout).await {
                    return;
                }
                let lag = DB::replication_lag(&shared.primary.pool, &replica.pool);
                match tokio::time::timeout(timeout, lag).await {
                    Ok(Ok(lag)) => replica.measured_lag(lag),
                    Ok(Err(error)) => {
                        tracing::warn!(role = %replica.role, %error, "replication lag query failed");
                    }
                    Err(_) => {
                        replica.trip(&format!("the lag query got no answer within {timeout:?}"));
                    }
                }
            }));
        futures::future::join(primary, replicas).await;
    }

    /// Checks health until every replica has replayed all the primary had written, or
    /// `within` passes: after a migration or a seed on the primary, so no read is served
    /// from a replica that has not seen it. Returns whether they all caught up.
    pub async fn wait_for_replicas(&self, within: Duration) -> bool {
        let caught_up = async {
            loop {
                self.check_health().await;
                let lags: Vec<_> = self.shared.replicas.iter().map(Member::lag).collect();
                if lags.iter().all(|lag| *lag == Some(Duration::ZERO)) {
                    return;
                }
                tokio::time::sleep(self.shared.config.health_interval / 10).await;
            }
        };
        tokio::time::timeout(within, caught_up).await.is_ok()
    }

    /// Runs [`check_health`](Self::check_health) every
    /// [`health_interval`](ReplicaConfig::health_interval) on a task of its own, which ends
    /// when the last handle to these pools is dropped (or when the handle it returns is
    /// aborted).
    #[must_use]
    pub fn spawn_health_checks(&self) -> JoinHandle<()> {
        let weak: Weak<Shared<DB>> = Arc::downgrade(&self.shared);
        let interval = self.shared.config.health_interval;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(shared) = weak.upgrade() else { return };
                ReplicatedPool { shared }.check_health().await;
            }
        })
    }
}

/// A handle on a [`ReplicatedPool`] that remembers its own last write: for
/// [`read_your_writes`](ReplicaConfig::read_your_writes) after it, its reads go to the
/// primary, so a request (or task) reads what it just wrote even from a lagging replica.
#[derive(Debug)]
pub struct Session<DB: Database> {
    pools: ReplicatedPool<DB>,
    last_write: Mutex<Option<Timestamp>>,
}

impl<DB: Database> Session<DB> {
    /// As [`ReplicatedPool::write`], remembering the write (even a failed one: it may
    /// have committed before its answer was lost).
    ///
    /// # Errors
    /// As [`ReplicatedPool::write`].
    pub async fn write<T, F, Fut>(&self, query: F) -> Result<T, DbError>
    where
        F: FnOnce(Pool<DB>) -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        let result = self.pools.write(query).await;
        *self.last_write.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(self.pools.shared.clock.now());
        result
    }

    /// As [`ReplicatedPool::read`], but on the primary within the read-your-writes window
    /// of this session's last write.
    ///
    /// # Errors
    /// As [`ReplicatedPool::read`].
    pub async fn read<T, F, Fut>(&self, query: F) -> Result<T, DbError>
    where
        F: Fn(Pool<DB>) -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        if self.wrote_recently() {
            self.pools.write(query).await
        } else {
            self.pools.read(query).await
        }
    }

    fn wrote_recently(&self) -> bool {
        let last = *self.last_write.lock().unwrap_or_else(PoisonError::into_inner);
        let window = self.pools.shared.config.read_your_writes;
        last.is_some_and(|at| self.pools.shared.clock.now().duration_since(at) < window)
    }
}

/// One pool's health, as a perfkit health indicator (see
/// [`ReplicatedPool::health_indicators`]).
#[derive(Debug)]
pub struct PoolIndicator<DB: Database> {
    pools: ReplicatedPool<DB>,
    index: usize,
}

#[async_trait]
impl<DB: Database> HealthIndicator for PoolIndicator<DB> {
    async fn check(&self) -> Result<String, String> {
        let figures = self.pools.member(self.index).figures(
            self.index == 0 || self.pools.in_rotation(self.pools.member(self.index)),
            self.index > 0,
        );
        let lag =
            figures.lag_ms.map(|lag| format!(", lag {:.1} s", lag / 1000.0)).unwrap_or_default();
        if figures.breaker != perfkit::cache::BreakerState::Closed {
            let why = figures.last_error.unwrap_or_default();
            return Err(format!("{} unreachable ({why}){lag}", figures.role));
        }
        if !figures.in_rotation {
            return Err(format!("{} out of rotation: lagging past the bound{lag}", figures.role));
        }
        Ok(format!(
            "{} up, {} of {} connections in use{lag}",
            figures.role,
            figures.size - figures.idle,
            figures.max
        ))
    }
}

#[async_trait]
impl<DB: Database> PoolControl for ReplicatedPool<DB> {
    /// Every pool together: their sizes, idle connections and maxima summed.
    async fn figures(&self) -> Result<PoolFigures, ControlError> {
        let mut total = PoolFigures { size: 0, max: 0, idle: 0, resizable: false };
        for figures in ReplicatedPool::figures(self) {
            total.size += figures.size;
            total.max += figures.max;
            total.idle += figures.idle;
        }
        Ok(total)
    }

    async fn resize(&self, _max: u32) -> Result<u32, ControlError> {
        Err(ControlError::unsupported(
            ControlKind::Pool,
            "an sqlx pool's max_connections is fixed when the pool is built; set it there",
        ))
    }

    async fn rotate_out_lagging(&self, max_lag: Duration) -> Result<u32, ControlError> {
        if self.shared.replicas.is_empty() {
            return Err(ControlError::unsupported(
                ControlKind::Pool,
                "this pool has no read replicas to take out of rotation",
            ));
        }
        Ok(ReplicatedPool::rotate_out_lagging(self, max_lag))
    }

    /// The furthest replica's lag and the latest recovery, as the health checks keep them.
    async fn replication(&self) -> Result<ReplicationFigures, ControlError> {
        Ok(ReplicationFigures {
            replica_lag: self.replication_lag(),
            last_recovery: self.last_recovery(),
        })
    }
}

fn millis_of(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::SqlitePoolOptions;

    use super::*;

    /// Two separate in-memory databases, each answering with its own name.
    async fn pools(config: ReplicaConfig) -> ReplicatedPool<sqlx::Sqlite> {
        pools_with_clock(config, Arc::new(TokioClock::default())).await
    }

    async fn pools_with_clock(
        config: ReplicaConfig,
        clock: Arc<dyn Clock>,
    ) -> ReplicatedPool<sqlx::Sqlite> {
        let named = |name: &'static str| async move {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect("sqlite::memory:")
                .await
                .unwrap();
            sqlx::query(&format!("CREATE TABLE whoami AS SELECT '{name}' AS name"))
                .execute(&pool)
                .await
                .unwrap();
            pool
        };
        ReplicatedPool::with_clock(
            named("primary").await,
            vec![named("replica").await],
            config,
            clock,
        )
    }

    async fn reader(pools: &ReplicatedPool<sqlx::Sqlite>) -> String {
        let query = |pool: Pool<sqlx::Sqlite>| async move {
            sqlx::query_scalar("SELECT name FROM whoami").fetch_one(&pool).await
        };
        pools.read(query).await.unwrap()
    }

    #[tokio::test]
    async fn a_replica_past_the_lag_bound_leaves_the_rotation_until_it_catches_up() {
        let pools = pools(ReplicaConfig { max_lag: None, ..ReplicaConfig::default() }).await;
        let replica = &pools.shared.replicas[0];
        replica.measured_lag(Some(Duration::from_secs(30)));
        assert_eq!(reader(&pools).await, "replica", "no bound: lag alone keeps it in rotation");

        assert_eq!(pools.rotate_out_lagging(Duration::from_secs(10)), 1);
        assert_eq!(reader(&pools).await, "primary");
        assert!(!pools.figures()[1].in_rotation);
        let indicator = pools.health_indicators().remove(1).2;
        assert!(indicator.check().await.unwrap_err().contains("out of rotation"));

        replica.measured_lag(Some(Duration::ZERO));
        assert_eq!(reader(&pools).await, "replica", "caught up: back in rotation");
        let control: &dyn PoolControl = &pools;
        assert_eq!(control.rotate_out_lagging(Duration::from_secs(10)).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_saturated_pool_is_busy_not_unreachable() {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_millis(50))
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let pools = ReplicatedPool::new(pool.clone(), Vec::new(), ReplicaConfig::default());
        let held = pool.acquire().await.unwrap();
        let error = pools
            .write(|pool| async move { sqlx::query("SELECT 1").execute(&pool).await })
            .await
            .unwrap_err();
        assert!(matches!(error, DbError::Sqlx(sqlx::Error::PoolTimedOut)), "{error:?}");
        assert!(error.is_unavailable(), "the host still answers 503");
        assert_eq!(pools.figures()[0].breaker, perfkit::cache::BreakerState::Closed);
        drop(held);
        pools
            .write(|pool| async move { sqlx::query("SELECT 1").execute(&pool).await })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_session_reads_from_the_primary_for_the_window_after_its_write() {
        let clock = Arc::new(perfkit::core::ManualClock::new(Timestamp::UNIX_EPOCH));
        let pools = pools_with_clock(ReplicaConfig::default(), clock.clone()).await;
        let session = pools.session();
        let query = |pool: Pool<sqlx::Sqlite>| async move {
            sqlx::query_scalar::<_, String>("SELECT name FROM whoami").fetch_one(&pool).await
        };
        assert_eq!(session.read(query).await.unwrap(), "replica");
        session
            .write(|pool| async move { sqlx::query("SELECT 1").execute(&pool).await })
            .await
            .unwrap();
        assert_eq!(session.read(query).await.unwrap(), "primary");
        assert_eq!(reader(&pools).await, "replica", "other handles are not held to the window");
        clock.advance(Duration::from_secs(2));
        assert_eq!(session.read(query).await.unwrap(), "replica", "after the window");
    }
}
