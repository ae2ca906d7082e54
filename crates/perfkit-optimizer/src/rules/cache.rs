//! The cache rule: optimize the cache when its hit rate is below its threshold or memory usage is
//! above its own; with a low hit rate, name the key prefixes behind it and what to change for
//! each (the guide's "analyze cache key patterns").

use perfkit_control::CachePrefixFigures;
use perfkit_core::{MetricsSnapshot, Severity};

use super::{Trigger, percent};
use crate::{CheckHistory, Figures, OptimizerConfig};

/// Prefixes named in one recommendation, lowest hit rate first.
const LISTED: usize = 5;
/// Reads a prefix needs before its hit rate is judged: fewer say nothing yet.
const MIN_PREFIX_READS: u64 = 20;
/// A TTL under this is called short: raising it is the first thing to try.
const SHORT_TTL_MS: u64 = 5 * 60 * 1000;

/// Optimize the cache when its hit rate is below the threshold or memory is above its own.
pub(super) fn trigger(
    snapshot: &MetricsSnapshot,
    history: &CheckHistory,
    config: &OptimizerConfig,
) -> Option<Trigger> {
    let cfg = &config.cache_optimization;
    let hit_rate = snapshot.get(perfkit_core::Metric::CacheHitRate);
    let memory = snapshot.get(perfkit_core::Metric::MemoryUsage);
    let low_hits = hit_rate.filter(|h| *h < cfg.hit_rate_threshold);
    let high_memory = memory.filter(|m| *m > cfg.memory_threshold);

    let mut reasons = Vec::new();
    let mut figures = Figures::new();
    if let Some(h) = low_hits {
        reasons.push(format!(
            "cache hit rate {} is below the {} threshold",
            percent(h),
            percent(cfg.hit_rate_threshold)
        ));
        figures = figures.with("cacheHitRate", h).with("hitRateThreshold", cfg.hit_rate_threshold);
    }
    if let Some(m) = high_memory {
        reasons.push(format!(
            "memory usage {} is above the cache's {} threshold",
            percent(m),
            percent(cfg.memory_threshold)
        ));
        figures = figures.with("memoryUsage", m).with("memoryThreshold", cfg.memory_threshold);
    }
    if reasons.is_empty() {
        return None;
    }
    let mut effect = vec!["drop expired and cold entries so hot keys stay resident"];
    if high_memory.is_some() && !cfg.evict_prefixes.is_empty() {
        effect.push("evict the configured prefixes to free memory");
    }
    let details = if low_hits.is_some() {
        prefix_advice(&history.observed.cache_prefixes, cfg.hit_rate_threshold)
    } else {
        Vec::new()
    };
    Some(Trigger {
        reason: reasons.join("; "),
        figures,
        expected_effect: effect.join(", "),
        priority: if high_memory.is_some() { Severity::High } else { Severity::Medium },
        details,
    })
}

/// One line per prefix read often enough whose hit rate is below `threshold`, lowest first:
/// "`user:*` hits 12.0% of 340 reads, TTL 60 s: raise it".
fn prefix_advice(prefixes: &[CachePrefixFigures], threshold: f64) -> Vec<String> {
    #[allow(clippy::cast_precision_loss)] // a ratio; exact to 2^53 reads
    let mut low: Vec<(f64, &CachePrefixFigures)> = prefixes
        .iter()
        .filter(|p| p.hits + p.misses >= MIN_PREFIX_READS)
        .map(|p| (p.hits as f64 / (p.hits + p.misses) as f64, p))
        .filter(|(hit_rate, _)| *hit_rate < threshold)
        .collect();
    low.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.prefix.cmp(&b.1.prefix)));
    low.into_iter()
        .take(LISTED)
        .map(|(hit_rate, p)| {
            let pattern = if p.prefix.ends_with(':') {
                format!("`{}*`", p.prefix)
            } else {
                format!("keys {}", p.prefix)
            };
            let what = match p.ttl_ms {
                Some(ms) if ms < SHORT_TTL_MS => format!("TTL {}: raise it", seconds(ms)),
                Some(ms) => format!(
                    "TTL {}: the keys are read before they are written; warm them or check the keys asked for",
                    seconds(ms)
                ),
                None => "no expiry: the keys are read before they are written; warm them or check the keys asked for".to_owned(),
            };
            format!(
                "{pattern} hits {} of {} reads ({} keys), {what}",
                percent(hit_rate),
                p.hits + p.misses,
                p.keys
            )
        })
        .collect()
}

