//! The two cache traits on Redis.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fred::prelude::{ClientLike, Expiration, KeysInterface, LuaInterface, MemoryInterface, Value};
use fred::types::ExpireOptions;

use super::RedisCache;
use crate::tiered::Remaining;
use crate::{Backend, Cache, CacheAdmin, CacheError, CacheStats, Footprint, OptimizeReport, frame};

/// INCR, and the TTL only when this INCR created the counter: atomic on the server.
const INCREMENT_SCRIPT: &str = "local n = redis.call('INCR', KEYS[1]) \
     if n == 1 and tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end \
     return n";

impl RedisCache {
    fn decode(&self, key: &str, value: &Value) -> Result<Option<Vec<u8>>, CacheError> {
        match value.as_bytes() {
            Some(stored) => frame::decode(stored)
                .map(Some)
                .map_err(|reason| CacheError::CorruptFrame { key: key.to_owned(), reason }),
            None => Ok(None),
        }
    }

    /// A read outcome, counted; an unreachable Redis reads as a miss (fail-open).
    fn count_read(
        &self,
        key: &str,
        read: Result<Value, CacheError>,
    ) -> Result<Option<Vec<u8>>, CacheError> {
        let decoded = match read {
            Ok(value) => self.decode(key, &value),
            Err(error) => {
                tracing::debug!(%error, key, "cache read failed open");
                Ok(None)
            }
        };
        match &decoded {
            Ok(Some(_)) => self.counters.hit(),
            Ok(None) => self.counters.miss(),
            Err(_) => {
                self.counters.miss();
                self.counters.error();
            }
        }
        self.prefixes.read(key, matches!(decoded, Ok(Some(_))));
        decoded
    }

    fn encode(&self, value: &[u8]) -> Vec<u8> {
        let encoded = frame::encode(value, self.config().compression_threshold);
        self.counters.saved(encoded.saved);
        encoded.frame.into_owned()
    }

    /// The TTL a write with `ttl` gets (the default when `None`); `None`: no expiry.
    pub(crate) fn write_ttl(&self, ttl: Option<Duration>) -> Option<Duration> {
        self.px(ttl).map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)))
    }

    /// `get` for a near cache: the value with the time it has left in Redis ([`Remaining`]),
    /// in one round trip (GET and PTTL pipelined on one connection). Counted and failing open
    /// exactly as `get`.
    pub(crate) async fn get_with_ttl(
        &self,
        key: &str,
    ) -> Result<Option<(Vec<u8>, Remaining)>, CacheError> {
        let mut read = self.mget_with_ttl(&[key]).await?;
        Ok(read.pop().flatten())
    }

    /// `mget` for a near cache: each value with the time it has left in Redis, GET and PTTL
    /// per key pipelined on one connection. Counted and failing open exactly as `mget`.
    pub(crate) async fn mget_with_ttl(
        &self,
        keys: &[&str],
    ) -> Result<Vec<Option<(Vec<u8>, Remaining)>>, CacheError> {
        self.scope.check_all(keys.iter().copied())?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let pipeline = self.pool().next().pipeline();
        for key in keys {
            let full = self.namespace.key(key);
            let queued: Result<(), _> = pipeline.get(full.as_str()).await;
            queued.map_err(|e| super::backend_error("GET", &e))?;
            let queued: Result<(), _> = pipeline.pttl(full).await;
            queued.map_err(|e| super::backend_error("PTTL", &e))?;
        }
        let replies: Vec<Value> = match self.call("GET", pipeline.all()).await {
            Ok(replies) => replies,
            Err(error) => {
                tracing::debug!(%error, "near cache read failed open");
                for key in keys {
                    self.counters.miss();
                    self.prefixes.read(key, false);
                }
                return Ok(vec![None; keys.len()]);
            }
        };
        let mut replies = replies.into_iter();
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            let (value, pttl) = (replies.next().unwrap_or(Value::Null), replies.next());
            let remaining = Remaining::from_pttl(pttl.and_then(|v| v.as_i64()).unwrap_or(-2));
            values.push(self.count_read(key, Ok(value))?.map(|value| (value, remaining)));
        }
        Ok(values)
    }

    /// A read of `key` answered by a near cache's front, counted under its prefix here so
    /// the prefix figures cover both tiers.
    pub(crate) fn count_front_hit(&self, key: &str) {
        self.prefixes.read(key, true);
    }
}

