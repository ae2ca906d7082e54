//! The cache's statistics in the Prometheus exposition.
//!
//! The cache owns its figures and keeps them as atomics readable without awaiting
//! (`CacheAdmin::counters`), so this collector reads them at scrape time. For Redis, keys,
//! bytes and evictions are those of the cache's latest `stats()` refresh (each collection
//! makes one). The cache crate stays free of any metrics dependency: this collector is the
//! orchestrator's. A near cache (`TieredCache`) adds its front's figures
//! (`perfkit_cache_front_*`, and hits split by tier); other caches leave those families out.
//! Keys and bytes are the namespace's own (`CacheStats::keys`); a Redis server's whole-server
//! figures are `perfkit_cache_server_*`. Per key prefix: `perfkit_cache_prefix_*{prefix}`.
//! A host's cache warmer adds the warming's figures (`perfkit_cache_warm*`, hot keys), read
//! from the warmer, which owns them.

use std::sync::Arc;

use perfkit_metrics::{FamilyBuilder, family_desc};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use perfkit_cache::{CacheAdmin, CacheWarmer, WarmingStats};

use crate::PerfkitError;

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

/// The near cache's front, when the cache has one (`CacheStats::near`).
const FRONT_FAMILIES: &[(&str, &str, bool)] = &[
    (
        "perfkit_cache_front_invalidations_total",
        "Keys the near cache's front dropped on an invalidation from Redis.",
        true,
    ),
    (
        "perfkit_cache_front_flushes_total",
        "Times the near cache's front was emptied (channel lost or reconnected, missed messages, flush, clear).",
        true,
    ),
    (
        "perfkit_cache_front_evictions_total",
        "Entries evicted from the near cache's front for space.",
        true,
    ),
    ("perfkit_cache_front_keys", "Entries in the near cache's front.", false),
    ("perfkit_cache_front_bytes", "Bytes in the near cache's front (keys and values).", false),
    ("perfkit_cache_front_max_bytes", "The near cache's front size limit in bytes.", false),
    (
        "perfkit_cache_front_tracking",
        "1 while Redis invalidations flow and the near cache's front serves.",
        false,
    ),
];

/// The warming's figures, when the host gave a warmer (`CacheStats::warming`).
const WARMING_FAMILIES: &[(&str, &str, bool)] = &[
    ("perfkit_cache_warm_runs_total", "Cache warming runs (at start-up, after a clear).", true),
    ("perfkit_cache_warmed_keys_total", "Keys loaded into the cache by warming.", true),
    ("perfkit_cache_warm_failed_keys_total", "Keys warming could not load (source failed).", true),
    (
        "perfkit_cache_warmed_hits_total",
        "Cache reads answered by a warmed entry before it was next computed.",
        true,
    ),
    (
        "perfkit_cache_hot_keys_tracked",
        "Keys whose accesses are counted for the TTL and warming.",
        false,
    ),
    (
        "perfkit_cache_hot_keys_untracked_reads_total",
        "Reads left uncounted because the hot-key table was full.",
        true,
    ),
];

/// Hits by tier: `front` (answered in process) and `back` (answered by Redis); their sum is
/// `perfkit_cache_hits_total`.
const TIER_HITS: (&str, &str) = (
    "perfkit_cache_tier_hits_total",
    "Cache reads that hit, by the tier that answered (near cache only).",
);

/// The Redis server's own figures (`CacheStats::server`: every application's, summed over
/// the primaries), kept apart from the namespace's keys and bytes.
const SERVER_FAMILIES: &[(&str, &str, bool)] = &[
    (
        "perfkit_cache_server_used_memory_bytes",
        "The Redis server's used_memory, every application's (summed over a cluster's primaries).",
        false,
    ),
    (
        "perfkit_cache_server_keys",
        "Keys in the Redis database, every application's (summed over a cluster's primaries).",
        false,
    ),
];

/// Per key prefix (`CacheStats::prefixes`), labelled with the backend and the prefix.
const PREFIX_FAMILIES: &[(&str, &str, bool)] = &[
    ("perfkit_cache_prefix_hits_total", "Cache reads that hit, by key prefix.", true),
    ("perfkit_cache_prefix_misses_total", "Cache reads that missed, by key prefix.", true),
    ("perfkit_cache_prefix_hit_rate", "Hits per read by key prefix since start-up, 0..1.", false),
    (
        "perfkit_cache_prefix_keys",
        "Keys held by key prefix (as perfkit_cache_keys counts them).",
        false,
    ),
];

/// The guide's name for the hit rate: hits over reads since start-up, the same figure as
/// `/cache/stats`'s `hitRate` (0 before any read). Unlabelled, as the guide shows it.
const HIT_RATE: (&str, &str) =
    ("cache_hit_rate", "Cache hits per read since start-up, 0..1, as the cache counts them.");

