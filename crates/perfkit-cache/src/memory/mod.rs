//! The in-memory backend on moka.

mod entry;
mod stored_frame;

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use moka::notification::RemovalCause;
use moka::ops::compute::Op;
use moka::sync::Cache as MokaCache;
use perfkit_core::{Clock, SystemClock};

use self::entry::{Entry, EntryExpiry};
use self::stored_frame::StoredFrame;
use crate::key_prefixes::{KeyPrefixes, KeyTally, count_key};
use crate::reserved::Scope;
use crate::stats::Counters;
use crate::{
    Backend, Cache, CacheAdmin, CacheError, CacheStats, Footprint, KeyPrefixConfig, OptimizeReport,
    frame,
};

/// Settings of a [`MemoryCache`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryConfig {
    /// The size limit: keys plus stored frames, in bytes. Beyond it, entries are evicted
    /// (TinyLFU admission, LRU eviction) and counted.
    pub max_bytes: u64,
    /// The TTL of writes that pass `None`; `None` here means such entries never expire.
    pub default_ttl: Option<Duration>,
    /// Values of at least this many bytes are lz4-compressed. The default, 16 KiB, keeps
    /// typical API answers (a few KiB of JSON) as they are: in process memory a hit's lz4
    /// decode (0.6 µs for 4 KiB, a tenth of a cached demo page's server time) costs more
    /// than the memory it saves is worth. Lower it to hold more values in `max_bytes`.
    pub compression_threshold: usize,
    /// The size limit of the separate store that holds perfkit's own keys
    /// ([`CacheAdmin::reserved`]), so they never compete with the application's for space.
    pub reserved_max_bytes: u64,
    /// How reads and keys are counted per key prefix (`CacheStats::prefixes`).
    pub key_prefixes: KeyPrefixConfig,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            max_bytes: 64 * 1024 * 1024,
            default_ttl: Some(Duration::from_secs(300)),
            compression_threshold: 16 * 1024,
            reserved_max_bytes: 16 * 1024 * 1024,
            key_prefixes: KeyPrefixConfig::default(),
        }
    }
}

/// The embedded cache: moka with per-entry TTL, a byte-size limit and exact statistics.
///
/// The store belongs to this process, so it needs no namespace; pattern operations match key
/// prefixes. perfkit's own keys ([`reserved`](CacheAdmin::reserved)) live in a second store
/// of [`reserved_max_bytes`](MemoryConfig::reserved_max_bytes) on the same clock, so the
/// application's figures (keys, bytes, hits, misses) never include them.
///
/// ```
/// use std::time::Duration;
/// use perfkit_cache::{Cache, CacheAdmin, MemoryCache, MemoryConfig};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let cache = MemoryCache::new(MemoryConfig { max_bytes: 1 << 20, ..MemoryConfig::default() });
/// cache.set("k", b"v", None).await?;
/// let stats = cache.stats().await;
/// assert_eq!((stats.keys, stats.bytes), (1, 2));
/// # Ok::<_, perfkit_cache::CacheError>(())
/// # }).unwrap();
/// ```
pub struct MemoryCache {
    /// moka's sync cache: it never waits on I/O, and runs its housekeeping inline on the
    /// calling thread just as the future cache does, while sparing every call the future
    /// cache's state machines (768 bytes for a get, 1 KiB for an insert) and the boxing that
    /// carries them through our async trait.
    store: MokaCache<String, Entry>,
    config: MemoryConfig,
    clock: Arc<dyn Clock>,
    /// Whether reads check expiry on `clock`. On the system clock moka's own per-entry
    /// deadline (the same TTL, counted on the monotonic clock it reads anyway) already hides
    /// expired entries, so reads skip a second clock reading; an injected clock is checked on
    /// every read so tests can expire entries by moving it.
    reads_check_clock: bool,
    counters: Arc<Counters>,
    /// Reads, TTLs and keys per prefix (off on the reserved store).
    prefixes: KeyPrefixes,
    scope: Scope,
    /// The store of perfkit's own keys, made on first use (application handle only).
    reserved: OnceLock<Arc<MemoryCache>>,
}

impl Default for MemoryCache {
    fn default() -> Self {
        MemoryCache::new(MemoryConfig::default())
    }
}

impl fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCache").field("config", &self.config).finish_non_exhaustive()
    }
}

impl MemoryCache {
    /// A cache on the system clock.
    #[must_use]
    pub fn new(config: MemoryConfig) -> Self {
        MemoryCache::build(config, Arc::new(SystemClock), false, Scope::Application)
    }

