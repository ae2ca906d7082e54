//! A primary and a real streaming replica (private PostgreSQL servers, `pg_basebackup -R`):
//! reads served by the replica and writes by the primary, read-your-writes, a frozen replica
//! (SIGSTOP) falling back to the primary with its lag rising, statement timeouts cancelled
//! and counted, and a primary restart opening the breaker and recovering.
#![allow(clippy::unwrap_used)] // the helpers below panic, as tests do

mod support;

use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, Instant};

use std::sync::Arc;

use perfkit::cache::BreakerState;
use perfkit::{HealthIndicator, HealthStatus, PerformanceService};
use perfkit_sqlx::{DbError, ReplicaConfig, ReplicatedPool, StatementTimeout};
use perfkit_testing::PostgresServer;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Which server answered: a standby answers `true`.
const IN_RECOVERY: &str = "SELECT pg_is_in_recovery()";

fn config() -> ReplicaConfig {
    ReplicaConfig {
        read_your_writes: Duration::from_secs(5),
        max_lag: Some(Duration::from_secs(10)),
        replica_timeout: Duration::from_millis(500),
        health_interval: Duration::from_millis(200),
        health_timeout: Duration::from_millis(300),
        statement_timeout: Some(Duration::from_millis(200)),
    }
}

async fn pool(server: &PostgresServer, max: u32) -> PgPool {
    let options = PgConnectOptions::from_str(server.url())
        .unwrap()
        .with_statement_timeout(Duration::from_millis(200));
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(options)
        .await
        .unwrap()
}

async fn answered_by_replica(pools: &ReplicatedPool<sqlx::Postgres>) -> Result<bool, DbError> {
    pools.read(|pool| async move { sqlx::query_scalar(IN_RECOVERY).fetch_one(&pool).await }).await
}

