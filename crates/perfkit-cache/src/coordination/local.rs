//! [`LocalCoordination`]: coordination inside one process, for a server without a shared
//! store. Its lock makes the optimizer take turns with itself (a scheduled check and a
//! manual run); its directory lists this process alone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use perfkit_core::{Clock, Timestamp};

use super::{Announcement, Coordination, LockToken, MAX_ANNOUNCED, check_name};
use crate::CacheError;

/// Most locks held at once: names come from code, so this is a bound, not a limit anyone
/// should reach.
const MAX_LOCKS: usize = 1024;

/// Coordination for one process: announcements and locks in memory, with TTLs on `clock`.
#[derive(Debug)]
pub struct LocalCoordination {
    clock: Arc<dyn Clock>,
    announcements: Mutex<HashMap<String, (Vec<u8>, Timestamp)>>,
    /// Lock name to (stored token, expiry).
    locks: Mutex<HashMap<String, (String, Timestamp)>>,
}

impl LocalCoordination {
    /// Empty, with TTLs measured on `clock`.
    #[must_use]
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        LocalCoordination {
            clock,
            announcements: Mutex::new(HashMap::new()),
            locks: Mutex::new(HashMap::new()),
        }
    }
}

/// Locks a std mutex, recovering from poisoning: every section here leaves the map whole.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl Coordination for LocalCoordination {
    async fn announce(
        &self,
        instance: &str,
        record: &[u8],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        check_name("instance", instance)?;
        let now = self.clock.now();
        let mut announcements = lock(&self.announcements);
        announcements.retain(|_, (_, expires)| *expires > now);
        if announcements.len() >= MAX_ANNOUNCED && !announcements.contains_key(instance) {
            return Err(CacheError::Full { what: "announcements", max: MAX_ANNOUNCED });
        }
        announcements.insert(instance.to_owned(), (record.to_vec(), now + ttl));
        Ok(())
    }

    async fn withdraw(&self, instance: &str) -> Result<bool, CacheError> {
        check_name("instance", instance)?;
        Ok(lock(&self.announcements).remove(instance).is_some())
    }

    async fn announced(&self) -> Result<Vec<Announcement>, CacheError> {
        let now = self.clock.now();
        Ok(lock(&self.announcements)
            .iter()
            .filter(|(_, (_, expires))| *expires > now)
            .take(MAX_ANNOUNCED)
            .map(|(instance, (record, _))| Announcement {
                instance: instance.clone(),
                record: record.clone(),
            })
            .collect())
    }

    async fn try_lock(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<LockToken>, CacheError> {
        check_name("lock", name)?;
        check_name("owner", owner)?;
        let now = self.clock.now();
        let mut locks = lock(&self.locks);
        if locks.get(name).is_some_and(|(_, expires)| *expires > now) {
            return Ok(None);
        }
        locks.retain(|_, (_, expires)| *expires > now);
        if locks.len() >= MAX_LOCKS {
            return Err(CacheError::Full { what: "locks", max: MAX_LOCKS });
        }
        let token = LockToken::generate(owner)?;
        locks.insert(name.to_owned(), (token.as_str().to_owned(), now + ttl));
        Ok(Some(token))
    }

    async fn renew_lock(
        &self,
        name: &str,
        token: &LockToken,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        check_name("lock", name)?;
        let now = self.clock.now();
        let mut locks = lock(&self.locks);
        match locks.get_mut(name) {
            Some((held, expires)) if held == token.as_str() && *expires > now => {
                *expires = now + ttl;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn unlock(&self, name: &str, token: &LockToken) -> Result<bool, CacheError> {
        check_name("lock", name)?;
        let now = self.clock.now();
        let mut locks = lock(&self.locks);
        let holds =
            locks.get(name).is_some_and(|(held, expires)| held == token.as_str() && *expires > now);
        if holds {
            locks.remove(name);
        }
        Ok(holds)
    }

    async fn lock_holder(&self, name: &str) -> Result<Option<String>, CacheError> {
        check_name("lock", name)?;
        let now = self.clock.now();
        Ok(lock(&self.locks)
            .get(name)
            .filter(|(_, expires)| *expires > now)
            .map(|(held, _)| LockToken::owner_of(held).to_owned()))
    }
}
