//! The near cache's front: a bounded moka store of decoded values, weighed in bytes, each
//! entry with its own TTL, never longer than the time its key has left in Redis.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::Expiry;
use moka::notification::RemovalCause;
use moka::sync::Cache as MokaCache;

/// How long a key read from Redis has left there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Remaining {
    /// The key has no expiry.
    Forever,
    /// The key expires after this long (zero: it is already gone).
    For(Duration),
}

impl Remaining {
    /// From a `PTTL` reply: `-1` is no expiry, `-2` (no such key) and anything else negative
    /// count as gone.
    pub(crate) fn from_pttl(millis: i64) -> Remaining {
        match millis {
            -1 => Remaining::Forever,
            ms => Remaining::For(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
        }
    }

    /// From the TTL a write gave its key (`None`: no expiry).
    pub(crate) fn from_ttl(ttl: Option<Duration>) -> Remaining {
        ttl.map_or(Remaining::Forever, Remaining::For)
    }

    /// The TTL of a front entry for a key with this much left when `asked` (the moment the
    /// request left for Redis), at most `local`: `None` when nothing is left. Counting from
    /// `asked` rather than from the answer keeps the front entry from outliving the key by
    /// the round trip.
    pub(crate) fn front_ttl(self, local: Duration, asked: Instant) -> Option<Duration> {
        let left = match self {
            Remaining::Forever => local,
            Remaining::For(left) => left.min(local),
        };
        Some(left.saturating_sub(asked.elapsed())).filter(|ttl| !ttl.is_zero())
    }
}

/// A front entry: the decoded value (a hit copies it out, as `MemoryCache` does its frame)
/// and its TTL.
#[derive(Debug, Clone)]
struct Entry {
    value: Bytes,
    ttl: Duration,
}

/// Tells moka each entry's own TTL, on create and on update.
struct EntryExpiry;

impl Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &String, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// The front store. It knows nothing of coherence: the caller decides what may go in.
pub(crate) struct Front {
    store: MokaCache<String, Entry>,
    max_bytes: u64,
    evictions: Arc<AtomicU64>,
}

impl Front {
    pub(crate) fn new(max_bytes: u64) -> Self {
        let evictions = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&evictions);
        let store = MokaCache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, entry: &Entry| {
                u32::try_from(key.len() + entry.value.len()).unwrap_or(u32::MAX)
            })
            .expire_after(EntryExpiry)
            .eviction_listener(move |_, _, cause| {
                if cause == RemovalCause::Size {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        Front { store, max_bytes, evictions }
    }

    pub(crate) fn get(&self, key: &str) -> Option<Bytes> {
        self.store.get(key).map(|entry| entry.value)
    }

    pub(crate) fn insert(&self, key: &str, value: impl Into<Bytes>, ttl: Duration) {
        self.store.insert(key.to_owned(), Entry { value: value.into(), ttl });
    }

    pub(crate) fn remove(&self, key: &str) {
        self.store.invalidate(key);
    }

    /// Removes every entry whose key starts with `prefix`.
    pub(crate) fn remove_prefix(&self, prefix: &str) {
        let keys: Vec<Arc<String>> =
            self.store.iter().filter(|(key, _)| key.starts_with(prefix)).map(|(k, _)| k).collect();
        for key in keys {
            self.store.invalidate(key.as_str());
        }
    }

    /// Empties the front: nothing inserted before this call is returned afterwards.
    pub(crate) fn clear(&self) {
        self.store.invalidate_all();
    }

    /// Applies pending removals and evictions, so the figures below are exact.
    pub(crate) fn settle(&self) {
        self.store.run_pending_tasks();
    }

    /// `(keys, bytes)` as of the last [`settle`](Self::settle) (moka's own upkeep also
    /// updates them as it goes).
    pub(crate) fn footprint(&self) -> (u64, u64) {
        (self.store.entry_count(), self.store.weighted_size())
    }

    pub(crate) fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub(crate) fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_ttl_never_exceeds_what_the_key_has_left() {
        let local = Duration::from_secs(10);
        let asked = Instant::now();
        let forever = Remaining::from_pttl(-1).front_ttl(local, asked).unwrap();
        assert!(forever <= local && forever > Duration::from_secs(9));
        let short = Remaining::from_pttl(300).front_ttl(local, asked).unwrap();
        assert!(short <= Duration::from_millis(300), "{short:?}");
        assert_eq!(Remaining::from_pttl(-2).front_ttl(local, asked), None);
        assert_eq!(Remaining::from_pttl(0).front_ttl(local, asked), None);
        assert_eq!(Remaining::from_ttl(None), Remaining::Forever);
        let long_ago = Instant::now().checked_sub(Duration::from_millis(400)).unwrap();
        assert_eq!(Remaining::from_pttl(300).front_ttl(local, long_ago), None);
    }

    #[test]
    fn entries_are_weighed_in_bytes_and_evictions_counted() {
        let front = Front::new(1024);
        for i in 0..100 {
            front.insert(&format!("key:{i}"), vec![0; 100], Duration::from_secs(60));
        }
        front.settle();
        let (keys, bytes) = front.footprint();
        assert!(bytes <= 1024 && keys < 100, "{keys} keys, {bytes} bytes");
        assert!(front.evictions() > 0);
    }

    #[test]
    fn clear_and_remove_prefix_drop_entries() {
        let front = Front::new(1 << 20);
        let ttl = Duration::from_secs(60);
        for key in ["user:1", "user:2", "post:1"] {
            front.insert(key, b"v".to_vec(), ttl);
        }
        front.remove_prefix("user:");
        assert_eq!(
            (front.get("user:1"), front.get("post:1")),
            (None, Some(Bytes::from_static(b"v")))
        );
        front.clear();
        assert_eq!(front.get("post:1"), None);
        front.settle();
        assert_eq!(front.footprint(), (0, 0));
    }
}
