//! The memory action returns a cleared cache's memory to the operating system under the
//! system allocator: this test binary has no `#[global_allocator]`, so the service's
//! default `SystemHeap` (glibc's `malloc_trim`) is the allocator that holds the memory.
//! (perfkit-server's own test does the same under mimalloc, the allocator it runs on.)
//! One test in its own binary: the resident set it measures is the whole process's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use perfkit::cache::{MemoryCache, MemoryConfig};
use perfkit::optimizer::{ActionKind, ActionOutcome};
use perfkit::{OptimizationRun, PerformanceService};

/// Values stored: 3 200 of 64 KiB, 200 MiB in all. Under glibc's mmap threshold, so they
/// come from the arenas, which keep freed memory for reuse until trimmed.
const VALUES: usize = 3_200;
const VALUE_BYTES: usize = 64 * 1024;

/// This process's resident set, from the kernel.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Bytes no compressor can shrink (a xorshift stream), different for every `seed`.
fn incompressible(seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..VALUE_BYTES / 8)
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleared_cache_is_returned_to_the_os_by_the_memory_action() {
    let cache = MemoryCache::new(MemoryConfig { max_bytes: 512 << 20, ..MemoryConfig::default() });
    let service = PerformanceService::builder().cache(Arc::new(cache)).build().unwrap();
    let heap = service.parts().heap.figures();
    assert_eq!(heap.allocator, "glibc", "this test is about glibc's malloc: {heap:?}");

    let before = rss_bytes();
    for i in 0..VALUES {
        let value = incompressible(i as u64);
        service.parts().cache.set(&format!("blob:{i}"), &value, None).await.unwrap();
    }
    let filled = rss_bytes();
    assert!(filled > before + (180 << 20), "the cache holds ~200 MiB: {before} -> {filled}");
    let held = service.parts().heap.figures();

    service.clear_cache().await.unwrap();
    let record = service.optimize(OptimizationRun::Forced).await.unwrap();
    let release = record.actions.iter().find(|a| a.action == ActionKind::ReleaseMemory);
    assert!(matches!(release.map(|a| &a.outcome), Some(ActionOutcome::Taken { .. })), "{record:?}");
    let released = rss_bytes();
    assert!(
        released <= filled / 2,
        "RSS {filled} with the cache full, {released} after clear and release: not halved"
    );
    // The allocator's own count agrees: the cache's bytes were handed back to it.
    let after = service.parts().heap.figures();
    let (full, now) = (held.allocated_bytes.unwrap(), after.allocated_bytes.unwrap());
    assert!(full > 180 << 20 && now < full / 10, "{held:?} -> {after:?}");
}
