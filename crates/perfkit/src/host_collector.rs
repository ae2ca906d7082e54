//! Connections, the job queue and the database pool in the Prometheus exposition, each from
//! its owner: open connections from the connection registry at scrape time (or, where the
//! host gave its own connection control, from the latest collection), the queue length and
//! the pool's connections, waiters, replica lag and recovery time from the latest collection (controls answer
//! asynchronously, and a collector cannot wait).

use std::sync::{Arc, Mutex};

use perfkit_host::ConnectionRegistry;
use perfkit_metrics::{FamilyBuilder, family_desc};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use crate::PerfkitError;
use crate::service::{ServiceState, lock};

const CONNECTIONS: (&str, &str) =
    ("websocket_connections_active", "Client connections open now, as the registry counts them.");
const QUEUE: (&str, &str) =
    ("job_queue_length", "Jobs waiting in the work queue at the latest collection.");
const POOL: (&str, &str) = (
    "db_pool_connections",
    "Database pool connections at the latest collection, by state (idle, in_use), and the pool's maximum (max).",
);
const REPLICATION: (&str, &str) = (
    "db_replication_seconds",
    "At the latest collection: how far the furthest read replica is behind its primary (lag), and how long the latest database outage lasted (recovery).",
);
const WAITERS: (&str, &str) = (
    "db_pool_waiters",
    "Mean number of tasks waiting for a database connection over the latest collection's interval.",
);

pub(crate) struct HostCollector {
    /// The registry when it is the connections' owner; `None` when the host's control is.
    registry: Option<ConnectionRegistry>,
    state: Arc<Mutex<ServiceState>>,
    descs: Vec<Desc>,
}

impl HostCollector {
    pub(crate) fn new(
        registry: Option<ConnectionRegistry>,
        state: Arc<Mutex<ServiceState>>,
    ) -> Result<Self, PerfkitError> {
        let descs = [
            (CONNECTIONS, &[][..]),
            (QUEUE, &[]),
            (POOL, &["state"]),
            (WAITERS, &[]),
            (REPLICATION, &["figure"]),
        ]
        .iter()
        .map(|((name, help), labels)| family_desc(name, help, labels))
        .collect::<Result<_, _>>()
        .map_err(|e| PerfkitError::Setup {
            part: "prometheus exposition",
            message: e.to_string(),
        })?;
        Ok(HostCollector { registry, state, descs })
    }
}

impl Collector for HostCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    #[allow(clippy::cast_precision_loss)]
    fn collect(&self) -> Vec<MetricFamily> {
        let mut families = Vec::with_capacity(2);
        let (collected_connections, queue_length, pool, replication) = {
            let state = lock(&self.state);
            let latest = state.history.latest();
            let pool = latest.map(|s| {
                [
                    ("idle", s.db_pool_idle),
                    ("in_use", s.db_pool_in_use),
                    ("max", s.db_pool_max),
                    ("waiters", s.db_pool_waiters),
                ]
            });
            let replication =
                latest.map(|s| [("lag", s.db_replica_lag), ("recovery", s.db_recovery_time)]);
            (
                latest.and_then(|s| s.active_connections),
                latest.and_then(|s| s.queue_length),
                pool,
                replication,
            )
        };
        let open = match &self.registry {
            Some(registry) => Some(registry.len() as f64),
            None => collected_connections,
        };
        if let Some(open) = open {
            let mut connections = FamilyBuilder::gauge(CONNECTIONS.0, CONNECTIONS.1);
            connections.value(&[], open);
            families.push(connections.finish());
        }
        // Absent until a queue is measured: a host without a queue exports no queue figure.
        if let Some(length) = queue_length {
            let mut queue = FamilyBuilder::gauge(QUEUE.0, QUEUE.1);
            queue.value(&[], length);
            families.push(queue.finish());
        }
        // Absent until a pool is measured, like the queue.
        if let Some([idle, in_use, max, waiters]) = pool {
            let mut connections = FamilyBuilder::gauge(POOL.0, POOL.1);
            for (state, value) in [idle, in_use, max] {
                if let Some(value) = value {
                    connections.value(&[("state", state)], value);
                }
            }
            if idle.1.is_some() {
                families.push(connections.finish());
            }
            if let Some(value) = waiters.1 {
                let mut waiting = FamilyBuilder::gauge(WAITERS.0, WAITERS.1);
                waiting.value(&[], value);
                families.push(waiting.finish());
            }
        }
        // Each figure absent until measured: a host without replicas or outages has none.
        let measured: Vec<_> = replication
            .into_iter()
            .flatten()
            .filter_map(|(figure, millis)| Some((figure, millis? / 1000.0)))
            .collect();
        if !measured.is_empty() {
            let mut seconds = FamilyBuilder::gauge(REPLICATION.0, REPLICATION.1);
            for (figure, value) in measured {
                seconds.value(&[("figure", figure)], value);
            }
            families.push(seconds.finish());
        }
        families
    }
}
