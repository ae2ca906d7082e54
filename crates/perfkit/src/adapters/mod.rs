//! Adapters from perfkit's concrete parts to the control traits (`perfkit-control`). The
//! optimizer names what it needs (`CacheControl`, `MemoryControl`, ...); this is where the
//! cache and the process meet those needs, so the optimizer never depends on the cache crate.

mod cache_control;
mod memory_control;

pub use cache_control::CacheController;
pub use memory_control::ProcessMemoryControl;
