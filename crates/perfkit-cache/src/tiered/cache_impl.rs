//! The two cache traits on the near cache: reads try the front, then Redis; writes go to
//! Redis, then update or drop the front; administration is Redis's plus the front's figures.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;

use super::{Remaining, TieredCache};
use crate::reserved::Scope;
use crate::{Cache, CacheAdmin, CacheError, CacheStats, NearCacheStats, OptimizeReport};

impl TieredCache {
    /// A read the front could not answer: Redis, then the front if nothing intervened.
    ///
    /// Boxed on its own: the Redis round trip's state machine is large (fred's pipeline),
    /// and inlined in `get`'s future every front hit would allocate and move it too.
    fn fill<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, CacheError>> {
        Box::pin(async move {
            let ticket = self.front.ticket(key);
            let asked = Instant::now();
            let read = self.back.get_with_ttl(key).await?;
            Ok(read.map(|(value, remaining)| {
                let value = Bytes::from(value);
                self.keep(ticket, key, &value, remaining, asked);
                value
            }))
        })
    }

    fn keep(
        &self,
        ticket: Option<super::coherence::Ticket>,
        key: &str,
        value: &Bytes,
        remaining: Remaining,
        asked: Instant,
    ) {
        if let (Some(ticket), Some(ttl)) = (ticket, remaining.front_ttl(self.config.ttl, asked)) {
            self.front.fill(ticket, key, value.clone(), ttl);
        }
    }

    /// The front's answer for `key`, a front hit counted; `Ok(None)` sends the read to Redis.
    fn front_read(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        Scope::Application.check(key)?;
        let value = self.front.read(key);
        if value.is_some() {
            self.front_hits.hit();
            self.back.count_front_hit(key);
            // The read's span (CacheAside's), if one is current and declares it.
            tracing::Span::current().record("cache.front_hit", true);
        }
        Ok(value)
    }

    fn near_stats(&self) -> NearCacheStats {
        let front = self.front.front();
        let (keys, bytes) = front.footprint();
        NearCacheStats {
            front_hits: self.front_hits.hits.load(Ordering::Relaxed),
            back_hits: 0,
            invalidations: self.front.invalidations(),
            flushes: self.front.flushes(),
            evictions: front.evictions(),
            keys,
            bytes,
            max_bytes: front.max_bytes(),
            tracking: self.front.is_live(),
        }
    }
}

#[async_trait]
impl Cache for TieredCache {
    fn backend_name(&self) -> &'static str {
        "tiered"
    }

    // Written out rather than `async fn`: a front hit is answered before any future exists,
    // so it boxes only its ready result, and a miss boxes only the fill.
    fn get<'s, 'k, 'f>(&'s self, key: &'k str) -> BoxFuture<'f, Result<Option<Vec<u8>>, CacheError>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        match self.front_read(key) {
            // The one copy: the front keeps its value.
            Ok(Some(value)) => Box::pin(std::future::ready(Ok(Some(value.to_vec())))),
            Ok(None) => Box::pin(async move { Ok(self.fill(key).await?.map(Vec::from)) }),
            Err(refused) => Box::pin(std::future::ready(Err(refused))),
        }
    }

    fn get_shared<'s, 'k, 'f>(
        &'s self,
        key: &'k str,
    ) -> BoxFuture<'f, Result<Option<Bytes>, CacheError>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        match self.front_read(key) {
            Ok(Some(value)) => Box::pin(std::future::ready(Ok(Some(value)))),
            Ok(None) => self.fill(key),
            Err(refused) => Box::pin(std::future::ready(Err(refused))),
        }
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), CacheError> {
        Scope::Application.check(key)?;
        let ticket = self.front.ticket(key);
        let asked = Instant::now();
        let written = self.back.set(key, value, ttl).await;
        let kept = written.is_ok().then(|| {
            Remaining::from_ttl(self.back.write_ttl(ttl)).front_ttl(self.config.ttl, asked)
        });
        self.front.own_write(
            ticket,
            key,
            kept.flatten().map(|ttl| (Bytes::copy_from_slice(value), ttl)),
        );
        written
    }

    async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        Scope::Application.check(key)?;
        let deleted = self.back.delete(key).await;
        self.front.own_write(None, key, None);
        deleted
    }

    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        self.back.exists(key).await
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        self.back.ttl(key).await
    }

    async fn mget<'k>(&self, keys: &[&'k str]) -> Result<Vec<Option<Vec<u8>>>, CacheError> {
        Scope::Application.check_all(keys.iter().copied())?;
        let mut values: Vec<Option<Vec<u8>>> = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let value = self.front.read(key);
            if value.is_some() {
                self.front_hits.hit();
                self.back.count_front_hit(key);
            } else {
                missing.push((i, *key, self.front.ticket(key)));
            }
            values.push(value.map(Vec::from));
        }
        if missing.is_empty() {
            return Ok(values);
        }
        let asked = Instant::now();
        let names: Vec<&str> = missing.iter().map(|(_, key, _)| *key).collect();
        let read = self.back.mget_with_ttl(&names).await?;
        for ((i, key, ticket), found) in missing.into_iter().zip(read) {
            if let Some((value, remaining)) = found {
                let value = Bytes::from(value);
                self.keep(ticket, key, &value, remaining, asked);
                values[i] = Some(Vec::from(value));
            }
        }
        Ok(values)
    }

    async fn mset<'k>(
        &self,
        entries: &[(&'k str, &'k [u8])],
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        Scope::Application.check_all(entries.iter().map(|(key, _)| *key))?;
        let written = self.back.mset(entries, ttl).await;
        // Dropped rather than updated: several keys may share a stripe, and the next read
        // fills each one anyway.
        for (key, _) in entries {
            self.front.own_write(None, key, None);
        }
        written
    }

    async fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError> {
        Scope::Application.check(key)?;
        let counted = self.back.increment(key, ttl).await;
        self.front.own_write(None, key, None);
        counted
    }
}

#[async_trait]
impl CacheAdmin for TieredCache {
    fn counters(&self) -> CacheStats {
        let mut stats = self.back.counters();
        let mut near = self.near_stats();
        near.back_hits = stats.hits;
        stats.hits += near.front_hits;
        let reads = stats.hits + stats.misses;
        #[allow(clippy::cast_precision_loss)] // a ratio; exact to 2^53 reads
        let hit_rate = if reads == 0 { 0.0 } else { stats.hits as f64 / reads as f64 };
        stats.hit_rate = hit_rate;
        stats.near = Some(near);
        stats
    }

    async fn stats(&self) -> CacheStats {
        self.back.stats().await;
        self.front.front().settle();
        self.counters()
    }

    async fn optimize(&self) -> Result<OptimizeReport, CacheError> {
        self.front.front().settle();
        self.back.optimize().await
    }

    async fn clear(&self) -> Result<u64, CacheError> {
        let cleared = self.back.clear().await;
        self.front.flush();
        cleared
    }

    async fn delete_pattern(&self, prefix: &str) -> Result<u64, CacheError> {
        let deleted = self.back.delete_pattern(prefix).await;
        self.front.forget_prefix(prefix);
        deleted
    }

    fn reserved(&self) -> Arc<dyn Cache> {
        self.back.reserved()
    }
}
