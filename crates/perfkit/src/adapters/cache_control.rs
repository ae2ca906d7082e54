//! The optimizer's cache control over the service's cache: optimize, evict a prefix, and read the
//! figures, with no hit rate before the first read.

use std::sync::Arc;

use async_trait::async_trait;
use perfkit_cache::CacheAdmin;
use perfkit_control::{CacheControl, CacheFigures, CachePrefixFigures, ControlError, ControlKind};

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

fn control_error(error: &perfkit_cache::CacheError) -> ControlError {
    ControlError::failed(ControlKind::Cache, error)
}

#[async_trait]
impl CacheControl for CacheController {
    async fn optimize(&self) -> Result<(), ControlError> {
        self.cache.optimize().await.map(|_| ()).map_err(|e| control_error(&e))
    }

    async fn evict_prefix(&self, prefix: &str) -> Result<u64, ControlError> {
        self.cache.delete_pattern(prefix).await.map_err(|e| control_error(&e))
    }

    async fn stats(&self) -> Result<CacheFigures, ControlError> {
        let stats = self.cache.stats().await;
        let reads = stats.hits + stats.misses;
        Ok(CacheFigures {
            hit_rate: (reads > 0).then_some(stats.hit_rate),
            keys: stats.keys,
            bytes: stats.bytes,
        })
    }

    fn prefixes(&self) -> Vec<CachePrefixFigures> {
        self.cache
            .counters()
            .prefixes
            .into_iter()
            .map(|p| CachePrefixFigures {
                prefix: p.prefix,
                hits: p.hits,
                misses: p.misses,
                keys: p.keys,
                ttl_ms: p.ttl_ms,
            })
            .collect()
    }
}
