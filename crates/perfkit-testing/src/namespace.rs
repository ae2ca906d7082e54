//! Key prefixes unique across processes, so tests sharing one Redis never see each other's keys
//! and never flush the database.

use std::sync::atomic::{AtomicU64, Ordering};

/// A key prefix no other test (in this process or another) uses: `perfkit-test:<pid>:<n>:<label>:`.
///
/// Tests that share a Redis server write under one of these, so they never see each other's keys
/// and never need to flush the database.
#[must_use]
pub fn unique_namespace(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("perfkit-test:{}:{n}:{label}:", std::process::id())
}
