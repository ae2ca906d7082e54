//! Adapters from perfkit's concrete parts to the control traits (`perfkit-control`). The
//! optimizer names what it needs (`CacheControl`, `MemoryControl`, ...); this is where the
//! cache and the process meet those needs, so the optimizer never depends on the cache crate.

mod cache_control;
mod memory_control;
mod system_heap;

pub use cache_control::CacheController;
pub use memory_control::ProcessMemoryControl;
pub use system_heap::SystemHeap;
