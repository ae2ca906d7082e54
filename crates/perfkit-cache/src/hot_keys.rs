//! Which keys are hot: access counts per key, kept in the process in a bounded table and
//! aged over the TTL policy's window (each window halves every count, so a key hot
//! yesterday counts half today). They drive the access-count TTL without a round trip per
//! read, name the keys to warm on start and after a clear, and can be saved and restored so
//! a restarted instance warms what was hot before. The warming figures (runs, keys warmed,
//! later hits on them) are kept here too: one owner, read by `/cache/stats` and the
//! exposition alike.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use perfkit_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::CacheError;

/// Shards of the table: a read locks one, so concurrent reads of different keys rarely
/// wait on each other.
const SHARDS: usize = 16;
/// Most keys a table may be asked to track.
pub const MAX_HOT_KEYS_CAPACITY: usize = 1_000_000;

/// A key and its access count, as [`HotKeys::hottest`] lists them and a saved list holds
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HotKey {
    /// The key, as the application names it (without the namespace).
    pub key: String,
    /// Its accesses counted in the window (aged).
    pub accesses: u64,
}

/// Why a warming ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum WarmReason {
    /// At start-up, from the keys saved by the previous run.
    Start,
    /// After the cache was cleared, from the keys counted since start.
    AfterClear,
}

/// One warming run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WarmRun {
    /// Why it ran.
    pub reason: WarmReason,
    /// When it finished.
    pub at: Timestamp,
    /// Keys loaded into the cache.
    pub warmed: u64,
    /// Keys whose source failed (the rest were still warmed).
    pub failed: u64,
}

/// The warming figures: `/cache/stats`'s `warming` section and the `cache_warming_*` series.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WarmingStats {
    /// Keys whose accesses are counted now (at most the table's capacity).
    pub tracked_keys: u64,
    /// Reads of keys left uncounted because the table was full.
    pub untracked_reads: u64,
    /// Warming runs since start.
    pub runs: u64,
    /// Keys warmed, over every run.
    pub warmed_keys: u64,
    /// Keys a run could not warm, over every run.
    pub failed_keys: u64,
    /// Reads answered by a warmed entry before it was next computed.
    pub warmed_hits: u64,
    /// The latest run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<WarmRun>,
}

/// One shard of the table: key to entry, under its own lock.
type Shard = Mutex<HashMap<Box<str>, Entry>>;

#[derive(Debug, Clone, Copy)]
struct Entry {
    accesses: u64,
    /// Loaded by a warming and not computed since: its hits are the warming's.
    warmed: bool,
}

/// Access counts per key, bounded, aged, with the warming figures.
///
/// ```
/// use std::time::Duration;
/// use perfkit_cache::{HotKeys, WarmReason};
///
/// let hot = HotKeys::new(1_000, Duration::from_secs(86_400))?;
/// for _ in 0..3 { hot.record_read("page:1", false); }
/// hot.record_read("page:2", false);
/// assert_eq!(hot.accesses("page:1"), 3);
/// let hottest = hot.hottest(1);
/// assert_eq!(hottest[0].key, "page:1");
/// hot.mark_warmed(WarmReason::Start, &["page:1".to_owned()], 0);
/// hot.record_read("page:1", true);
/// assert_eq!((hot.stats().warmed_keys, hot.stats().warmed_hits), (1, 1));
/// # Ok::<_, perfkit_cache::CacheError>(())
/// ```
#[derive(Debug)]
pub struct HotKeys {
    shards: Box<[Shard]>,
    per_shard: usize,
    hasher: RandomState,
    window: Duration,
    window_started: Mutex<Instant>,
    untracked_reads: AtomicU64,
    runs: AtomicU64,
    warmed_keys: AtomicU64,
    failed_keys: AtomicU64,
    warmed_hits: AtomicU64,
    last_run: Mutex<Option<WarmRun>>,
}

