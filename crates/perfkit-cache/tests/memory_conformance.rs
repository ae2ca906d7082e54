//! The conformance suite on `MemoryCache`, time on a manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod conformance;

use std::sync::Arc;

use conformance::Subject;
use perfkit_cache::{MemoryCache, MemoryConfig};
use perfkit_core::{ManualClock, Timestamp};

async fn memory() -> Subject {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000)));
    // The suite's condition: compression from 1 KiB, as Redis's default.
    let config = MemoryConfig { compression_threshold: 1024, ..MemoryConfig::default() };
    let cache = Arc::new(MemoryCache::with_clock(config.clone(), clock.clone()));
    let neighbour = Arc::new(MemoryCache::with_clock(config, clock.clone()));
    Subject {
        cache,
        neighbour,
        pass: Box::new(move |by| {
            clock.advance(by);
            Box::pin(async {})
        }),
        _guard: Box::new(()),
    }
}

conformance_tests!(memory);
