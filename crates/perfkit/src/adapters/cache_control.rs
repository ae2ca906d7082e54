//! The optimizer's cache control over the service's cache: optimize, evict a prefix, and read the
//! figures, with no hit rate before the first read.

use std::sync::Arc;

use async_trait::async_trait;
use perfkit_cache::CacheAdmin;
use perfkit_optimizer::{CacheControl, CacheFigures, OptimizerError};

/// [`CacheControl`] over any [`CacheAdmin`].
#[derive(Debug, Clone)]
pub struct CacheController {
    cache: Arc<dyn CacheAdmin>,
}

impl CacheController {
    /// A control acting on `cache`.
    #[must_use]
    pub fn new(cache: Arc<dyn CacheAdmin>) -> Self {
        CacheController { cache }
    }
}

fn control_error(error: &perfkit_cache::CacheError) -> OptimizerError {
    OptimizerError::control("cache", error)
}

#[async_trait]
impl CacheControl for CacheController {
    async fn optimize(&self) -> Result<(), OptimizerError> {
        self.cache.optimize().await.map(|_| ()).map_err(|e| control_error(&e))
    }

    async fn evict_prefix(&self, prefix: &str) -> Result<u64, OptimizerError> {
        self.cache.delete_pattern(prefix).await.map_err(|e| control_error(&e))
    }

    async fn stats(&self) -> Result<CacheFigures, OptimizerError> {
        let stats = self.cache.stats().await;
        let reads = stats.hits + stats.misses;
        Ok(CacheFigures {
            hit_rate: (reads > 0).then_some(stats.hit_rate),
            keys: stats.keys,
            bytes: stats.bytes,
        })
    }
}
