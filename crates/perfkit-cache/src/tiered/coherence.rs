//! The rules that keep the front coherent with Redis: what may enter it, what leaves it, and
//! when it may serve at all.
//!
//! Reads that miss go to Redis on a pooled connection while invalidations arrive on another,
//! so a reply can be older than an invalidation already applied (Redis's client-side caching
//! guide calls this the race of the redirected connection). A fill therefore takes a
//! [`Ticket`] before it asks Redis, and its value enters the front only if no invalidation of
//! its key (and no flush) came in between. Keys hash onto stripes; each stripe has a counter
//! and a lock, and an invalidation bumps the counter and removes the entry under that lock,
//! so a fill's check and insert happen wholly before or wholly after it. The epoch counts
//! flushes; odd means "dark": the invalidation channel is down and the front neither serves
//! nor fills. A flush takes every stripe lock.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;

use super::front::Front;

/// Stripes of the invalidation counters: enough that unrelated keys rarely share one.
const STRIPES: usize = 1024;

/// What a fill or a write saw before it went to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    epoch: u64,
    stripe: usize,
    seen: u64,
}

/// The front and the state that decides what it may hold.
pub(crate) struct CoherentFront {
    front: Front,
    /// Even: invalidations flow, the front serves. Odd: dark. Moves only under every stripe lock.
    epoch: AtomicU64,
    stripes: Box<[Mutex<u64>]>,
    hasher: RandomState,
    invalidations: AtomicU64,
    flushes: AtomicU64,
    /// `CLIENT ID` of the connection invalidations arrive on, -1 while dark.
    channel_id: AtomicI64,
}

impl CoherentFront {
    /// A dark front: it serves once the channel is up ([`go_live`](Self::go_live)).
    pub(crate) fn new(front: Front) -> Self {
        CoherentFront {
            front,
            epoch: AtomicU64::new(1),
            stripes: (0..STRIPES).map(|_| Mutex::new(0)).collect(),
            hasher: RandomState::new(),
            invalidations: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
            channel_id: AtomicI64::new(-1),
        }
    }

    pub(crate) fn front(&self) -> &Front {
        &self.front
    }

    pub(crate) fn is_live(&self) -> bool {
        self.epoch.load(Ordering::Acquire).is_multiple_of(2)
    }

    /// The front's value for `key`, while the channel is up.
    pub(crate) fn read(&self, key: &str) -> Option<Bytes> {
        if self.is_live() { self.front.get(key) } else { None }
    }

    /// Taken before asking Redis; `None` while dark (nothing read now may enter the front).
    pub(crate) fn ticket(&self, key: &str) -> Option<Ticket> {
        let stripe = self.stripe_of(key);
        let seen = *self.lock(stripe);
        let epoch = self.epoch.load(Ordering::Acquire);
        epoch.is_multiple_of(2).then_some(Ticket { epoch, stripe, seen })
    }

    /// Puts a value read from Redis into the front, unless its key was invalidated or the
    /// front flushed since `ticket` was taken.
    pub(crate) fn fill(&self, ticket: Ticket, key: &str, value: impl Into<Bytes>, ttl: Duration) {
        let counter = self.lock(ticket.stripe);
        if *counter == ticket.seen && self.epoch.load(Ordering::Acquire) == ticket.epoch {
            self.front.insert(key, value, ttl);
        }
    }

    /// After this process changed `key` in Redis (whether or not the change succeeded): a fill
    /// in flight that read the old value must not land, and the front takes the new value
    /// when `written` has one and nothing else touched the key since `ticket`, or drops it.
    pub(crate) fn own_write(
        &self,
        ticket: Option<Ticket>,
        key: &str,
        written: Option<(Bytes, Duration)>,
    ) {
        let stripe = self.stripe_of(key);
        let mut counter = self.lock(stripe);
        *counter += 1;
        let untouched = ticket.is_some_and(|t| {
            *counter == t.seen + 1 && self.epoch.load(Ordering::Acquire) == t.epoch
        });
        match written {
            Some((value, ttl)) if untouched => self.front.insert(key, value, ttl),
            _ => self.front.remove(key),
        }
    }

    /// An invalidation from Redis: another client changed `key`.
    pub(crate) fn invalidate(&self, key: &str) {
        {
            let mut counter = self.lock(self.stripe_of(key));
            *counter += 1;
            self.front.remove(key);
        }
        // Counted once applied: a reader that sees the count sees the entry gone.
        self.invalidations.fetch_add(1, Ordering::Release);
    }

