//! The warming hook: a host that knows how to load its hottest keys implements
//! [`CacheWarmer`]; perfkit then warms after every cache clear and reports the warming's
//! figures beside the cache's. (At start-up the host warms before it serves, as only it
//! knows when that is.)

use std::fmt;

use async_trait::async_trait;

use crate::{CacheError, WarmReason, WarmRun, WarmingStats};

/// Loads the hottest keys into the cache, and says how warming has gone.
#[async_trait]
pub trait CacheWarmer: Send + Sync + fmt::Debug {
    /// Loads the hottest keys (those a [`HotKeys`](crate::HotKeys) names) from their source
    /// into the cache, without counting the loads as reads.
    ///
    /// # Errors
    /// The cache's error when nothing could be written; a key whose source fails is counted
    /// in the run's `failed` instead.
    async fn warm(&self, reason: WarmReason) -> Result<WarmRun, CacheError>;

    /// The warming figures as they stand (no I/O: fit for a scrape).
    fn figures(&self) -> WarmingStats;
}