#[async_trait]
impl Cache for RedisCache {
    fn backend_name(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.scope.check(key)?;
        let read = self.call("GET", self.pool().get(self.namespace.key(key))).await;
        self.count_read(key, read)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError> {
        self.scope.check(key)?;
        let frame = self.encode(value);
        self.prefixes.wrote(key, self.write_ttl(ttl));
        let expire = self.px(ttl).map(Expiration::PX);
        self.call(
            "SET",
            self.writer().set::<(), _, _>(self.namespace.key(key), frame, expire, None, false),
        )
        .await
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        self.scope.check(key)?;
        let n: i64 = self.call("UNLINK", self.writer().unlink(self.namespace.key(key))).await?;
        Ok(n > 0)
    }

    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        self.scope.check(key)?;
        let n: i64 = self.call("EXISTS", self.pool().exists(self.namespace.key(key))).await?;
        Ok(n > 0)
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        self.scope.check(key)?;
        let millis: i64 = self.call("PTTL", self.pool().pttl(self.namespace.key(key))).await?;
        // -2: no such key; -1: no expiry.
        Ok(u64::try_from(millis).ok().map(Duration::from_millis))
    }

    async fn mget<'k>(&self, keys: &[&'k str]) -> Result<Vec<Option<Vec<u8>>>, CacheError> {
        self.scope.check_all(keys.iter().copied())?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let full: Vec<String> = keys.iter().map(|key| self.namespace.key(key)).collect();
        let read: Result<Vec<Value>, CacheError> = if self.clustered() {
            // MGET must stay within one hash slot on a cluster: pipeline single GETs instead.
            let pipeline = self.pool().next().pipeline();
            for key in full {
                let _: () = pipeline.get(key).await.map_err(|e| super::backend_error("GET", &e))?;
            }
            self.call("GET", pipeline.all()).await
        } else {
            self.call("MGET", self.pool().mget(full)).await
        };
        match read {
            Ok(values) => keys
                .iter()
                .zip(values)
                .map(|(key, value)| self.count_read(key, Ok(value)))
                .collect(),
            Err(error) => {
                tracing::debug!(%error, "cache mget failed open");
                for key in keys {
                    self.counters.miss();
                    self.prefixes.read(key, false);
                }
                Ok(vec![None; keys.len()])
            }
        }
    }

    async fn mset<'k>(
        &self,
        entries: &[(&'k str, &'k [u8])],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        self.scope.check_all(entries.iter().map(|(key, _)| *key))?;
        if entries.is_empty() {
            return Ok(());
        }
        let expire = self.px(ttl).map(Expiration::PX);
        for (key, _) in entries {
            self.prefixes.wrote(key, self.write_ttl(ttl));
        }
        // MSET cannot set a TTL: one SET PX per entry, sent together on one connection, where
        // fred's auto-pipelining writes them in a single batch.
        let client = self.writer();
        let sets = entries.iter().map(|(key, value)| {
            client.set::<(), _, _>(
                self.namespace.key(key),
                self.encode(value),
                expire.clone(),
                None,
                false,
            )
        });
        self.call("SET", futures::future::try_join_all(sets)).await?;
        Ok(())
    }

    async fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError> {
        self.scope.check(key)?;
        let ttl_ms = self.px(ttl).unwrap_or(0);
        self.prefixes.wrote(key, self.write_ttl(ttl));
        let full = self.namespace.key(key);
        match self.call("EVAL", self.writer().eval(INCREMENT_SCRIPT, full, ttl_ms)).await {
            Err(CacheError::Backend { message, .. }) if message.contains("not an integer") => {
                Err(CacheError::NotAnInteger { key: key.to_owned() })
            }
            other => other,
        }
    }
}

