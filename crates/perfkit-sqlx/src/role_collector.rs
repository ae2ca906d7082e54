//! A [`ReplicatedPool`]'s figures per pool in the Prometheus exposition, labelled by role
//! (`primary`, `replica-0`, ...): connections, queries, fallbacks, breaker state, outages,
//! latest recovery and replica lag, read from the pools at scrape time (atomics and one
//! short lock per pool, no I/O).

use perfkit::metrics::{FamilyBuilder, family_desc};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use sqlx::Database;

use crate::ReplicatedPool;

const CONNECTIONS: (&str, &str) = (
    "db_role_connections",
    "Connections of each pool by role, by state (idle, in_use) and its maximum (max).",
);
const QUERIES: (&str, &str) = ("db_role_queries_total", "Queries each pool ran, by role.");
const FALLBACKS: (&str, &str) = (
    "db_role_fallbacks_total",
    "Reads meant for a replica that the primary ran instead (the replica unreachable or slow), by role.",
);
const UP: (&str, &str) = (
    "db_role_up",
    "1 while a pool's breaker is closed (queries go through), 0 while it refuses them, by role.",
);
const IN_ROTATION: (&str, &str) = (
    "db_role_in_rotation",
    "1 while reads are sent to the pool, 0 while it is out of rotation, by role.",
);
const OUTAGES: (&str, &str) =
    ("db_role_outages_total", "Times each pool's breaker opened, by role.");
const RECOVERY: (&str, &str) = (
    "db_role_last_recovery_seconds",
    "How long each pool's latest outage lasted, breaker open to first success, by role.",
);
const LAG: (&str, &str) =
    ("db_role_replication_lag_seconds", "How far each replica is behind the primary, by role.");

/// The collector: register it on the service's exporter
/// (`service.parts().exporter.registry().register(Box::new(pools.collector()?))`).
///
/// ```
/// use std::sync::Arc;
/// use perfkit::metrics::{PrometheusExporter, Recorder};
/// use perfkit_sqlx::{ReplicaConfig, ReplicatedPool};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let primary = sqlx::sqlite::SqlitePoolOptions::new().connect("sqlite::memory:").await?;
/// let pools = ReplicatedPool::new(primary, Vec::new(), ReplicaConfig::default());
/// let exporter = PrometheusExporter::new(Arc::new(Recorder::default()), None)?;
/// exporter.registry().register(Box::new(pools.collector()?))?;
/// let text = exporter.render()?;
/// assert!(text.contains("db_role_up{role=\"primary\"} 1"), "{text}");
/// assert!(text.contains("db_role_connections{role=\"primary\",state=\"max\"} 10"), "{text}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct RoleCollector<DB: Database> {
    pools: ReplicatedPool<DB>,
    descs: Vec<Desc>,
}

impl<DB: Database> ReplicatedPool<DB> {
    /// These pools' figures per role, for the Prometheus exposition.
    ///
    /// # Errors
    /// [`prometheus::Error`] if a family's description is refused (never, for these names).
    pub fn collector(&self) -> Result<RoleCollector<DB>, prometheus::Error> {
        let families = [
            (CONNECTIONS, &["role", "state"][..]),
            (QUERIES, &["role"]),
            (FALLBACKS, &["role"]),
            (UP, &["role"]),
            (IN_ROTATION, &["role"]),
            (OUTAGES, &["role"]),
            (RECOVERY, &["role"]),
            (LAG, &["role"]),
        ];
        let descs = families
            .iter()
            .map(|((name, help), labels)| family_desc(name, help, labels))
            .collect::<Result<_, _>>()?;
        Ok(RoleCollector { pools: self.clone(), descs })
    }
}

impl<DB: Database> Collector for RoleCollector<DB> {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    fn collect(&self) -> Vec<MetricFamily> {
        let figures = self.pools.figures();
        let mut connections = FamilyBuilder::gauge(CONNECTIONS.0, CONNECTIONS.1);
        let mut queries = FamilyBuilder::counter(QUERIES.0, QUERIES.1);
        let mut fallbacks = FamilyBuilder::counter(FALLBACKS.0, FALLBACKS.1);
        let mut up = FamilyBuilder::gauge(UP.0, UP.1);
        let mut in_rotation = FamilyBuilder::gauge(IN_ROTATION.0, IN_ROTATION.1);
        let mut outages = FamilyBuilder::counter(OUTAGES.0, OUTAGES.1);
        let mut recovery = FamilyBuilder::gauge(RECOVERY.0, RECOVERY.1);
        let mut lag = FamilyBuilder::gauge(LAG.0, LAG.1);
        let flag = |on: bool| if on { 1.0 } else { 0.0 };
        for pool in &figures {
            let role = &[("role", pool.role.as_str())][..];
            let in_use = pool.size.saturating_sub(pool.idle);
            for (state, value) in [("idle", pool.idle), ("in_use", in_use), ("max", pool.max)] {
                connections
                    .value(&[("role", pool.role.as_str()), ("state", state)], f64::from(value));
            }
            queries.value(role, pool.queries as f64);
            fallbacks.value(role, pool.fallbacks as f64);
            up.value(role, flag(pool.breaker == perfkit::cache::BreakerState::Closed));
            in_rotation.value(role, flag(pool.in_rotation));
            outages.value(role, pool.outages as f64);
            // Absent until measured: no outage yet, no lag on the primary.
            if let Some(ms) = pool.last_recovery_ms {
                recovery.value(role, ms / 1000.0);
            }
            if let Some(ms) = pool.lag_ms {
                lag.value(role, ms / 1000.0);
            }
        }
        [connections, queries, fallbacks, up, in_rotation, outages, recovery, lag]
            .into_iter()
            .map(FamilyBuilder::finish)
            .filter(|family| !family.get_metric().is_empty())
            .collect()
    }
}
