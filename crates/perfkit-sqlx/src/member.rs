//! One pool of a [`ReplicatedPool`](crate::ReplicatedPool): its role, its breaker, and what
//! its health checks found (outages, recovery time, replication lag).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use perfkit::cache::{BreakerConfig, BreakerState, CircuitBreaker};
use perfkit::core::{Clock, Timestamp};
use serde::Serialize;
use sqlx::{Connection, Database, Pool};
use tracing::Instrument;

use crate::error::{DbError, is_unreachable};
use crate::layer::{ROUTE_TARGET, TIMEOUT_TARGET};
use crate::timeouts::is_statement_timeout;

/// What one pool of a [`ReplicatedPool`](crate::ReplicatedPool) looks like now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleFigures {
    /// `primary`, `replica-0`, `replica-1`, ...
    pub role: String,
    /// Its breaker: closed (queries go through), open (refused), half-open (one probe).
    pub breaker: BreakerState,
    /// Whether reads are sent to it now (always true for the primary).
    pub in_rotation: bool,
    /// How far behind the primary it is, ms: 0 when caught up; while it does not answer,
    /// the time since it was last seen caught up. `None` for the primary, or before the
    /// first measurement.
    pub lag_ms: Option<f64>,
    /// Times its breaker opened.
    pub outages: u64,
    /// How long the latest outage lasted, from the breaker opening to the first success, ms.
    pub last_recovery_ms: Option<f64>,
    /// Why it was last found unreachable.
    pub last_error: Option<String>,
    /// Connections it holds now (idle and in use).
    pub size: u32,
    /// Of which idle.
    pub idle: u32,
    /// The most it may hold.
    pub max: u32,
    /// Queries it ran (reads, writes, the health check's excepted).
    pub queries: u64,
    /// Reads meant for it that went to the primary instead (it was unreachable or slow).
    pub fallbacks: u64,
}

#[derive(Debug, Default)]
struct MemberState {
    outage_since: Option<Timestamp>,
    outages: u64,
    last_recovery: Option<Duration>,
    last_error: Option<String>,
    lag: Option<Duration>,
    /// When a lag measurement last found it caught up.
    caught_up_at: Option<Timestamp>,
    /// When its lag was last measured.
    measured_at: Option<Timestamp>,
}

/// One pool with its role and breaker.
#[derive(Debug)]
pub(crate) struct Member<DB: Database> {
    pub(crate) role: String,
    pub(crate) pool: Pool<DB>,
    breaker: CircuitBreaker,
    clock: Arc<dyn Clock>,
    statement_timeout: Option<Duration>,
    state: Mutex<MemberState>,
    /// Counted on every query: atomics, not the state's lock.
    queries: AtomicU64,
    fallbacks: AtomicU64,
}

