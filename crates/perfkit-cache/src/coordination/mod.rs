//! What instances sharing one store do together: announce themselves with a TTL, list the
//! live ones, and take turns under named locks. [`Coordination`] is the boundary;
//! [`LocalCoordination`] serves one process, [`RedisCoordination`](crate::RedisCoordination)
//! every process on one Redis. [`run_exclusive`] is the one way to run work under a lock.

mod exclusive;
mod local;
mod names;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

pub use exclusive::{ExclusiveRun, run_exclusive};
pub use local::LocalCoordination;
pub(crate) use names::check_name;

use crate::CacheError;

/// Most announcements [`Coordination::announced`] returns: a bound on memory and on the work
/// of one listing, far above any fleet that shares one cache.
pub const MAX_ANNOUNCED: usize = 256;

/// What instances sharing one store coordinate through. Every key it writes lives in the
/// store's reserved sub-namespace ([`RESERVED_PREFIX`](crate::RESERVED_PREFIX)), so the
/// application's `clear` never removes an announcement or a lock.
///
/// Names (an instance id, a lock name) are 1 to 64 characters of letters, digits and
/// `- _ . :`; anything else is refused with [`CacheError::InvalidName`].
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use perfkit_cache::{Coordination, LocalCoordination};
/// use perfkit_core::SystemClock;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let coordination = LocalCoordination::new(Arc::new(SystemClock));
/// coordination.announce("api-1", b"{}", Duration::from_secs(90)).await?;
/// assert_eq!(coordination.announced().await?[0].instance, "api-1");
///
/// let ttl = Duration::from_secs(30);
/// let token = coordination.try_lock("optimizer", "api-1", ttl).await?.expect("free");
/// assert!(coordination.try_lock("optimizer", "api-2", ttl).await?.is_none());
/// assert_eq!(coordination.lock_holder("optimizer").await?.as_deref(), Some("api-1"));
/// assert!(coordination.unlock("optimizer", &token).await?);
/// # Ok::<_, perfkit_cache::CacheError>(())
/// # }).unwrap();
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Coordination: Send + Sync + fmt::Debug {
    /// Announces `instance` with `record` (opaque bytes, the caller's summary) for `ttl`;
    /// announcing again replaces the record and renews the TTL.
    async fn announce(
        &self,
        instance: &str,
        record: &[u8],
        ttl: Duration,
    ) -> Result<(), CacheError>;

    /// Withdraws the announcement of `instance` (at shutdown); whether there was one.
    async fn withdraw(&self, instance: &str) -> Result<bool, CacheError>;

    /// The live announcements (TTL not passed), at most [`MAX_ANNOUNCED`], in no set order.
    async fn announced(&self) -> Result<Vec<Announcement>, CacheError>;

    /// Takes the lock `name` for `ttl` when nobody holds it (`SET NX PX` on Redis), on behalf
    /// of `owner`; the token proves ownership to [`renew_lock`](Self::renew_lock) and
    /// [`unlock`](Self::unlock). `None` when another owner holds it.
    async fn try_lock(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<LockToken>, CacheError>;

    /// Extends the lock to `ttl` from now, only while `token` still holds it; whether it did
    /// (false: the lock expired and may be someone else's).
    async fn renew_lock(
        &self,
        name: &str,
        token: &LockToken,
        ttl: Duration,
    ) -> Result<bool, CacheError>;

    /// Releases the lock, only when `token` holds it (compare and delete, atomically);
    /// whether it did.
    async fn unlock(&self, name: &str, token: &LockToken) -> Result<bool, CacheError>;

    /// Who holds the lock `name` now, by the owner given to `try_lock`.
    async fn lock_holder(&self, name: &str) -> Result<Option<String>, CacheError>;
}

/// One live announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The announcing instance's id.
    pub instance: String,
    /// What it announced.
    pub record: Vec<u8>,
}

/// Proof of holding a lock: the owner's name and 128 random bits, stored as the lock's value
/// (`owner/hex`), so only the holder can renew or release it.
#[derive(Clone, PartialEq, Eq)]
pub struct LockToken(String);

impl LockToken {
    /// A fresh token for `owner`.
    ///
    /// # Errors
    /// [`CacheError::Random`] when the operating system gives no randomness.
    pub fn generate(owner: &str) -> Result<Self, CacheError> {
        let mut bytes = [0_u8; 16];
        getrandom::fill(&mut bytes).map_err(|error| CacheError::Random(error.to_string()))?;
        let mut token = String::with_capacity(owner.len() + 33);
        token.push_str(owner);
        token.push('/');
        for byte in bytes {
            token.push_str(&format!("{byte:02x}"));
        }
        Ok(LockToken(token))
    }

    /// The stored form of the token.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The owner named in a stored token.
    pub(crate) fn owner_of(stored: &str) -> &str {
        stored.rsplit_once('/').map_or(stored, |(owner, _)| owner)
    }
}

impl fmt::Debug for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The random part is a credential of sorts: keep it out of logs.
        write!(f, "LockToken({}/…)", LockToken::owner_of(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_name_their_owner_and_hide_their_secret() {
        let a = LockToken::generate("api-1").unwrap();
        let b = LockToken::generate("api-1").unwrap();
        assert_ne!(a, b);
        assert_eq!(LockToken::owner_of(a.as_str()), "api-1");
        assert_eq!(a.as_str().len(), "api-1/".len() + 32);
        assert_eq!(format!("{a:?}"), "LockToken(api-1/…)");
    }
}
