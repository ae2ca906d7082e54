//! A fixed-capacity, lock-free table from names to values, for bounded label sets.
//!
//! Routes, error kinds, statements, cache key prefixes and host cache names come from outside
//! (a scanner can send a million paths), so every such set has a cap, and lookups happen on the hot path, so they must not take a
//! lock that threads contend on. This table is open addressing over `OnceLock` slots: a lookup
//! is a hash and a few acquire loads; an insert claims one of `capacity` reservations and then
//! fills an empty slot. Entries are never removed; a reset swaps in a new table. Keys are
//! strings (routes, kinds, statements) or, for the facade's label sets, any type whose hash
//! the caller computes with the table's seeded hasher.

use std::hash::BuildHasher;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Entry<K, V> {
    key: K,
    value: V,
}

/// A table of at most `capacity` entries, keyed by string unless `K` says otherwise.
pub struct BoundedTable<V, K = Box<str>> {
    slots: Box<[OnceLock<Entry<K, V>>]>,
    reserved: AtomicUsize,
    capacity: usize,
    // Seeded per table, so a client cannot choose names that all collide.
    hasher: foldhash::fast::RandomState,
}

impl<V, K> std::fmt::Debug for BoundedTable<V, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedTable")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<V, K> BoundedTable<V, K> {
    /// A table that accepts at most `capacity` keys.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        // At most half full, so probe sequences stay short.
        let slot_count = (capacity.max(1) * 2).next_power_of_two();
        BoundedTable {
            slots: (0..slot_count).map(|_| OnceLock::new()).collect(),
            reserved: AtomicUsize::new(0),
            capacity,
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// Number of keys in the table.
    #[must_use]
    pub fn len(&self) -> usize {
        self.reserved.load(Ordering::Relaxed).min(self.capacity)
    }

    /// Whether the table holds no key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys the table accepts.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The table's own seeded hasher, for callers that hash composite keys themselves
    /// (see [`get_or_insert_hashed`](Self::get_or_insert_hashed)).
    pub fn hasher(&self) -> &foldhash::fast::RandomState {
        &self.hasher
    }

    /// The value whose key satisfies `matches`, probing from `hash`; inserting `make()` when
    /// none does. `None` when the key is new and the table is full. Every caller must hash a
    /// given key to the same `hash` (with [`hasher`](Self::hasher)), and `matches` must agree
    /// with key equality.
    #[inline]
    pub fn get_or_insert_hashed(
        &self,
        hash: u64,
        matches: impl Fn(&K) -> bool,
        make: impl FnOnce() -> (K, V),
    ) -> Option<&V> {
        let mask = self.slots.len() - 1;
        #[allow(clippy::cast_possible_truncation)] // only the low bits are used
        let mut index = hash as usize & mask;
        let mut pending: Option<Entry<K, V>> = None;
        let mut make = Some(make);
        for _ in 0..self.slots.len() {
            let slot = &self.slots[index];
            match slot.get() {
                Some(entry) if matches(&entry.key) => return Some(&entry.value),
                Some(_) => index = (index + 1) & mask,
                None => {
                    let entry = match pending.take() {
                        Some(entry) => entry,
                        None => {
                            if !self.reserve() {
                                return None;
                            }
                            let (key, value) = make.take().map(|make| make())?;
                            Entry { key, value }
                        }
                    };
                    match slot.set(entry) {
                        Ok(()) => return slot.get().map(|entry| &entry.value),
                        // Another thread filled this slot first: keep our entry (and its
                        // reservation) for the next empty slot, unless it was the same key.
                        Err(entry) => {
                            if slot.get().is_some_and(|winner| matches(&winner.key)) {
                                self.reserved.fetch_sub(1, Ordering::Relaxed);
                                return slot.get().map(|winner| &winner.value);
                            }
                            pending = Some(entry);
                            index = (index + 1) & mask;
                        }
                    }
                }
            }
        }
        // Unreachable while the table is at most half full; treat it as full if it happens.
        if pending.is_some() {
            self.reserved.fetch_sub(1, Ordering::Relaxed);
        }
        None
    }

    /// Claims room for one more key; false when the table is full.
    fn reserve(&self) -> bool {
        self.reserved
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |reserved| {
                (reserved < self.capacity).then_some(reserved + 1)
            })
            .is_ok()
    }

    /// Every `(key, value)` in the table, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (&K, &V)> {
        self.slots.iter().filter_map(OnceLock::get).map(|entry| (&entry.key, &entry.value))
    }
}

impl<V> BoundedTable<V> {
    /// The value for `key`, inserting `make()` when the name is new; `None` when the name is
    /// new and the table is full.
    #[inline]
    pub fn get_or_insert_with(&self, key: &str, make: impl FnOnce() -> V) -> Option<&V> {
        let hash = self.hasher.hash_one(key);
        self.get_or_insert_hashed(hash, |stored| &**stored == key, || (key.into(), make()))
    }

    /// Every `(name, value)` in the table, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries().map(|(key, value)| (&**key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn inserts_once_and_finds_again() {
        let table = BoundedTable::new(4);
        assert_eq!(table.get_or_insert_with("a", || 1), Some(&1));
        assert_eq!(table.get_or_insert_with("a", || 2), Some(&1));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn refuses_names_beyond_capacity() {
        let table = BoundedTable::new(3);
        for name in ["a", "b", "c"] {
            assert!(table.get_or_insert_with(name, || ()).is_some());
        }
        assert!(table.get_or_insert_with("d", || ()).is_none());
        assert!(table.get_or_insert_with("a", || ()).is_some());
        assert_eq!(table.len(), 3);
        let mut names: Vec<&str> = table.iter().map(|(name, _)| name).collect();
        names.sort_unstable();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn concurrent_inserts_respect_the_cap_and_agree_on_values() {
        let table = Arc::new(BoundedTable::new(64));
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                let table = Arc::clone(&table);
                std::thread::spawn(move || {
                    for i in 0..1_000 {
                        let name = format!("k{}", (i * 7 + thread) % 200);
                        if let Some(value) = table.get_or_insert_with(&name, || name.clone()) {
                            assert_eq!(*value, name);
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(table.len(), 64);
        assert_eq!(table.iter().count(), 64);
    }
}
