//! The cache's statistics in the Prometheus exposition.
//!
//! `Cache::stats()` is async (Redis answers over the network) and a Prometheus collector is
//! not, so the exposition shows the statistics of the latest collection. The cache crate
//! stays free of any metrics dependency: this collector is the orchestrator's.

use std::sync::{Arc, Mutex};

use perfkit_metrics::{FamilyBuilder, family_desc};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use crate::PerfkitError;
use crate::service::{ServiceState, lock};

const FAMILIES: &[(&str, &str, bool)] = &[
    ("perfkit_cache_hits_total", "Cache reads that hit, as the cache counts them.", true),
    ("perfkit_cache_misses_total", "Cache reads that missed, as the cache counts them.", true),
    ("perfkit_cache_keys", "Keys held by the cache.", false),
    ("perfkit_cache_bytes", "Bytes held by the cache.", false),
    ("perfkit_cache_evictions_total", "Entries evicted for space.", true),
    ("perfkit_cache_errors_total", "Cache operations that failed (reads fail open).", true),
    ("perfkit_cache_connected", "1 when the cache backend is reachable.", false),
    ("perfkit_cache_compressed_bytes_saved_total", "Bytes saved by compressing values.", true),
];

pub(crate) struct CacheStatsCollector {
    state: Arc<Mutex<ServiceState>>,
    descs: Vec<Desc>,
}

impl CacheStatsCollector {
    pub(crate) fn new(state: Arc<Mutex<ServiceState>>) -> Result<Self, PerfkitError> {
        let descs = FAMILIES
            .iter()
            .map(|(name, help, _)| family_desc(name, help, &["backend"]))
            .collect::<Result<_, _>>()
            .map_err(|e| PerfkitError::Setup {
                part: "prometheus exposition",
                message: e.to_string(),
            })?;
        Ok(CacheStatsCollector { state, descs })
    }
}

impl Collector for CacheStatsCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    #[allow(clippy::cast_precision_loss)]
    fn collect(&self) -> Vec<MetricFamily> {
        let Some(stats) = lock(&self.state).last_cache_stats.clone() else {
            return Vec::new();
        };
        let backend = format!("{:?}", stats.backend).to_lowercase();
        let values = [
            stats.hits as f64,
            stats.misses as f64,
            stats.keys as f64,
            stats.bytes as f64,
            stats.evictions as f64,
            stats.errors as f64,
            if stats.connected { 1.0 } else { 0.0 },
            stats.compressed_bytes_saved as f64,
        ];
        FAMILIES
            .iter()
            .zip(values)
            .map(|((name, help, counter), value)| {
                let mut family = if *counter {
                    FamilyBuilder::counter(name, help)
                } else {
                    FamilyBuilder::gauge(name, help)
                };
                family.value(&[("backend", &backend)], value);
                family.finish()
            })
            .collect()
    }
}
