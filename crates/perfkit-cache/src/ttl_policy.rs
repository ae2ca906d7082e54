//! The guide's access-count TTL rule: a key read often lives longer. Its counters live in the
//! cache itself, so instances sharing a Redis agree on them.

use std::time::Duration;

use crate::{Cache, CacheError};

/// The guide's access-count TTL rule: a key read often lives longer.
///
/// TTL = `base` + `per_access` × accesses, capped at `max`; by default 5 min + 1 min per
/// access, at most 1 h. [`ttl_for`](Self::ttl_for) is the pure rule;
/// [`record_access`](Self::record_access) keeps the count in any [`Cache`] (a counter key per
/// key), so instances sharing a Redis agree on it.
///
/// ```
/// use std::time::Duration;
/// use perfkit_cache::TtlPolicy;
///
/// let policy = TtlPolicy::default();
/// assert_eq!(policy.ttl_for(0), Duration::from_secs(300));
/// assert_eq!(policy.ttl_for(10), Duration::from_secs(900));
/// assert_eq!(policy.ttl_for(1_000), Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlPolicy {
    /// The TTL of a key never accessed.
    pub base: Duration,
    /// Added per recorded access.
    pub per_access: Duration,
    /// The cap.
    pub max: Duration,
}

impl Default for TtlPolicy {
    fn default() -> Self {
        TtlPolicy {
            base: Duration::from_secs(5 * 60),
            per_access: Duration::from_secs(60),
            max: Duration::from_secs(60 * 60),
        }
    }
}

/// The prefix of the access-counter keys kept by [`TtlPolicy::record_access`].
pub const ACCESS_COUNTER_PREFIX: &str = "ttl-policy:accesses:";

impl TtlPolicy {
    /// The TTL for a key accessed `accesses` times.
    #[must_use]
    pub fn ttl_for(&self, accesses: u64) -> Duration {
        let per_access = u32::try_from(accesses)
            .ok()
            .and_then(|n| self.per_access.checked_mul(n))
            .unwrap_or(Duration::MAX);
        self.base.saturating_add(per_access).min(self.max)
    }

    /// Counts one access to `key` in `cache` and returns the TTL the key now deserves.
    ///
    /// The counter lives at [`ACCESS_COUNTER_PREFIX`] + `key` and expires after `max`, so
    /// counts of keys no longer read go away by themselves.
    ///
    /// # Errors
    /// The cache's error when the counter cannot be incremented.
    pub async fn record_access(
        &self,
        cache: &dyn Cache,
        key: &str,
    ) -> Result<Duration, CacheError> {
        let counter = format!("{ACCESS_COUNTER_PREFIX}{key}");
        let accesses = cache.increment(&counter, Some(self.max)).await?;
        Ok(self.ttl_for(u64::try_from(accesses).unwrap_or(0)))
    }
}