    /// Empties the front, which keeps serving (a clear, a flushed database, missed messages).
    pub(crate) fn flush(&self) {
        self.exclusive(|| {
            self.epoch.fetch_add(2, Ordering::AcqRel);
            self.front.clear();
        });
        self.flushes.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops the entries under `prefix` and cancels every fill in flight.
    pub(crate) fn forget_prefix(&self, prefix: &str) {
        self.exclusive(|| {
            self.epoch.fetch_add(2, Ordering::AcqRel);
            self.front.remove_prefix(prefix);
        });
    }

    /// The channel is lost: empty the front and stop serving and filling. Whether it was live.
    pub(crate) fn go_dark(&self) -> bool {
        let was_live = self.exclusive(|| {
            let live = self.is_live();
            if live {
                self.epoch.fetch_add(1, Ordering::AcqRel);
                self.front.clear();
            }
            live
        });
        if was_live {
            self.flushes.fetch_add(1, Ordering::Relaxed);
        }
        self.channel_id.store(-1, Ordering::Relaxed);
        was_live
    }

    /// Invalidations flow again on connection `channel_id`: serve and fill, from empty.
    pub(crate) fn go_live(&self, channel_id: i64) {
        self.exclusive(|| {
            let step = if self.is_live() { 2 } else { 1 };
            self.epoch.fetch_add(step, Ordering::AcqRel);
            self.front.clear();
        });
        self.channel_id.store(channel_id, Ordering::Relaxed);
    }

    pub(crate) fn invalidations(&self) -> u64 {
        self.invalidations.load(Ordering::Acquire)
    }

    pub(crate) fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// `CLIENT ID` of the connection invalidations arrive on, while live.
    pub(crate) fn channel_id(&self) -> Option<i64> {
        Some(self.channel_id.load(Ordering::Relaxed)).filter(|id| *id >= 0)
    }

    fn stripe_of(&self, key: &str) -> usize {
        // Truncation is the point: the low bits pick the stripe.
        #[allow(clippy::cast_possible_truncation)]
        let hash = self.hasher.hash_one(key) as usize;
        hash % STRIPES
    }

    fn lock(&self, stripe: usize) -> MutexGuard<'_, u64> {
        // A counter stays meaningful after a panic elsewhere: plain increments.
        self.stripes[stripe % STRIPES].lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn exclusive<R>(&self, f: impl FnOnce() -> R) -> R {
        let _all: Vec<MutexGuard<'_, u64>> = (0..STRIPES).map(|i| self.lock(i)).collect();
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    fn live() -> CoherentFront {
        let front = CoherentFront::new(Front::new(1 << 20));
        front.go_live(7);
        front
    }

    #[test]
    fn a_new_front_is_dark_until_the_channel_is_up() {
        let front = CoherentFront::new(Front::new(1 << 20));
        assert!(!front.is_live() && front.ticket("k").is_none() && front.channel_id().is_none());
        front.go_live(7);
        assert!(front.is_live());
        assert_eq!(front.channel_id(), Some(7));
    }

    #[test]
    fn a_fill_lands_only_if_nothing_happened_to_its_key_meanwhile() {
        let front = live();
        let ticket = front.ticket("k").unwrap();
        front.fill(ticket, "k", b"v1".to_vec(), TTL);
        assert_eq!(front.read("k"), Some(Bytes::from_static(b"v1")));

        // The race of the redirected connection: the reply (old) lands after the invalidation.
        let ticket = front.ticket("k").unwrap();
        front.invalidate("k");
        front.fill(ticket, "k", b"old".to_vec(), TTL);
        assert_eq!(front.read("k"), None);
        assert_eq!(front.invalidations(), 1);

        // A flush in between cancels it too.
        let ticket = front.ticket("k").unwrap();
        front.flush();
        front.fill(ticket, "k", b"old".to_vec(), TTL);
        assert_eq!(front.read("k"), None);
        assert_eq!(front.flushes(), 1);
    }

    #[test]
    fn own_writes_update_the_front_unless_something_intervened() {
        let front = live();
        let ticket = front.ticket("k");
        front.own_write(ticket, "k", Some((Bytes::from_static(b"mine"), TTL)));
        assert_eq!(front.read("k"), Some(Bytes::from_static(b"mine")));

        // Another client's write arrived while ours was in flight: ours may be the older one.
        let ticket = front.ticket("k");
        front.invalidate("k");
        front.own_write(ticket, "k", Some((Bytes::from_static(b"mine2"), TTL)));
        assert_eq!(front.read("k"), None);

        // A fill that read the value before our write completed must not land after it.
        let fill = front.ticket("k").unwrap();
        front.own_write(front.ticket("k"), "k", Some((Bytes::from_static(b"new"), TTL)));
        front.fill(fill, "k", b"stale".to_vec(), TTL);
        assert_eq!(front.read("k"), Some(Bytes::from_static(b"new")));

        // A delete, or a write that failed: the entry goes.
        front.own_write(None, "k", None);
        assert_eq!(front.read("k"), None);
    }

    #[test]
    fn dark_fronts_neither_serve_nor_fill_and_come_back_empty() {
        let front = live();
        front.fill(front.ticket("a").unwrap(), "a", b"v".to_vec(), TTL);
        let ticket = front.ticket("b").unwrap();
        assert!(front.go_dark());
        assert!(!front.go_dark(), "already dark");
        assert_eq!(front.read("a"), None);
        assert!(front.ticket("b").is_none());
        front.fill(ticket, "b", b"v".to_vec(), TTL);
        front.own_write(Some(ticket), "b", Some((Bytes::from_static(b"v"), TTL)));
        front.go_live(8);
        assert_eq!((front.read("a"), front.read("b")), (None, None));
        assert_eq!(front.flushes(), 1);
    }

    #[test]
    fn forget_prefix_drops_matching_entries_and_cancels_fills() {
        let front = live();
        for key in ["user:1", "post:1"] {
            front.fill(front.ticket(key).unwrap(), key, b"v".to_vec(), TTL);
        }
        let ticket = front.ticket("user:2").unwrap();
        front.forget_prefix("user:");
        front.fill(ticket, "user:2", b"v".to_vec(), TTL);
        assert_eq!(front.read("user:1"), None);
        assert_eq!(front.read("user:2"), None);
        assert_eq!(front.read("post:1"), Some(Bytes::from_static(b"v")));
    }
}
