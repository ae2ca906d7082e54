//! A memory-cache entry and its expiry: readers judge expiry on the cache's clock, so tests can
//! move it, while moka gets each entry's own TTL and reclaims expired memory by itself.

use std::time::{Duration, Instant};

use moka::Expiry;
use perfkit_core::Timestamp;

use super::stored_frame::StoredFrame;

/// A stored value: its frame, and when it expires.
///
/// The frame is owned when small and shared when large (see [`StoredFrame`]): moka hands
/// out a clone of the entry on every read.
///
/// `expires_at` is on the cache's [`Clock`](perfkit_core::Clock) and decides what readers
/// see, so tests can expire entries with a manual clock. `ttl` is handed to moka, which
/// counts it from its own monotonic reading of the write, so moka reclaims the memory of
/// expired entries by itself without us reading a second clock per write.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) frame: StoredFrame,
    pub(crate) expires_at: Option<Timestamp>,
    ttl: Option<Duration>,
    /// Set on a value that replaces another but keeps its expiry (an increment): moka keeps
    /// the deadline it already has instead of restarting the TTL.
    keeps_deadline: bool,
}

impl Entry {
    pub(crate) fn new(frame: Vec<u8>, ttl: Option<Duration>, now: Timestamp) -> Self {
        Entry {
            frame: StoredFrame::new(frame),
            expires_at: ttl.map(|ttl| now + ttl),
            ttl,
            keeps_deadline: false,
        }
    }

    /// The same expiry with another value: an increment keeps the TTL set at creation.
    pub(crate) fn replaced(&self, frame: Vec<u8>) -> Self {
        let frame = StoredFrame::new(frame);
        Entry { frame, expires_at: self.expires_at, ttl: self.ttl, keeps_deadline: true }
    }

    /// Whether the entry has expired at `now`; the clock is read only for entries with a TTL.
    pub(crate) fn is_expired_at(&self, now: impl FnOnce() -> Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now())
    }

    pub(crate) fn is_expired(&self, now: Timestamp) -> bool {
        self.is_expired_at(|| now)
    }

    /// Time left, `None` for an entry that never expires.
    pub(crate) fn remaining(&self, now: Timestamp) -> Option<Duration> {
        self.expires_at.map(|at| at.duration_since(now))
    }

    pub(crate) fn weight(key: &str, entry: &Entry) -> u32 {
        u32::try_from(key.len() + entry.frame.len()).unwrap_or(u32::MAX)
    }
}

/// Tells moka each entry's own TTL, on create and on every update.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryExpiry;

impl Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &String, entry: &Entry, _: Instant) -> Option<Duration> {
        entry.ttl
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        _: Instant,
        current: Option<Duration>,
    ) -> Option<Duration> {
        if entry.keeps_deadline { current } else { entry.ttl }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moka_gets_the_ttl_and_an_increment_keeps_the_deadline() {
        let now = Timestamp::from_unix_millis(1_000);
        let entry = Entry::new(b"1".to_vec(), Some(Duration::from_secs(60)), now);
        let key = String::from("k");
        let at = Instant::now();
        assert_eq!(
            EntryExpiry.expire_after_create(&key, &entry, at),
            Some(Duration::from_secs(60))
        );
        let left = Some(Duration::from_secs(12));
        assert_eq!(
            EntryExpiry.expire_after_update(&key, &entry, at, left),
            Some(Duration::from_secs(60))
        );
        let incremented = entry.replaced(b"2".to_vec());
        assert_eq!(EntryExpiry.expire_after_update(&key, &incremented, at, left), left);
        assert_eq!(incremented.expires_at, entry.expires_at);
        assert!(!entry.is_expired(now));
        assert!(entry.is_expired(now + Duration::from_secs(60)));
    }

    #[test]
    fn an_entry_without_ttl_never_reads_the_clock() {
        let entry = Entry::new(b"v".to_vec(), None, Timestamp::from_unix_millis(0));
        assert!(!entry.is_expired_at(|| unreachable!("the clock was read")));
        assert_eq!(EntryExpiry.expire_after_create(&String::new(), &entry, Instant::now()), None);
    }
}