/// A lock whose holder panicked is still a table of counts: go on with it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl HotKeys {
    /// A table of at most `capacity` keys (1..=[`MAX_HOT_KEYS_CAPACITY`]) whose counts halve
    /// every `window` (at least a second).
    ///
    /// # Errors
    /// [`CacheError::InvalidConfig`] for a capacity or window out of range.
    pub fn new(capacity: usize, window: Duration) -> Result<HotKeys, CacheError> {
        if !(1..=MAX_HOT_KEYS_CAPACITY).contains(&capacity) {
            return Err(CacheError::InvalidConfig(format!(
                "the hot-key table's capacity must be in 1..={MAX_HOT_KEYS_CAPACITY}, got {capacity}"
            )));
        }
        if window < Duration::from_secs(1) {
            return Err(CacheError::InvalidConfig(format!(
                "the hot-key window must be at least 1s, got {window:?}"
            )));
        }
        Ok(HotKeys {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS),
            hasher: RandomState::new(),
            window,
            window_started: Mutex::new(Instant::now()),
            untracked_reads: AtomicU64::new(0),
            runs: AtomicU64::new(0),
            warmed_keys: AtomicU64::new(0),
            failed_keys: AtomicU64::new(0),
            warmed_hits: AtomicU64::new(0),
            last_run: Mutex::new(None),
        })
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, HashMap<Box<str>, Entry>> {
        // The modulo of a 64-bit hash by 16 fits any usize.
        #[allow(clippy::cast_possible_truncation)]
        let index = (self.hasher.hash_one(key) % SHARDS as u64) as usize;
        lock(&self.shards[index])
    }

    /// Counts one read of `key`. A hit on a warmed entry is the warming's hit; a miss means
    /// the entry is computed anew, so it is no longer the warming's. A key arriving when its
    /// shard is full is not tracked (counted in `untrackedReads`).
    pub fn record_read(&self, key: &str, hit: bool) {
        let mut shard = self.shard(key);
        if let Some(entry) = shard.get_mut(key) {
            entry.accesses = entry.accesses.saturating_add(1);
            if entry.warmed {
                if hit {
                    self.warmed_hits.fetch_add(1, Ordering::Relaxed);
                } else {
                    entry.warmed = false;
                }
            }
        } else if shard.len() < self.per_shard {
            shard.insert(key.into(), Entry { accesses: 1, warmed: false });
        } else {
            self.untracked_reads.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The accesses counted for `key` (0 when untracked).
    pub fn accesses(&self, key: &str) -> u64 {
        self.shard(key).get(key).map_or(0, |entry| entry.accesses)
    }

    /// The `n` most accessed keys, most first (ties by key). Ages the counts first when a
    /// window has passed.
    pub fn hottest(&self, n: usize) -> Vec<HotKey> {
        self.age();
        let mut keys: Vec<HotKey> = self
            .shards
            .iter()
            .flat_map(|shard| {
                lock(shard)
                    .iter()
                    .map(|(key, entry)| HotKey { key: key.to_string(), accesses: entry.accesses })
                    .collect::<Vec<_>>()
            })
            .collect();
        keys.sort_by(|a, b| b.accesses.cmp(&a.accesses).then_with(|| a.key.cmp(&b.key)));
        keys.truncate(n);
        keys
    }

    /// Halves every count once per window passed; keys down to zero leave the table.
    fn age(&self) {
        let mut started = lock(&self.window_started);
        let mut halvings = 0_u32;
        while started.elapsed() >= self.window && halvings < 64 {
            *started += self.window;
            halvings += 1;
        }
        if halvings == 0 {
            return;
        }
        for shard in &*self.shards {
            lock(shard).retain(|_, entry| {
                entry.accesses = entry.accesses.checked_shr(halvings).unwrap_or(0);
                entry.accesses > 0
            });
        }
    }

    /// Adds a saved list's counts (a previous run's [`hottest`](Self::hottest)), each key at
    /// least as hot as it was saved, within the table's bound.
    pub fn restore(&self, keys: &[HotKey]) {
        for saved in keys {
            let mut shard = self.shard(&saved.key);
            if let Some(entry) = shard.get_mut(saved.key.as_str()) {
                entry.accesses = entry.accesses.max(saved.accesses);
            } else if shard.len() < self.per_shard {
                shard.insert(
                    saved.key.as_str().into(),
                    Entry { accesses: saved.accesses, warmed: false },
                );
            }
        }
    }

    /// Records a warming run: `warmed` keys were loaded into the cache (their next hits are
    /// the warming's), `failed` could not be.
    pub fn mark_warmed(&self, reason: WarmReason, warmed: &[String], failed: u64) {
        for key in warmed {
            let mut shard = self.shard(key);
            if let Some(entry) = shard.get_mut(key.as_str()) {
                entry.warmed = true;
            } else if shard.len() < self.per_shard {
                shard.insert(key.as_str().into(), Entry { accesses: 0, warmed: true });
            }
        }
        let count = warmed.len() as u64;
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.warmed_keys.fetch_add(count, Ordering::Relaxed);
        self.failed_keys.fetch_add(failed, Ordering::Relaxed);
        *lock(&self.last_run) = Some(WarmRun {
            reason,
            at: Timestamp::from_system_time(SystemTime::now()),
            warmed: count,
            failed,
        });
    }

    /// The figures as they stand (no I/O: fit for a scrape).
    pub fn stats(&self) -> WarmingStats {
        let tracked: usize = self.shards.iter().map(|shard| lock(shard).len()).sum();
        WarmingStats {
            tracked_keys: tracked as u64,
            untracked_reads: self.untracked_reads.load(Ordering::Relaxed),
            runs: self.runs.load(Ordering::Relaxed),
            warmed_keys: self.warmed_keys.load(Ordering::Relaxed),
            failed_keys: self.failed_keys.load(Ordering::Relaxed),
            warmed_hits: self.warmed_hits.load(Ordering::Relaxed),
            last_run: lock(&self.last_run).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(capacity: usize) -> HotKeys {
        HotKeys::new(capacity, Duration::from_secs(3600)).unwrap()
    }

    #[test]
    fn the_most_read_keys_come_first() {
        let hot = table(100);
        for (key, reads) in [("a", 1), ("b", 5), ("c", 3), ("d", 3)] {
            (0..reads).for_each(|_| hot.record_read(key, false));
        }
        let names: Vec<String> = hot.hottest(3).into_iter().map(|k| k.key).collect();
        assert_eq!(names, ["b", "c", "d"]);
        assert_eq!(hot.accesses("b"), 5);
        assert_eq!(hot.accesses("nope"), 0);
    }

    #[test]
    fn the_table_is_bounded_and_counts_what_it_leaves_out() {
        let hot = table(SHARDS); // one key per shard
        for i in 0..1_000 {
            hot.record_read(&format!("key:{i}"), false);
        }
        let stats = hot.stats();
        assert!(stats.tracked_keys <= SHARDS as u64, "{stats:?}");
        assert_eq!(stats.tracked_keys + stats.untracked_reads, 1_000);
        hot.restore(&[HotKey { key: "late".into(), accesses: 9 }]);
        assert!(hot.stats().tracked_keys <= SHARDS as u64);
    }

    #[test]
    fn hits_count_for_the_warming_until_the_entry_is_computed_again() {
        let hot = table(100);
        hot.mark_warmed(WarmReason::AfterClear, &["k".to_owned()], 2);
        hot.record_read("k", true);
        hot.record_read("k", true);
        hot.record_read("k", false); // expired or deleted: computed anew
        hot.record_read("k", true);
        let stats = hot.stats();
        assert_eq!((stats.runs, stats.warmed_keys, stats.failed_keys), (1, 1, 2));
        assert_eq!(stats.warmed_hits, 2);
        assert_eq!(
            stats.last_run.map(|run| (run.reason, run.warmed)),
            Some((WarmReason::AfterClear, 1))
        );
    }

    #[test]
    fn a_restored_list_is_as_hot_as_it_was_saved() {
        let hot = table(100);
        hot.record_read("a", false);
        hot.restore(&[
            HotKey { key: "a".into(), accesses: 7 },
            HotKey { key: "b".into(), accesses: 4 },
        ]);
        assert_eq!(
            hot.hottest(2),
            [HotKey { key: "a".into(), accesses: 7 }, HotKey { key: "b".into(), accesses: 4 }]
        );
    }

    #[test]
    fn each_window_halves_the_counts() {
        let hot = HotKeys::new(100, Duration::from_secs(1)).unwrap();
        (0..8).for_each(|_| hot.record_read("a", false));
        hot.record_read("b", false);
        *lock(&hot.window_started) -= Duration::from_millis(2_500); // two windows ago
        assert_eq!(hot.hottest(5), [HotKey { key: "a".into(), accesses: 2 }]);
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        assert!(HotKeys::new(0, Duration::from_secs(60)).is_err());
        assert!(HotKeys::new(MAX_HOT_KEYS_CAPACITY + 1, Duration::from_secs(60)).is_err());
        assert!(HotKeys::new(10, Duration::from_millis(10)).is_err());
    }
}
