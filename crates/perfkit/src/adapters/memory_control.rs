//! The optimizer's memory control for this process: usage from the system probe; a release
//! optimizes the cache, then hands freed heap pages back to the OS (`malloc_trim` on glibc).

use std::sync::Arc;

use async_trait::async_trait;
use perfkit_cache::CacheAdmin;
use perfkit_control::{ControlError, ControlKind, MemoryControl, MemoryUsage};
use perfkit_metrics::SystemProbe;

/// [`MemoryControl`] for this process: usage from the system probe; release by optimizing
/// the cache (dropping expired entries) and then handing freed heap pages back to the
/// operating system.
#[derive(Debug, Clone)]
pub struct ProcessMemoryControl {
    probe: Arc<dyn SystemProbe>,
    cache: Option<Arc<dyn CacheAdmin>>,
}

impl ProcessMemoryControl {
    /// Measures through `probe`; shrinks `cache` on release when given.
    #[must_use]
    pub fn new(probe: Arc<dyn SystemProbe>, cache: Option<Arc<dyn CacheAdmin>>) -> Self {
        ProcessMemoryControl { probe, cache }
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
        return_freed_memory_to_os();
        Ok(())
    }
}

/// Asks the allocator to return free heap pages to the operating system. glibc keeps freed
/// memory in its arenas for reuse, so RSS stays high after a burst; `malloc_trim(0)` gives
/// back what it can. Other allocators and platforms return memory on their own terms, and
/// there this does nothing.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(crate) fn return_freed_memory_to_os() {
    // SAFETY: malloc_trim takes no pointers and only walks glibc's own arenas under their
    // locks; it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn return_freed_memory_to_os() {}

#[cfg(test)]
mod tests {
    use super::*;
    use perfkit_metrics::SysinfoProbe;

    #[tokio::test]
    async fn measures_this_process_and_releases_without_error() {
        let probe: Arc<dyn SystemProbe> = Arc::new(SysinfoProbe::new().unwrap());
        let control = ProcessMemoryControl::new(probe, None);
        let before = control.usage().await.unwrap();
        assert!(before.used_bytes > 1 << 20);
        assert!((0.0..=1.0).contains(&before.usage.unwrap()));
        // A burst of freed allocations, then a release: must not fail, and RSS must not grow.
        let burst: Vec<Vec<u8>> = (0..256).map(|i| vec![i as u8; 64 * 1024]).collect();
        drop(burst);
        control.release().await.unwrap();
    }
}