    /// A cache whose TTLs run on `clock` (a `ManualClock` in tests).
    #[must_use]
    pub fn with_clock(config: MemoryConfig, clock: Arc<dyn Clock>) -> Self {
        MemoryCache::build(config, clock, true, Scope::Application)
    }

    fn build(
        config: MemoryConfig,
        clock: Arc<dyn Clock>,
        reads_check_clock: bool,
        scope: Scope,
    ) -> Self {
        let counters = Arc::new(Counters::default());
        let evictions = counters.clone();
        let store = MokaCache::builder()
            .max_capacity(config.max_bytes)
            .weigher(|key: &String, entry: &Entry| Entry::weight(key, entry))
            .expire_after(EntryExpiry)
            .eviction_listener(move |_, _, cause| {
                if cause == RemovalCause::Size {
                    evictions.evictions.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        let prefixes = KeyPrefixes::new(match scope {
            Scope::Application => config.key_prefixes,
            Scope::Reserved => KeyPrefixConfig { depth: 0, max_prefixes: 0 },
        });
        MemoryCache {
            store,
            config,
            clock,
            reads_check_clock,
            counters,
            prefixes,
            scope,
            reserved: OnceLock::new(),
        }
    }

    /// The reserved store: same clock and settings, its own size limit and counters.
    fn reserved_store(&self) -> &Arc<MemoryCache> {
        self.reserved.get_or_init(|| {
            let config =
                MemoryConfig { max_bytes: self.config.reserved_max_bytes, ..self.config.clone() };
            Arc::new(MemoryCache::build(
                config,
                Arc::clone(&self.clock),
                self.reads_check_clock,
                Scope::Reserved,
            ))
        })
    }

    fn ttl_or_default(&self, ttl: Option<Duration>) -> Option<Duration> {
        ttl.or(self.config.default_ttl).map(|ttl| ttl.max(Duration::from_millis(1)))
    }

    /// A read, counted as a hit or a miss (and an error for a corrupt frame): `decode` turns
    /// the stored frame (moka's clone of it) into the value.
    fn read<T>(
        &self,
        key: &str,
        decode: impl FnOnce(StoredFrame) -> Result<T, String>,
    ) -> Result<Option<T>, CacheError> {
        self.scope.check(key)?;
        let value = match self.store.get(key).filter(|entry| self.is_live(entry)) {
            None => Ok(None),
            Some(entry) => decode(entry.frame)
                .map(Some)
                .map_err(|reason| CacheError::CorruptFrame { key: key.to_owned(), reason }),
        };
        match &value {
            Ok(Some(_)) => self.counters.hit(),
            Ok(None) => self.counters.miss(),
            Err(_) => {
                self.counters.miss();
                self.counters.error();
            }
        }
        self.prefixes.read(key, matches!(value, Ok(Some(_))));
        value
    }

    /// Whether an entry moka returned is still live for readers.
    fn is_live(&self, entry: &Entry) -> bool {
        !(self.reads_check_clock && entry.is_expired_at(|| self.clock.now()))
    }

    /// Keys per prefix, counted over the store (only when prefixes are tracked).
    fn key_tally(&self) -> KeyTally {
        let mut tally = KeyTally::new();
        if self.prefixes.enabled() {
            for (key, _) in &self.store {
                count_key(&mut tally, self.prefixes.bucket(&key));
            }
        }
        tally
    }

    fn footprint(&self) -> Footprint {
        self.store.run_pending_tasks();
        Footprint { keys: self.store.entry_count(), bytes: self.store.weighted_size() }
    }

    /// Removes the live entries whose key passes `matches`; how many.
    fn remove_where(&self, matches: impl Fn(&str) -> bool) -> u64 {
        let now = self.clock.now();
        let keys: Vec<Arc<String>> =
            self.store.iter().filter(|(key, _)| matches(key)).map(|(key, _)| key).collect();
        let mut removed = 0;
        for key in keys {
            if self.store.remove(key.as_str()).is_some_and(|entry| !entry.is_expired(now)) {
                removed += 1;
            }
        }
        removed
    }

    /// Stores a raw frame; for tests that need a corrupt one.
    #[doc(hidden)]
    pub async fn set_raw_frame(&self, key: &str, frame: &[u8]) {
        let entry = Entry::new(frame.to_vec(), self.config.default_ttl, self.clock.now());
        self.store.insert(key.to_owned(), entry);
    }
}

#[async_trait]
impl Cache for MemoryCache {
    fn backend_name(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.read(key, StoredFrame::into_value)
    }

    async fn get_shared(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        self.read(key, StoredFrame::into_shared_value)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError> {
        self.scope.check(key)?;
        let encoded = frame::encode(value, self.config.compression_threshold);
        self.counters.saved(encoded.saved);
        let ttl = self.ttl_or_default(ttl);
        self.prefixes.wrote(key, ttl);
        let entry = Entry::new(encoded.frame.into_owned(), ttl, self.clock.now());
        self.store.insert(key.to_owned(), entry);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        self.scope.check(key)?;
        let now = self.clock.now();
        Ok(self.store.remove(key).is_some_and(|entry| !entry.is_expired(now)))
    }

    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        self.scope.check(key)?;
        Ok(self.store.get(key).is_some_and(|entry| self.is_live(&entry)))
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        self.scope.check(key)?;
        let now = self.clock.now();
        Ok(self
            .store
            .get(key)
            .filter(|entry| !entry.is_expired(now))
            .and_then(|entry| entry.remaining(now)))
    }

    async fn mget<'k>(&self, keys: &[&'k str]) -> Result<Vec<Option<Vec<u8>>>, CacheError> {
        self.scope.check_all(keys.iter().copied())?;
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.get(key).await?);
        }
        Ok(values)
    }

    async fn mset<'k>(
        &self,
        entries: &[(&'k str, &'k [u8])],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        self.scope.check_all(entries.iter().map(|(key, _)| *key))?;
        for (key, value) in entries {
            self.set(key, value, ttl).await?;
        }
        Ok(())
    }

    async fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError> {
        self.scope.check(key)?;
        let now = self.clock.now();
        let ttl = self.ttl_or_default(ttl);
        let mut outcome = Err(CacheError::NotAnInteger { key: key.to_owned() });
        self.store.entry_by_ref(key).and_compute_with(|current| {
            let live = current.map(moka::Entry::into_value).filter(|e| !e.is_expired(now));
            match live {
                None => {
                    outcome = Ok(1);
                    self.prefixes.wrote(key, ttl);
                    Op::Put(Entry::new(b"1".to_vec(), ttl, now))
                }
                Some(entry) => match parse_counter(&entry.frame).and_then(|n| n.checked_add(1)) {
                    Some(next) => {
                        outcome = Ok(next);
                        Op::Put(entry.replaced(next.to_string().into_bytes()))
                    }
                    None => Op::Nop,
                },
            }
        });
        outcome
    }
}

