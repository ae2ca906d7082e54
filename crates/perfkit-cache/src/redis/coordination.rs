//! [`RedisCoordination`]: announcements and locks in the reserved sub-namespace of a Redis
//! cache, shared by every instance on that Redis and namespace.
//!
//! Keys: `<namespace>~perfkit:instance:<id>` (the record, `PX` its TTL) and
//! `<namespace>~perfkit:lock:<name>` (the holder's token). A lock is taken with
//! `SET NX PX`, renewed and released by Lua scripts that compare the token first, so only its
//! holder can extend or delete it, atomically on the server.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::{Expiration, KeysInterface, LuaInterface, Value};
use fred::types::SetOptions;

use super::RedisCache;
use crate::CacheError;
use crate::coordination::{Announcement, Coordination, LockToken, MAX_ANNOUNCED, check_name};

/// PEXPIRE only while the caller's token holds the lock.
const RENEW_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

/// DEL only while the caller's token holds the lock.
const UNLOCK_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('DEL', KEYS[1]) else return 0 end";

const INSTANCE_PREFIX: &str = "instance:";
const LOCK_PREFIX: &str = "lock:";

/// Coordination of every instance on one Redis and namespace (see the module docs for the
/// keys). Made by [`RedisCache::coordination`]; it shares the cache's pool and circuit
/// breaker, and its keys are reserved keys: the application's `clear` leaves them.
///
/// ```no_run
/// use std::time::Duration;
/// use perfkit_cache::{Coordination, RedisCache, RedisConfig};
///
/// # async fn run() -> Result<(), perfkit_cache::CacheError> {
/// let cache = RedisCache::connect(RedisConfig::default()).await?;
/// let coordination = cache.coordination();
/// coordination.announce("api-1", b"{}", Duration::from_secs(90)).await?;
/// let live = coordination.announced().await?; // every instance on this Redis
/// # drop(live);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisCoordination {
    /// The reserved handle: its namespace ends in the reserved prefix.
    reserved: Arc<RedisCache>,
}

impl RedisCache {
    /// Coordination over this cache's Redis, in its reserved sub-namespace.
    #[must_use]
    pub fn coordination(&self) -> RedisCoordination {
        RedisCoordination { reserved: Arc::clone(self.reserved_handle()) }
    }
}

fn millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl RedisCoordination {
    fn key(&self, prefix: &str, name: &str) -> String {
        self.reserved.namespace.key(&format!("{prefix}{name}"))
    }
}

#[async_trait]
impl Coordination for RedisCoordination {
    async fn announce(
        &self,
        instance: &str,
        record: &[u8],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        check_name("instance", instance)?;
        let key = self.key(INSTANCE_PREFIX, instance);
        let expire = Some(Expiration::PX(millis(ttl)));
        let set = self.reserved.pool().set::<(), _, _>(key, record.to_vec(), expire, None, false);
        self.reserved.call("SET", set).await
    }

    async fn withdraw(&self, instance: &str) -> Result<bool, CacheError> {
        check_name("instance", instance)?;
        let key = self.key(INSTANCE_PREFIX, instance);
        let deleted: i64 = self.reserved.call("UNLINK", self.reserved.pool().unlink(key)).await?;
        Ok(deleted > 0)
    }

    async fn announced(&self) -> Result<Vec<Announcement>, CacheError> {
        let reserved = &self.reserved;
        let mut pages = reserved.scan(reserved.namespace.match_prefix(INSTANCE_PREFIX))?;
        let mut keys = Vec::new();
        while let Some(page) = reserved.next_page(&mut pages).await? {
            keys.extend(page);
            if keys.len() >= MAX_ANNOUNCED {
                keys.truncate(MAX_ANNOUNCED);
                break;
            }
        }
        let mut announced = Vec::with_capacity(keys.len());
        // One GET each: they may sit in different slots of a cluster, and there are few.
        for key in keys {
            let full = key.as_str_lossy().into_owned();
            let value: Value = reserved.call("GET", reserved.pool().get(key)).await?;
            let (Some(record), Some(instance)) = (
                value.as_bytes(),
                full.strip_prefix(reserved.namespace.as_str())
                    .and_then(|relative| relative.strip_prefix(INSTANCE_PREFIX)),
            ) else {
                continue; // expired between the scan and the read
            };
            announced.push(Announcement { instance: instance.to_owned(), record: record.to_vec() });
        }
        Ok(announced)
    }

    async fn try_lock(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<LockToken>, CacheError> {
        check_name("lock", name)?;
        check_name("owner", owner)?;
        let token = LockToken::generate(owner)?;
        let key = self.key(LOCK_PREFIX, name);
        let expire = Some(Expiration::PX(millis(ttl)));
        let set = self.reserved.pool().set::<Value, _, _>(
            key,
            token.as_str(),
            expire,
            Some(SetOptions::NX),
            false,
        );
        let answer = self.reserved.call("SET", set).await?;
        Ok((!answer.is_null()).then_some(token))
    }

    async fn renew_lock(
        &self,
        name: &str,
        token: &LockToken,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        check_name("lock", name)?;
        let key = self.key(LOCK_PREFIX, name);
        let args = vec![token.as_str().to_owned(), millis(ttl).to_string()];
        let renewed: i64 =
            self.reserved.call("EVAL", self.reserved.pool().eval(RENEW_SCRIPT, key, args)).await?;
        Ok(renewed == 1)
    }

    async fn unlock(&self, name: &str, token: &LockToken) -> Result<bool, CacheError> {
        check_name("lock", name)?;
        let key = self.key(LOCK_PREFIX, name);
        let args = vec![token.as_str().to_owned()];
        let deleted: i64 =
            self.reserved.call("EVAL", self.reserved.pool().eval(UNLOCK_SCRIPT, key, args)).await?;
        Ok(deleted == 1)
    }

    async fn lock_holder(&self, name: &str) -> Result<Option<String>, CacheError> {
        check_name("lock", name)?;
        let key = self.key(LOCK_PREFIX, name);
        let held: Option<String> = self.reserved.call("GET", self.reserved.pool().get(key)).await?;
        Ok(held.map(|token| LockToken::owner_of(&token).to_owned()))
    }
}
