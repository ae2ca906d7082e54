//! Figures per key prefix (the guide's "analyze cache key patterns"): hits, misses and keys for
//! each prefix of the application's keys, so a low hit rate can be traced to the keys behind
//! it.
//!
//! A key's prefix is its text up to and including its `depth`-th `:` (`user:` for
//! `user:1:roles` at depth 1, `user:1:` at depth 2; fewer separators give a shorter prefix,
//! none gives [`NO_PREFIX`]). Prefixes come from the application's keys, so the set is capped:
//! the first [`KeyPrefixConfig::max_prefixes`] seen are tracked, later ones are counted
//! together under [`OTHER_PREFIXES`]. The hot path is one scan for separators, a hash and a
//! few atomic loads in a lock-free [`BoundedTable`]; counting keys is the backend's (exact
//! for memory, the namespace count for Redis), through the same table, so both agree on
//! which prefixes are tracked.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use perfkit_core::BoundedTable;
use serde::{Deserialize, Serialize};

/// The bucket of keys without a `:`. It cannot be a prefix: every prefix ends with `:`.
pub const NO_PREFIX: &str = "(none)";
/// The bucket of prefixes seen after the cap was reached.
pub const OTHER_PREFIXES: &str = "(other)";

/// The separator between a key's segments.
const SEPARATOR: u8 = b':';
/// `ttl_ms` before any write under the prefix.
const NO_WRITE: u64 = 0;
/// `ttl_ms` of a write without expiry.
const NO_EXPIRY: u64 = u64::MAX;

/// How keys are grouped into prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPrefixConfig {
    /// Segments per prefix; 0 turns per-prefix figures off.
    pub depth: u8,
    /// Prefixes tracked at most; later ones are counted under [`OTHER_PREFIXES`].
    pub max_prefixes: usize,
}

impl Default for KeyPrefixConfig {
    fn default() -> Self {
        KeyPrefixConfig { depth: 1, max_prefixes: 64 }
    }
}

/// One prefix's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyPrefixStats {
    /// The prefix (`user:`), [`NO_PREFIX`] or [`OTHER_PREFIXES`].
    pub prefix: String,
    /// Reads under the prefix that found a value.
    pub hits: u64,
    /// Reads under the prefix that found nothing.
    pub misses: u64,
    /// `hits / (hits + misses)`, 0 before any read.
    pub hit_rate: f64,
    /// Keys held under the prefix, counted as the cache's `keys` are (an estimate on Redis).
    pub keys: u64,
    /// The TTL of the latest write under the prefix, in milliseconds; absent before a write
    /// and for writes without expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
}

#[derive(Debug, Default)]
struct PrefixCounters {
    hits: AtomicU64,
    misses: AtomicU64,
    ttl_ms: AtomicU64,
}

/// Keys per bucket name, from a count of the backend's keys (bounded: at most the cap plus
/// the two buckets).
pub(crate) type KeyTally = HashMap<String, u64>;

/// The per-prefix counters of one cache handle.
#[derive(Debug)]
pub(crate) struct KeyPrefixes {
    depth: usize,
    table: BoundedTable<PrefixCounters>,
    none: PrefixCounters,
    other: PrefixCounters,
}

impl KeyPrefixes {
    pub(crate) fn new(config: KeyPrefixConfig) -> Self {
        KeyPrefixes {
            depth: usize::from(config.depth),
            table: BoundedTable::new(config.max_prefixes),
            none: PrefixCounters::default(),
            other: PrefixCounters::default(),
        }
    }

    /// Whether prefixes are tracked at all.
    pub(crate) fn enabled(&self) -> bool {
        self.depth > 0
    }