impl<DB: Database> Member<DB> {
    pub(crate) fn new(
        role: String,
        pool: Pool<DB>,
        breaker: BreakerConfig,
        clock: Arc<dyn Clock>,
        statement_timeout: Option<Duration>,
    ) -> Self {
        Member {
            role,
            pool,
            breaker: CircuitBreaker::new(breaker, Arc::clone(&clock)),
            clock,
            statement_timeout,
            state: Mutex::new(MemberState::default()),
            queries: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemberState> {
        // Plain field writes: a panic leaves nothing half-done worth refusing to read.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether its breaker is closed, without letting a probe through.
    pub(crate) fn is_up(&self) -> bool {
        self.breaker.state() == BreakerState::Closed
    }

    /// Runs `query` unless the breaker refuses it; an unreachable database opens the
    /// breaker, any answer (a statement's own error included) closes it.
    pub(crate) async fn run<T>(
        &self,
        query: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, DbError> {
        if !self.breaker.allow() {
            return Err(DbError::Unavailable { role: self.role.clone() });
        }
        self.queries.fetch_add(1, Ordering::Relaxed);
        // The layer reads the role from this span and remembers the statement run in it,
        // so a timeout reported below is counted against that statement.
        let span =
            tracing::debug_span!(target: ROUTE_TARGET, "perfkit_sqlx.route", role = %self.role);
        let result = query.instrument(span.clone()).await;
        match result {
            Ok(value) => {
                self.succeeded();
                Ok(value)
            }
            // A pool that waited out its acquire timeout while holding connections is busy,
            // not cut off: refusing queries would turn a saturated pool into an outage.
            // (Connections that hang are the health check's to find.)
            Err(error @ sqlx::Error::PoolTimedOut) if self.pool.size() > 0 => Err(error.into()),
            Err(error) if is_unreachable(&error) => {
                self.failed(&error.to_string());
                Err(error.into())
            }
            Err(error) if is_statement_timeout(&error) => {
                self.succeeded();
                tracing::debug!(target: TIMEOUT_TARGET, parent: &span, "statement timeout");
                let timeout = self.statement_timeout.unwrap_or_default();
                Err(DbError::StatementTimeout { timeout, source: error })
            }
            Err(error) => {
                self.succeeded();
                Err(error.into())
            }
        }
    }

    /// One health check: a connection from the pool and a ping on it (a round trip with no
    /// statement), within `timeout`. Opens or closes the breaker.
    pub(crate) async fn check(&self, timeout: Duration) -> bool {
        let ping = async {
            let mut connection = self.pool.acquire().await?;
            connection.ping().await
        };
        match tokio::time::timeout(timeout, ping).await {
            Ok(Ok(())) => {
                self.succeeded();
                true
            }
            Ok(Err(error)) => {
                self.failed(&error.to_string());
                false
            }
            Err(_) => {
                self.failed(&format!("no answer to a ping within {timeout:?}"));
                false
            }
        }
    }

    /// Counts a read meant for it that the primary ran instead.
    pub(crate) fn fell_back(&self) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
    }

    /// Opens the breaker at once (a read timed out on it).
    pub(crate) fn trip(&self, why: &str) {
        self.breaker.trip();
        self.note_outage(why);
    }

    fn failed(&self, why: &str) {
        self.breaker.record_failure();
        if self.breaker.state() == BreakerState::Open {
            self.note_outage(why);
        }
    }

    fn note_outage(&self, why: &str) {
        let now = self.clock.now();
        let mut state = self.lock();
        if state.outage_since.is_none() {
            state.outage_since = Some(now);
            state.outages += 1;
            tracing::warn!(role = %self.role, reason = why, "database unreachable; its queries are refused until a health check reaches it");
        }
        state.last_error = Some(why.to_owned());
    }

    fn succeeded(&self) {
        if self.breaker.state() == BreakerState::Closed {
            return;
        }
        self.breaker.record_success();
        let now = self.clock.now();
        let mut state = self.lock();
        if let Some(since) = state.outage_since.take() {
            let recovery = now.duration_since(since);
            state.last_recovery = Some(recovery);
            tracing::info!(role = %self.role, ?recovery, "database reachable again");
        }
    }

    /// Takes in one lag measurement (`None`: the database could not tell).
    pub(crate) fn measured_lag(&self, lag: Option<Duration>) {
        let now = self.clock.now();
        let mut state = self.lock();
        state.measured_at = Some(now);
        state.lag = match (lag, state.caught_up_at) {
            (Some(Duration::ZERO), _) => {
                state.caught_up_at = Some(now);
                Some(Duration::ZERO)
            }
            // Behind: the age of its newest replayed transaction, but never more than the
            // time since it was last seen caught up (after an idle spell that transaction
            // is old while the replica is only a moment behind).
            (Some(lag), Some(caught_up)) => Some(lag.min(now.duration_since(caught_up))),
            (lag, _) => lag,
        };
    }

    /// Its lag now: the latest measurement, or, while it does not answer, the time since
    /// it was last seen caught up (it may have missed every write since).
    pub(crate) fn lag(&self) -> Option<Duration> {
        let now = self.clock.now();
        let state = self.lock();
        if self.is_up() {
            return state.lag;
        }
        match (state.caught_up_at, state.measured_at) {
            (Some(caught_up), _) => Some(now.duration_since(caught_up)),
            (None, Some(measured)) => state.lag.map(|lag| lag + now.duration_since(measured)),
            (None, None) => None,
        }
    }

    pub(crate) fn figures(&self, in_rotation: bool, is_replica: bool) -> RoleFigures {
        let lag = if is_replica { self.lag() } else { None };
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX).min(size);
        let state = self.lock();
        RoleFigures {
            role: self.role.clone(),
            breaker: self.breaker.state(),
            in_rotation,
            lag_ms: lag.map(millis),
            outages: state.outages,
            last_recovery_ms: state.last_recovery.map(millis),
            last_error: state.last_error.clone(),
            size,
            idle,
            max: self.pool.options().get_max_connections(),
            queries: self.queries.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn last_recovery(&self) -> Option<Duration> {
        self.lock().last_recovery
    }
}

pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