/// Polls `condition` until it holds, failing the test after `within`.
async fn eventually<F: Future<Output = bool>>(
    within: Duration,
    what: &str,
    condition: impl Fn() -> F,
) {
    let deadline = Instant::now() + within;
    while !condition().await {
        assert!(Instant::now() < deadline, "{what} did not happen within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Pair {
    primary: PostgresServer,
    replica: PostgresServer,
    pools: ReplicatedPool<sqlx::Postgres>,
}

async fn pair() -> Pair {
    let primary = PostgresServer::start_private();
    let replica = primary.start_replica().unwrap();
    let pools =
        ReplicatedPool::new(pool(&primary, 4).await, vec![pool(&replica, 4).await], config());
    pools
        .write(|pool| async move {
            sqlx::query("CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL)")
                .execute(&pool)
                .await
        })
        .await
        .unwrap();
    Pair { primary, replica, pools }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_replica_and_a_sessions_read_sees_its_own_write() {
    let Pair { pools, primary: _primary, replica: _replica } = pair().await;
    assert!(answered_by_replica(&pools).await.unwrap(), "a read is served by the replica");
    let wrote_on_standby: bool = pools
        .write(|pool| async move { sqlx::query_scalar(IN_RECOVERY).fetch_one(&pool).await })
        .await
        .unwrap();
    assert!(!wrote_on_standby, "a write is served by the primary");
    // Routing by the statement's text.
    let by_text = pools.run(IN_RECOVERY, |pool| async move {
        sqlx::query_scalar::<_, bool>(IN_RECOVERY).fetch_one(&pool).await
    });
    assert!(by_text.await.unwrap(), "a read-only statement goes to the replica");

    let session = pools.session();
    for id in 0..20_i64 {
        session
            .write(|pool| async move {
                sqlx::query("INSERT INTO notes VALUES ($1, 'hello')").bind(id).execute(&pool).await
            })
            .await
            .unwrap();
        let seen: Option<String> = session
            .read(|pool| async move {
                sqlx::query_scalar("SELECT body FROM notes WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&pool)
                    .await
            })
            .await
            .unwrap();
        assert_eq!(seen.as_deref(), Some("hello"), "read {id} right after its write sees it");
    }
    let figures = pools.figures();
    assert_eq!((figures[0].role.as_str(), figures[1].role.as_str()), ("primary", "replica-0"));
    assert!(figures[1].queries >= 2 && figures[0].queries >= 21, "{figures:?}");

    // The replica replays the writes; its lag, from PostgreSQL, is measured as caught up.
    assert!(pools.wait_for_replicas(Duration::from_secs(10)).await, "{:?}", pools.figures());
    assert_eq!(pools.figures()[1].lag_ms, Some(0.0));
    let count: i64 = pools
        .read(|pool| async move {
            sqlx::query_scalar("SELECT count(*) FROM notes").fetch_one(&pool).await
        })
        .await
        .unwrap();
    assert_eq!(count, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_replica_falls_back_to_the_primary_lags_and_returns_to_rotation() {
    let Pair { pools, primary: _primary, replica } = pair().await;
    eventually(Duration::from_secs(10), "a first lag measurement", || async {
        pools.check_health().await;
        pools.figures()[1].lag_ms == Some(0.0)
    })
    .await;
    let (_, _, replica_health) = pools.health_indicators().remove(1);
    assert!(replica_health.check().await.is_ok());
    // The host's service: the pools' figures in every snapshot, each pool a health indicator.
    let mut builder = PerformanceService::builder().database_pool(Arc::new(pools.clone()));
    for (name, options, indicator) in pools.health_indicators() {
        builder = builder.health_indicator(&name, options, indicator);
    }
    let service = builder.build().unwrap();
    service.check_health_now().await;
    assert_eq!(service.readout().health().checks["db.replica-0"].status, HealthStatus::Healthy);
    assert_eq!(service.collect_now().await.db_replica_lag, Some(0.0));

    replica.pause().unwrap();
    // The read in flight on the frozen replica is given up there and served by the primary.
    let started = Instant::now();
    assert!(!answered_by_replica(&pools).await.unwrap(), "served by the primary");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // The next reads skip the replica at once.
    let started = Instant::now();
    for _ in 0..20 {
        assert!(!answered_by_replica(&pools).await.unwrap());
    }
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    pools.check_health().await;
    let figures = &pools.figures()[1];
    assert_eq!(figures.breaker, BreakerState::Open);
    assert!(!figures.in_rotation && figures.outages == 1 && figures.fallbacks >= 1, "{figures:?}");
    let first_lag = figures.lag_ms.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    pools.check_health().await;
    assert!(pools.figures()[1].lag_ms.unwrap() > first_lag, "the lag rises while it is frozen");
    assert!(pools.replication_lag().is_some_and(|lag| lag >= Duration::from_millis(300)));
    let down = replica_health.check().await.unwrap_err();
    assert!(down.contains("replica-0 unreachable"), "{down}");
    service.check_health_now().await;
    let health = service.readout().health();
    assert_eq!(health.checks["db.replica-0"].status, HealthStatus::Degraded, "{health:?}");
    assert_eq!(health.checks["db.primary"].status, HealthStatus::Healthy);
    let snapshot = service.collect_now().await;
    assert!(snapshot.db_replica_lag.is_some_and(|lag| lag >= 300.0), "{snapshot:?}");

    replica.resume().unwrap();
    eventually(Duration::from_secs(10), "the replica's return to rotation", || async {
        pools.check_health().await;
        pools.figures()[1].in_rotation
    })
    .await;
    assert!(answered_by_replica(&pools).await.unwrap(), "reads go to the replica again");
    assert!(pools.figures()[1].last_recovery_ms.is_some());
    assert!(replica_health.check().await.is_ok());
    let snapshot = service.collect_now().await;
    assert_eq!(snapshot.db_replica_lag, Some(0.0));
    assert!(snapshot.db_recovery_time.is_some_and(|ms| ms > 0.0), "recovery time in the figures");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_past_the_timeout_is_cancelled_counted_and_the_pool_stays_usable() {
    let recorder = support::recorder();
    let server = PostgresServer::start_private();
    // One connection: the statement after the timeout runs on the very connection that was
    // cancelled.
    let pools = ReplicatedPool::new(pool(&server, 1).await, Vec::new(), config());
    let slow = "SELECT pg_sleep($1) FROM (VALUES (1)) AS timeout_probe (n)";
    let started = Instant::now();
    let error = pools
        .write(|pool| async move { sqlx::query(slow).bind(2.0_f64).execute(&pool).await })
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1), "cancelled at 200 ms, not after 2 s");
    assert!(matches!(error, DbError::StatementTimeout { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the statement ran past the 200ms statement timeout and was cancelled"
    );
    assert!(!error.is_unavailable());

    let one: i32 = pools
        .write(|pool| async move { sqlx::query_scalar("SELECT 1").fetch_one(&pool).await })
        .await
        .unwrap();
    assert_eq!(one, 1, "the connection is not poisoned");
    assert_eq!(pools.figures()[0].breaker, BreakerState::Closed);
    let statements = recorder.snapshot().database.statements.slowest;
    let probe = statements.iter().find(|s| s.statement.contains("timeout_probe")).unwrap();
    assert_eq!((probe.count, probe.timeouts), (1, 1), "{probe:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_primary_opens_the_breaker_then_the_first_query_after_recovery_succeeds() {
    let server = PostgresServer::start_private();
    let pools = ReplicatedPool::new(pool(&server, 4).await, Vec::new(), config());
    let checks = pools.spawn_health_checks();
    let select_one = || {
        pools.write(|pool| async move {
            sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&pool).await
        })
    };
    assert_eq!(select_one().await.unwrap(), 1);

    server.stop().unwrap();
    let stopped = Instant::now();
    // Opened by the health check within an interval and its timeout, with no query asking.
    eventually(Duration::from_secs(2), "the breaker opening", || async {
        pools.figures()[0].breaker != BreakerState::Closed
    })
    .await;
    assert!(stopped.elapsed() < Duration::from_millis(200 + 300 + 200), "{:?}", stopped.elapsed());
    // While it is down: fast errors, never the acquire timeout's 2 s.
    for _ in 0..20 {
        let started = Instant::now();
        let error = select_one().await.unwrap_err();
        assert!(error.is_unavailable(), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }

    server.restart().unwrap();
    eventually(Duration::from_secs(5), "the breaker closing", || async {
        pools.figures()[0].breaker == BreakerState::Closed
    })
    .await;
    assert_eq!(select_one().await.unwrap(), 1, "the first query after recovery succeeds");
    let figures = &pools.figures()[0];
    assert_eq!(figures.outages, 1);
    assert!(figures.last_recovery_ms.is_some_and(|ms| ms > 0.0), "{figures:?}");
    assert_eq!(
        pools.last_recovery(),
        figures.last_recovery_ms.map(|ms| Duration::from_secs_f64(ms / 1000.0))
    );
    checks.abort();
}