#[async_trait]
impl CacheAdmin for RedisCache {
    fn counters(&self) -> CacheStats {
        let mut stats = self.counters.snapshot(Backend::Redis);
        stats.connected = self.pool().is_connected();
        stats.breaker = self.breaker().state();
        let server = self.last_server().clone();
        if let Some(server) = &server {
            stats.evictions = server.evicted_keys;
        }
        stats.server = server;
        let counted = self.census.counted();
        stats.keys = counted.keys;
        stats.bytes = counted.bytes;
        stats.estimated = true;
        stats.count = counted.count;
        stats.prefixes = self.prefixes.figures(&counted.tally);
        stats
    }

    async fn stats(&self) -> CacheStats {
        let server = self.server_stats().await;
        *self.last_server() = server;
        self.census.step(self).await;
        self.counters()
    }

    async fn optimize(&self) -> Result<OptimizeReport, CacheError> {
        let started = Instant::now();
        // Before: the namespace count, brought up to date by one step (none within its interval).
        self.census.step(self).await;
        let counted = self.census.counted();
        let before = Footprint { keys: counted.keys, bytes: counted.bytes };
        let default_ttl = self.px(None);
        let (mut keys_scanned, mut ttl_applied, mut namespace_bytes) = (0_u64, 0_u64, 0_u64);
        let mut pages = self.scan(self.namespace.match_prefix(""))?;
        while let Some(keys) = self.next_page(&mut pages).await? {
            for key in keys {
                keys_scanned += 1;
                let millis: i64 = self.call("PTTL", self.pool().pttl(key.clone())).await?;
                if let (-1, Some(ttl)) = (millis, default_ttl) {
                    // NX: a TTL set meanwhile by a writer wins.
                    let nx = Some(ExpireOptions::NX);
                    let set: i64 =
                        self.call("PEXPIRE", self.pool().pexpire(key.clone(), ttl, nx)).await?;
                    ttl_applied += u64::try_from(set).unwrap_or(0);
                }
                if keys_scanned <= self.config().memory_sample_limit {
                    let usage: Option<u64> =
                        self.call("MEMORY USAGE", self.pool().memory_usage(key, None)).await?;
                    namespace_bytes += usage.unwrap_or(0);
                }
            }
        }
        let memory_purged = self.call("MEMORY PURGE", self.pool().memory_purge()).await.is_ok();
        // This run's own full scan: every key, bytes from the measured ones.
        let measured = keys_scanned.min(self.config().memory_sample_limit);
        let bytes = if measured == 0 {
            0
        } else {
            let total = u128::from(namespace_bytes) * u128::from(keys_scanned);
            u64::try_from(total / u128::from(measured)).unwrap_or(u64::MAX)
        };
        let after = Footprint { keys: keys_scanned, bytes };
        Ok(OptimizeReport {
            backend: Backend::Redis,
            before,
            after,
            keys_scanned,
            expired_removed: 0,
            ttl_applied,
            namespace_bytes,
            memory_purged,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    async fn clear(&self) -> Result<u64, CacheError> {
        self.unlink_matching(self.namespace.match_prefix("")).await
    }

    async fn delete_pattern(&self, prefix: &str) -> Result<u64, CacheError> {
        if self.scope.check(prefix).is_err() {
            // Only reserved keys start with it, and those are not the application's.
            return Ok(0);
        }
        self.unlink_matching(self.namespace.match_prefix(prefix)).await
    }

    fn reserved(&self) -> Arc<dyn Cache> {
        self.reserved_handle().clone()
    }
}
