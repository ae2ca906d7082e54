//! How the demo's database joins the performance service: its pools as the pool the service
//! watches (sizes, replica lag, recovery time), a health indicator that pings the primary,
//! one per read replica and, on PostgreSQL, a planner that explains the demo's statements.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use perfkit::{HealthCheckOptions, PerformanceService, PerformanceServiceBuilder};
use perfkit_sqlx::PgPlanner;
use sqlx::postgres::PgConnectOptions;

use super::settings::{DatabaseChoice, DemoSettings};
use super::{DemoDatabase, DemoWarmer};

/// How long the demo database's health check may take.
const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a plan of a demo statement may take on PostgreSQL.
const PLAN_TIMEOUT: Duration = Duration::from_secs(5);

/// `builder` watching `database`'s pool and health, explaining its statements when it is
/// PostgreSQL, and warming through `warmer` after each clear when warming is on.
pub(crate) fn attach(
    mut builder: PerformanceServiceBuilder,
    database: &DemoDatabase,
    settings: &DemoSettings,
    warmer: &Arc<DemoWarmer>,
) -> Result<PerformanceServiceBuilder> {
    if settings.hot.warm_keys > 0 {
        builder = builder.cache_warmer(Arc::clone(warmer) as Arc<dyn perfkit::cache::CacheWarmer>);
    }
    let checked = database.clone();
    builder = builder.database_pool(database.pool_control()).health_indicator(
        "database",
        // Not critical: the cache keeps serving what it holds while the database is down.
        HealthCheckOptions::non_critical(DATABASE_CHECK_TIMEOUT),
        move || {
            let database = checked.clone();
            async move {
                database.ping().await.map_err(|error| error.to_string())?;
                Ok(format!("{} answered", database.kind()))
            }
        },
    );
    // Each replica's own check: down, or lagging past the bound, degrades the service (its
    // reads go to the primary meanwhile).
    for (name, options, indicator) in database.replica_health() {
        builder = builder.health_indicator(&name, options, move || {
            let indicator = Arc::clone(&indicator);
            async move { indicator.check().await }
        });
    }
    if let DatabaseChoice::Postgres(url) = &settings.database {
        let options = PgConnectOptions::from_str(url)
            .context("--database-url is not a postgres:// URL sqlx can use")?;
        builder = builder.query_planner(Arc::new(PgPlanner::new(options, PLAN_TIMEOUT)));
    }
    Ok(builder)
}

/// Each of the demo's pools in the service's exposition, labelled by role (`primary`,
/// `replica-0`, ...): connections, queries, fallbacks, breaker, outages, recovery, lag.
pub(crate) fn expose(service: &PerformanceService, database: &DemoDatabase) -> Result<()> {
    service
        .parts()
        .exporter
        .registry()
        .register(database.collector()?)
        .context("cannot add the demo's pools to the exposition")
}