#[async_trait]
impl CacheAdmin for MemoryCache {
    fn counters(&self) -> CacheStats {
        let footprint = self.footprint();
        CacheStats {
            keys: footprint.keys,
            bytes: footprint.bytes,
            prefixes: self.prefixes.figures(&self.key_tally()),
            ..self.counters.snapshot(Backend::Memory)
        }
    }

    async fn stats(&self) -> CacheStats {
        self.counters()
    }

    async fn optimize(&self) -> Result<OptimizeReport, CacheError> {
        let started = Instant::now();
        let before = self.footprint();
        let now = self.clock.now();
        // Entries expired on our clock but not yet on moka's (a manual clock, or a clock step).
        let expired: Vec<Arc<String>> = self
            .store
            .iter()
            .filter(|(_, entry)| entry.is_expired(now))
            .map(|(key, _)| key)
            .collect();
        for key in &expired {
            self.store.invalidate(key.as_str());
        }
        let after = self.footprint();
        Ok(OptimizeReport {
            backend: Backend::Memory,
            before,
            after,
            keys_scanned: before.keys,
            expired_removed: before.keys.saturating_sub(after.keys).max(expired.len() as u64),
            ttl_applied: 0,
            namespace_bytes: after.bytes,
            memory_purged: false,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    async fn clear(&self) -> Result<u64, CacheError> {
        // The reserved keys are in another store: this one holds application keys only.
        Ok(self.remove_where(|_| true))
    }

    async fn delete_pattern(&self, prefix: &str) -> Result<u64, CacheError> {
        Ok(self.remove_where(|key| key.starts_with(prefix)))
    }

    fn reserved(&self) -> Arc<dyn Cache> {
        self.reserved_store().clone()
    }
}

fn parse_counter(frame: &StoredFrame) -> Option<i64> {
    let value = frame.clone().into_value().ok()?;
    std::str::from_utf8(&value).ok()?.parse().ok()
}
