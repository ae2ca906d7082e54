//! The allocator perfkit-server runs on, in one place: the `#[global_allocator]`, and the
//! [`HeapAllocator`] the service reads and releases through, so the memory action returns
//! memory to the operating system with the allocator that actually holds it (glibc's
//! `malloc_trim` would find nothing to trim: glibc's malloc serves almost nothing here).

use perfkit::control::{HeapAllocator, HeapFigures};

// A request allocates and frees a few dozen small blocks across the worker threads (headers,
// futures, the layer stack's boxes, answer bodies); mimalloc's per-thread free lists serve
// that pattern for a fraction of glibc malloc's cost (see docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc, as the service sees it: committed memory as its figure, `mi_collect(true)` as
/// its release.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mimalloc;

impl HeapAllocator for Mimalloc {
    #[allow(unsafe_code)]
    fn figures(&self) -> HeapFigures {
        let mut commit: usize = 0;
        let null = std::ptr::null_mut();
        // SAFETY: every out-parameter of mi_process_info is optional (null is allowed);
        // the one given is a valid, exclusive `usize` on this stack frame.
        unsafe {
            libmimalloc_sys::mi_process_info(
                null,
                null,
                null,
                null,
                null,
                &raw mut commit,
                null,
                null,
            );
        }
        HeapFigures {
            allocator: "mimalloc",
            // mimalloc counts live bytes only in builds with statistics on (not release).
            allocated_bytes: None,
            resident_bytes: u64::try_from(commit).ok(),
        }
    }

    /// Frees what every thread's heap holds free and decommits it (`force`): RSS falls
    /// after a burst instead of waiting for mimalloc's own purge delay.
    #[allow(unsafe_code)]
    fn release(&self) {
        // SAFETY: mi_collect takes no pointers and may be called from any thread at any
        // time; `force` only makes it return more memory to the OS.
        unsafe {
            libmimalloc_sys::mi_collect(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The release itself is tested against the real server (tests/memory_release.rs: RSS
    // halves); here only that the figures are mimalloc's and count what is live.
    #[test]
    fn reads_the_heap_it_runs_on() {
        let burst: Vec<Vec<u8>> = (0..64).map(|i| vec![i; 1 << 20]).collect();
        let held = Mimalloc.figures();
        assert_eq!(held.allocator, "mimalloc");
        assert!(held.resident_bytes.unwrap() >= 64 << 20, "64 MiB live: {held:?}");
        drop(burst);
        Mimalloc.release();
    }
}