    /// The bucket of `key` (relative to the namespace), admitting a new prefix while there is
    /// room: the prefix itself, [`NO_PREFIX`] or [`OTHER_PREFIXES`].
    pub(crate) fn bucket<'k>(&self, key: &'k str) -> &'k str {
        match prefix_of(key, self.depth) {
            None => NO_PREFIX,
            Some(prefix) => {
                if self.table.get_or_insert_with(prefix, PrefixCounters::default).is_some() {
                    prefix
                } else {
                    OTHER_PREFIXES
                }
            }
        }
    }

    #[inline]
    fn counters(&self, key: &str) -> Option<&PrefixCounters> {
        if self.depth == 0 {
            return None;
        }
        Some(match prefix_of(key, self.depth) {
            None => &self.none,
            Some(prefix) => self
                .table
                .get_or_insert_with(prefix, PrefixCounters::default)
                .unwrap_or(&self.other),
        })
    }

    /// A read of `key`, counted under its prefix.
    #[inline]
    pub(crate) fn read(&self, key: &str, hit: bool) {
        if let Some(counters) = self.counters(key) {
            let counter = if hit { &counters.hits } else { &counters.misses };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A write of `key` with `ttl` (`None`: no expiry), kept as its prefix's latest TTL.
    #[inline]
    pub(crate) fn wrote(&self, key: &str, ttl: Option<Duration>) {
        if let Some(counters) = self.counters(key) {
            let ms = ttl.map_or(NO_EXPIRY, |ttl| {
                u64::try_from(ttl.as_millis()).unwrap_or(NO_EXPIRY - 1).clamp(1, NO_EXPIRY - 1)
            });
            // A load first: a hot prefix written with one TTL keeps its cache line shared.
            if counters.ttl_ms.load(Ordering::Relaxed) != ms {
                counters.ttl_ms.store(ms, Ordering::Relaxed);
            }
        }
    }

    /// Every bucket with a read, a write or a key, most read first; keys from `tally`.
    pub(crate) fn figures(&self, tally: &KeyTally) -> Vec<KeyPrefixStats> {
        if self.depth == 0 {
            return Vec::new();
        }
        let named =
            self.table.iter().chain([(NO_PREFIX, &self.none), (OTHER_PREFIXES, &self.other)]);
        let mut figures: Vec<KeyPrefixStats> = named
            .map(|(prefix, counters)| {
                let hits = counters.hits.load(Ordering::Relaxed);
                let misses = counters.misses.load(Ordering::Relaxed);
                let reads = hits + misses;
                #[allow(clippy::cast_precision_loss)] // a ratio; exact to 2^53 reads
                let hit_rate = if reads == 0 { 0.0 } else { hits as f64 / reads as f64 };
                let ttl_ms = match counters.ttl_ms.load(Ordering::Relaxed) {
                    NO_WRITE | NO_EXPIRY => None,
                    ms => Some(ms),
                };
                let keys = tally.get(prefix).copied().unwrap_or(0);
                KeyPrefixStats { prefix: prefix.to_owned(), hits, misses, hit_rate, keys, ttl_ms }
            })
            .filter(|f| {
                f.hits + f.misses + f.keys > 0
                    || f.ttl_ms.is_some()
                    || tally.contains_key(&f.prefix)
            })
            .collect();
        figures.sort_by(|a, b| {
            (b.hits + b.misses).cmp(&(a.hits + a.misses)).then_with(|| a.prefix.cmp(&b.prefix))
        });
        figures
    }
}

/// Adds one key of `bucket` to `tally`, allocating only for a bucket new to it.
pub(crate) fn count_key(tally: &mut KeyTally, bucket: &str) {
    match tally.get_mut(bucket) {
        Some(n) => *n += 1,
        None => {
            tally.insert(bucket.to_owned(), 1);
        }
    }
}

/// The text of `key` up to and including its `depth`-th separator (or its last one, when it
/// has fewer); `None` when it has none.
#[inline]
fn prefix_of(key: &str, depth: usize) -> Option<&str> {
    let mut end = None;
    let mut seen = 0;
    for (i, byte) in key.bytes().enumerate() {
        if byte == SEPARATOR {
            end = Some(i + 1);
            seen += 1;
            if seen == depth {
                break;
            }
        }
    }
    end.map(|end| &key[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_the_key_up_to_its_depth_th_separator() {
        assert_eq!(prefix_of("user:1:roles", 1), Some("user:"));
        assert_eq!(prefix_of("user:1:roles", 2), Some("user:1:"));
        assert_eq!(prefix_of("user:1", 2), Some("user:"), "never the whole key");
        assert_eq!(prefix_of("greeting", 1), None);
        assert_eq!(prefix_of(":x", 1), Some(":"));
    }

    #[test]
    fn reads_and_ttls_are_counted_per_prefix_with_a_capped_set() {
        let prefixes = KeyPrefixes::new(KeyPrefixConfig { depth: 1, max_prefixes: 2 });
        prefixes.read("user:1", true);
        prefixes.read("user:2", false);
        prefixes.read("post:1", true);
        prefixes.read("tag:1", false); // the cap is reached: counted under (other)
        prefixes.read("greeting", true);
        prefixes.wrote("user:3", Some(Duration::from_secs(60)));
        prefixes.wrote("post:2", None);
        let mut tally = KeyTally::new();
        for key in ["user:1", "user:2", "tag:9", "greeting"] {
            count_key(&mut tally, prefixes.bucket(key));
        }
        let figures = prefixes.figures(&tally);
        let by = |prefix: &str| figures.iter().find(|f| f.prefix == prefix).unwrap().clone();
        let user = by("user:");
        assert_eq!((user.hits, user.misses, user.keys, user.ttl_ms), (1, 1, 2, Some(60_000)));
        assert!((user.hit_rate - 0.5).abs() < f64::EPSILON);
        assert_eq!((by("post:").hits, by("post:").ttl_ms), (1, None));
        assert_eq!((by(OTHER_PREFIXES).misses, by(OTHER_PREFIXES).keys), (1, 1));
        assert_eq!((by(NO_PREFIX).hits, by(NO_PREFIX).keys), (1, 1));
        assert_eq!(figures[0].prefix, "user:", "most read first");
        assert_eq!(figures.len(), 4);
    }

    #[test]
    fn depth_zero_tracks_nothing() {
        let prefixes = KeyPrefixes::new(KeyPrefixConfig { depth: 0, max_prefixes: 8 });
        prefixes.read("user:1", true);
        assert!(!prefixes.enabled());
        assert!(prefixes.figures(&KeyTally::new()).is_empty());
    }
}
