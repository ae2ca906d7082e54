//! `SystemHeap`: the C library's allocator, the library's default [`HeapAllocator`]. Under
//! glibc it reads `mallinfo2` (bytes allocated; glibc counts nothing resident) and releases with `malloc_trim(0)`; elsewhere it knows
//! nothing and releases nothing. A binary with its own `#[global_allocator]` hands the
//! service its own `HeapAllocator` instead (perfkit-server does, for mimalloc).

use perfkit_control::{HeapAllocator, HeapFigures};

/// The C library's allocator (glibc's malloc, where the target has it).
///
/// ```
/// use perfkit::adapters::SystemHeap;
/// use perfkit::control::HeapAllocator;
///
/// let heap = SystemHeap;
/// let figures = heap.figures();
/// # #[cfg(all(target_os = "linux", target_env = "gnu"))]
/// assert_eq!(figures.allocator, "glibc");
/// heap.release();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemHeap;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl HeapAllocator for SystemHeap {
    #[allow(unsafe_code)]
    fn figures(&self) -> HeapFigures {
        // SAFETY: mallinfo2 takes no pointers and returns a plain struct read under glibc's
        // own arena locks; it is safe from any thread at any time (glibc 2.33 and later).
        let info = unsafe { libc::mallinfo2() };
        let as_u64 = |bytes: usize| u64::try_from(bytes).unwrap_or(u64::MAX);
        HeapFigures {
            allocator: "glibc",
            allocated_bytes: Some(as_u64(info.uordblks.saturating_add(info.hblkhd))),
            // mallinfo2's `arena` is the arenas' address space: `malloc_trim` gives their free
            // pages back without shrinking it, so it is no resident figure, and glibc has none.
            resident_bytes: None,
        }
    }

    /// glibc keeps freed memory in its arenas for reuse, so RSS stays high after a burst;
    /// `malloc_trim(0)` returns every free page it can, in every arena.
    #[allow(unsafe_code)]
    fn release(&self) {
        // SAFETY: malloc_trim takes no pointers and only walks glibc's own arenas under
        // their locks; it is safe to call from any thread at any time.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
impl HeapAllocator for SystemHeap {
    fn figures(&self) -> HeapFigures {
        HeapFigures { allocator: "unknown", allocated_bytes: None, resident_bytes: None }
    }

    /// Other C libraries return memory on their own terms.
    fn release(&self) {}
}
