//! The host's own caches in the Prometheus exposition: `perfkit_host_cache_*{cache}`, read at
//! scrape time from the counters the host reports into ([`HostCaches`]), one series per name.

use std::sync::Arc;

use perfkit_cache::HostCaches;
use perfkit_metrics::{FamilyBuilder, family_desc};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use crate::PerfkitError;

/// Host caches kept by name; reports under further names are counted as `(other)`.
pub(crate) const MAX_HOST_CACHES: usize = 32;

const HITS: (&str, &str) = (
    "perfkit_host_cache_hits_total",
    "Reads of a host's own cache that hit, as the host reported them.",
);
const MISSES: (&str, &str) = (
    "perfkit_host_cache_misses_total",
    "Reads of a host's own cache that missed, as the host reported them.",
);
const WRITES: (&str, &str) =
    ("perfkit_host_cache_writes_total", "Writes to a host's own cache, as the host reported them.");
const HIT_RATE: (&str, &str) =
    ("perfkit_host_cache_hit_rate", "Hits per read of a host's own cache since start-up, 0..1.");

pub(crate) struct HostCachesCollector {
    caches: Arc<HostCaches>,
    descs: Vec<Desc>,
}

impl HostCachesCollector {
    pub(crate) fn new(caches: Arc<HostCaches>) -> Result<Self, PerfkitError> {
        let descs = [HITS, MISSES, WRITES, HIT_RATE]
            .iter()
            .map(|(name, help)| family_desc(name, help, &["cache"]))
            .collect::<Result<_, _>>()
            .map_err(|e| PerfkitError::Setup {
                part: "prometheus exposition",
                message: e.to_string(),
            })?;
        Ok(HostCachesCollector { caches, descs })
    }
}

impl Collector for HostCachesCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    #[allow(clippy::cast_precision_loss)]
    fn collect(&self) -> Vec<MetricFamily> {
        let stats = self.caches.stats();
        if stats.is_empty() {
            return Vec::new();
        }
        let mut hits = FamilyBuilder::counter(HITS.0, HITS.1);
        let mut misses = FamilyBuilder::counter(MISSES.0, MISSES.1);
        let mut writes = FamilyBuilder::counter(WRITES.0, WRITES.1);
        let mut hit_rate = FamilyBuilder::gauge(HIT_RATE.0, HIT_RATE.1);
        for cache in &stats {
            let labels = [("cache", cache.name.as_str())];
            hits.value(&labels, cache.hits as f64);
            misses.value(&labels, cache.misses as f64);
            writes.value(&labels, cache.writes as f64);
            hit_rate.value(&labels, cache.hit_rate);
        }
        vec![hits.finish(), misses.finish(), writes.finish(), hit_rate.finish()]
    }
}