pub(crate) struct CacheStatsCollector {
    cache: Arc<dyn CacheAdmin>,
    warmer: Option<Arc<dyn CacheWarmer>>,
    descs: Vec<Desc>,
}

impl CacheStatsCollector {
    pub(crate) fn new(
        cache: Arc<dyn CacheAdmin>,
        warmer: Option<Arc<dyn CacheWarmer>>,
    ) -> Result<Self, PerfkitError> {
        let descs = FAMILIES
            .iter()
            .chain(FRONT_FAMILIES)
            .chain(SERVER_FAMILIES)
            .chain(WARMING_FAMILIES)
            .map(|(name, help, _)| family_desc(name, help, &["backend"]))
            .chain(
                PREFIX_FAMILIES
                    .iter()
                    .map(|(name, help, _)| family_desc(name, help, &["backend", "prefix"])),
            )
            .chain(std::iter::once(family_desc(TIER_HITS.0, TIER_HITS.1, &["backend", "tier"])))
            .chain(std::iter::once(family_desc(HIT_RATE.0, HIT_RATE.1, &[])))
            .collect::<Result<_, _>>()
            .map_err(|e| PerfkitError::Setup {
                part: "prometheus exposition",
                message: e.to_string(),
            })?;
        Ok(CacheStatsCollector { cache, warmer, descs })
    }
}

impl Collector for CacheStatsCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    #[allow(clippy::cast_precision_loss)]
    fn collect(&self) -> Vec<MetricFamily> {
        let stats = self.cache.counters();
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
        let mut hit_rate = FamilyBuilder::gauge(HIT_RATE.0, HIT_RATE.1);
        hit_rate.value(&[], stats.hit_rate);
        let mut families: Vec<MetricFamily> = FAMILIES
            .iter()
            .zip(values)
            .map(|(family, value)| one_value(*family, &backend, value))
            .chain(std::iter::once(hit_rate.finish()))
            .collect();
        if let Some(server) = &stats.server {
            let values = [server.used_memory as f64, server.db_keys as f64];
            families.extend(
                SERVER_FAMILIES
                    .iter()
                    .zip(values)
                    .map(|(family, value)| one_value(*family, &backend, value)),
            );
        }
        if !stats.prefixes.is_empty() {
            let mut builders: Vec<FamilyBuilder> = PREFIX_FAMILIES
                .iter()
                .map(|(name, help, counter)| {
                    if *counter {
                        FamilyBuilder::counter(name, help)
                    } else {
                        FamilyBuilder::gauge(name, help)
                    }
                })
                .collect();
            for prefix in &stats.prefixes {
                let labels = [("backend", backend.as_str()), ("prefix", prefix.prefix.as_str())];
                let values =
                    [prefix.hits as f64, prefix.misses as f64, prefix.hit_rate, prefix.keys as f64];
                for (builder, value) in builders.iter_mut().zip(values) {
                    builder.value(&labels, value);
                }
            }
            families.extend(builders.into_iter().map(FamilyBuilder::finish));
        }
        if let Some(near) = &stats.near {
            let values = [
                near.invalidations as f64,
                near.flushes as f64,
                near.evictions as f64,
                near.keys as f64,
                near.bytes as f64,
                near.max_bytes as f64,
                if near.tracking { 1.0 } else { 0.0 },
            ];
            families.extend(
                FRONT_FAMILIES
                    .iter()
                    .zip(values)
                    .map(|(family, value)| one_value(*family, &backend, value)),
            );
            let mut tiers = FamilyBuilder::counter(TIER_HITS.0, TIER_HITS.1);
            tiers.value(&[("backend", &backend), ("tier", "front")], near.front_hits as f64);
            tiers.value(&[("backend", &backend), ("tier", "back")], near.back_hits as f64);
            families.push(tiers.finish());
        }
        if let Some(warmer) = &self.warmer {
            families.extend(warming_families(&warmer.figures(), &backend));
        }
        families
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^53
fn warming_families(warming: &WarmingStats, backend: &str) -> Vec<MetricFamily> {
    let values = [
        warming.runs as f64,
        warming.warmed_keys as f64,
        warming.failed_keys as f64,
        warming.warmed_hits as f64,
        warming.tracked_keys as f64,
        warming.untracked_reads as f64,
    ];
    WARMING_FAMILIES
        .iter()
        .zip(values)
        .map(|(family, value)| one_value(*family, backend, value))
        .collect()
}

/// A family of one series labelled with the backend.
fn one_value((name, help, counter): (&str, &str, bool), backend: &str, value: f64) -> MetricFamily {
    let mut family =
        if counter { FamilyBuilder::counter(name, help) } else { FamilyBuilder::gauge(name, help) };
    family.value(&[("backend", backend)], value);
    family.finish()
}
