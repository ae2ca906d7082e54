use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use perfkit_core::Timestamp;

/// A stored value: its frame, and when it expires on two clocks.
///
/// `expires_at` is on the cache's [`Clock`](perfkit_core::Clock) and decides what readers
/// see, so tests can expire entries with a manual clock; `deadline` is on moka's monotonic
/// clock and lets moka reclaim the memory of expired entries by itself.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) frame: Arc<[u8]>,
    pub(crate) expires_at: Option<Timestamp>,
    pub(crate) deadline: Option<Instant>,
}

impl Entry {
    pub(crate) fn new(frame: Arc<[u8]>, ttl: Option<Duration>, now: Timestamp) -> Self {
        Entry {
            frame,
            expires_at: ttl.map(|ttl| now + ttl),
            deadline: ttl.map(|ttl| Instant::now() + ttl),
        }
    }

    /// The same expiry with another value: an increment keeps the TTL set at creation.
    pub(crate) fn replaced(&self, frame: Arc<[u8]>) -> Self {
        Entry { frame, expires_at: self.expires_at, deadline: self.deadline }
    }

    pub(crate) fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Time left, `None` for an entry that never expires.
    pub(crate) fn remaining(&self, now: Timestamp) -> Option<Duration> {
        self.expires_at.map(|at| at.duration_since(now))
    }

    pub(crate) fn weight(key: &str, entry: &Entry) -> u32 {
        u32::try_from(key.len() + entry.frame.len()).unwrap_or(u32::MAX)
    }
}

/// Tells moka each entry's own deadline, on create and on every update.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryExpiry;

impl Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(
        &self,
        _: &String,
        entry: &Entry,
        created_at: Instant,
    ) -> Option<Duration> {
        entry.deadline.map(|deadline| deadline.saturating_duration_since(created_at))
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        updated_at: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        entry.deadline.map(|deadline| deadline.saturating_duration_since(updated_at))
    }
}
