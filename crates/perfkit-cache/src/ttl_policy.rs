//! The guide's access-count TTL rule: a key read often lives longer. Its counters live in the
//! cache itself, so instances sharing a Redis agree on them.

use std::time::Duration;

use crate::{Cache, CacheError};

/// The guide's access-count TTL rule: a key read often lives longer.
///
/// TTL = `base` + `per_access` × accesses, capped at `max`; by default 5 min + 1 min per
/// access, at most 1 h, with accesses counted over a `window` of 24 h (the guide's).
/// [`ttl_for`](Self::ttl_for) is the pure rule; [`record_access`](Self::record_access) keeps
/// the count in any [`Cache`] (a counter key per key, expiring a `window` after the first
/// access), so instances sharing a Redis agree on it; [`HotKeys`](crate::HotKeys) counts in
/// the process over the same window.
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
    /// How long accesses are counted: a count starts afresh a `window` after its first
    /// access (for [`HotKeys`](crate::HotKeys), halves each `window`).
    pub window: Duration,
}

impl Default for TtlPolicy {
    fn default() -> Self {
        TtlPolicy {
            base: Duration::from_secs(5 * 60),
            per_access: Duration::from_secs(60),
            max: Duration::from_secs(60 * 60),
            window: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// The prefix of the access-counter keys kept by [`TtlPolicy::record_access`].
pub const ACCESS_COUNTER_PREFIX: &str = "ttl-policy:accesses:";

impl TtlPolicy {
    /// Whether the rule makes sense: `base` no more than `max`, and a window of at least
    /// a second.
    ///
    /// # Errors
    /// [`CacheError::InvalidConfig`] saying which bound is broken.
    pub fn validate(&self) -> Result<(), CacheError> {
        if self.base > self.max {
            return Err(CacheError::InvalidConfig(format!(
                "the TTL policy's base ({:?}) is above its max ({:?})",
                self.base, self.max
            )));
        }
        if self.window < Duration::from_secs(1) {
            return Err(CacheError::InvalidConfig(format!(
                "the TTL policy's window must be at least 1s, got {:?}",
                self.window
            )));
        }
        Ok(())
    }

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
    /// The counter lives at [`ACCESS_COUNTER_PREFIX`] + `key` and expires a `window` after
    /// its first access, so counts of keys no longer read go away by themselves.
    ///
    /// # Errors
    /// The cache's error when the counter cannot be incremented.
    pub async fn record_access(
        &self,
        cache: &dyn Cache,
        key: &str,
    ) -> Result<Duration, CacheError> {
        let counter = format!("{ACCESS_COUNTER_PREFIX}{key}");
        let accesses = cache.increment(&counter, Some(self.window)).await?;
        Ok(self.ttl_for(u64::try_from(accesses).unwrap_or(0)))
    }
}