/// `60 s`, or `250 ms` below a second.
fn seconds(ms: u64) -> String {
    if ms < 1000 { format!("{ms} ms") } else { format!("{} s", ms / 1000) }
}

#[cfg(test)]
mod tests {
    use perfkit_core::Timestamp;

    use super::*;

    #[test]
    fn triggers_on_low_hit_rate_or_high_memory_only() {
        // (hit rate, memory, triggered, priority)
        let table = [
            (None, None, None),
            (Some(0.9), Some(0.5), None),
            (Some(0.7), Some(0.8), None), // at the thresholds: not beyond them
            (Some(0.69), None, Some(Severity::Medium)),
            (None, Some(0.81), Some(Severity::High)),
            (Some(0.3), Some(0.95), Some(Severity::High)),
            (Some(f64::NAN), None, None),
        ];
        let config = OptimizerConfig::default();
        for (hit, memory, expected) in table {
            let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
            snapshot.cache_hit_rate = hit;
            snapshot.memory_usage = memory;
            let got = trigger(&snapshot, &CheckHistory::new(), &config).map(|t| t.priority);
            assert_eq!(got, expected, "hit {hit:?} memory {memory:?}");
        }
    }

    #[test]
    fn reason_and_figures_name_what_crossed() {
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        snapshot.cache_hit_rate = Some(0.52);
        let t = trigger(&snapshot, &CheckHistory::new(), &OptimizerConfig::default()).unwrap();
        assert_eq!(t.reason, "cache hit rate 52.0% is below the 70.0% threshold");
        assert_eq!(t.figures.get("cacheHitRate"), Some(0.52));
        assert_eq!(t.figures.get("hitRateThreshold"), Some(0.7));
        assert_eq!(t.figures.get("memoryUsage"), None);
    }

    #[test]
    fn a_low_hit_rate_names_the_prefixes_behind_it() {
        let prefix = |name: &str, hits, misses, ttl_ms| CachePrefixFigures {
            prefix: name.to_owned(),
            hits,
            misses,
            keys: 7,
            ttl_ms,
        };
        let mut history = CheckHistory::new();
        history.observed.cache_prefixes = vec![
            prefix("user:", 12, 88, Some(60_000)),
            prefix("post:", 95, 5, Some(60_000)), // hits well: not named
            prefix("tag:", 1, 9, Some(60_000)),   // too few reads to judge
            prefix("session:", 30, 70, None),
            prefix("(other)", 20, 80, Some(3_600_000)),
        ];
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        snapshot.cache_hit_rate = Some(0.4);
        let t = trigger(&snapshot, &history, &OptimizerConfig::default()).unwrap();
        assert_eq!(t.details.len(), 3, "{:?}", t.details);
        assert_eq!(t.details[0], "`user:*` hits 12.0% of 100 reads (7 keys), TTL 60 s: raise it");
        assert!(t.details[1].starts_with("keys (other) hits 20.0%"), "{:?}", t.details);
        assert!(
            t.details[2].starts_with("`session:*` hits 30.0% of 100 reads (7 keys), no expiry")
        );

        // A hit rate above the threshold names nothing.
        snapshot.cache_hit_rate = Some(0.9);
        assert!(trigger(&snapshot, &history, &OptimizerConfig::default()).is_none());
    }
}
