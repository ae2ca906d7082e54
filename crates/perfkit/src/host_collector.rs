//! Connections and the job queue in the Prometheus exposition, each from its owner: open
//! connections from the connection registry at scrape time (or, where the host gave its own
//! connection control, from the latest collection), the queue length from the latest
//! collection (controls answer asynchronously, and a collector cannot wait).

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
        let descs = [CONNECTIONS, QUEUE]
            .iter()
            .map(|(name, help)| family_desc(name, help, &[]))
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
        let (collected_connections, queue_length) = {
            let state = lock(&self.state);
            let latest = state.history.latest();
            (latest.and_then(|s| s.active_connections), latest.and_then(|s| s.queue_length))
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
        families
    }
}
