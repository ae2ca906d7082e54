//! A small per-thread cache of the series the `counter!`/`gauge!`/`histogram!` macros asked
//! for last, keyed by the facade's own key hash (computed when the key was built, so free
//! here).
//!
//! The macros look a series up on every call unless the caller keeps the handle. A hit here
//! skips the name checks, the name table, the label hash and the label table: one
//! thread-local access, a key comparison and a reference-count increment. Entries are
//! verified by full key equality, so a collision is a miss, never a wrong series; the cache is
//! direct-mapped and two-way over [`SLOTS`] slots, so its memory is bounded per thread.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics::Key;
use perfkit_core::SeriesKind;

use super::registry::SeriesCell;

/// Slots per thread (a power of two); each holds a key and a handle.
const SLOTS: usize = 128;

struct Cached {
    registry: u64,
    kind: SeriesKind,
    key: Key,
    cell: SeriesCell,
}

thread_local! {
    static CACHE: RefCell<Vec<Option<Cached>>> = const { RefCell::new(Vec::new()) };
}

static NEXT_REGISTRY: AtomicU64 = AtomicU64::new(1);

/// A number no other registry of this process has, naming a registry's entries here.
pub(crate) fn registry_id() -> u64 {
    NEXT_REGISTRY.fetch_add(1, Ordering::Relaxed)
}

fn slots(key: &Key) -> [usize; 2] {
    #[allow(clippy::cast_possible_truncation)] // only the low bits are used
    let first = key.get_hash() as usize & (SLOTS - 1);
    [first, first ^ 1]
}

/// The cell registry `registry` gave this thread for `kind` and `key`, if cached.
#[inline]
pub(crate) fn get(registry: u64, kind: SeriesKind, key: &Key) -> Option<SeriesCell> {
    CACHE.with_borrow(|cache| {
        let found = slots(key).into_iter().find_map(|slot| {
            cache
                .get(slot)?
                .as_ref()
                .filter(|c| c.registry == registry && c.kind == kind && c.key == *key)
        });
        found.map(|cached| cached.cell.clone())
    })
}

/// Remembers `cell` for `kind` and `key` of `registry` on this thread.
pub(crate) fn put(registry: u64, kind: SeriesKind, key: &Key, cell: &SeriesCell) {
    CACHE.with_borrow_mut(|cache| {
        if cache.is_empty() {
            cache.resize_with(SLOTS, || None);
        }
        let [first, second] = slots(key);
        // The first way unless it is taken and the second is free.
        let slot = if cache[first].is_some() && cache[second].is_none() { second } else { first };
        cache[slot] = Some(Cached { registry, kind, key: key.clone(), cell: cell.clone() });
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn hits_only_the_same_registry_kind_and_key() {
        let key = Key::from_parts("orders", vec![metrics::Label::new("region", "eu")]);
        let cell = SeriesCell::Counter(Arc::default());
        let registry = registry_id();
        assert!(get(registry, SeriesKind::Counter, &key).is_none());
        put(registry, SeriesKind::Counter, &key, &cell);
        assert!(get(registry, SeriesKind::Counter, &key).is_some());
        assert!(get(registry, SeriesKind::Gauge, &key).is_none());
        assert!(get(registry_id(), SeriesKind::Counter, &key).is_none());
        let other = Key::from_parts("orders", vec![metrics::Label::new("region", "us")]);
        assert!(get(registry, SeriesKind::Counter, &other).is_none());
        std::thread::spawn(move || assert!(get(registry, SeriesKind::Counter, &key).is_none()))
            .join()
            .unwrap();
    }
}
