//! The near cache: a bounded local front over Redis, kept coherent by Redis's invalidation
//! messages.

mod cache_impl;
mod coherence;
mod config;
mod front;
mod subscribers;
mod tracking;

use std::fmt;
use std::sync::Arc;

use fred::prelude::ClientLike;
use fred::types::RespVersion;
use perfkit_core::{Clock, SystemClock};
use tokio::task::JoinHandle;

use self::coherence::CoherentFront;
pub use self::config::NearCacheConfig;
use self::front::Front;
pub(crate) use self::front::Remaining;
use self::subscribers::Subscribers;
use self::tracking::Channel;
use crate::redis::client_builder;
use crate::{CacheError, RedisCache, RedisConfig};

/// Invalidation messages the subscriber buffers before the front counts them as missed and
/// empties itself.
const INVALIDATION_BUFFER: usize = 4096;

/// A two-tier cache: hot reads from a bounded in-process front (moka), everything else from
/// a [`RedisCache`] shared by every instance. The same [`Cache`](crate::Cache) and
/// [`CacheAdmin`](crate::CacheAdmin) as the other backends.
///
/// **Coherence.** Redis tells the front about every change to a key under the namespace
/// made by any other client (another instance, `redis-cli`, expiry, eviction) through
/// server-assisted client-side caching in broadcast mode (`CLIENT TRACKING ... BCAST`), and
/// the front drops the key as the message arrives. This instance's own writes update
/// (`set`) or drop (every other change) its front at once; `clear` and `delete_pattern`
/// drop what they delete. A read that misses asks Redis for the value and its TTL together,
/// and the entry it makes lives no longer than the key has left in Redis, nor than
/// [`NearCacheConfig::ttl`]. When the invalidation channel is lost, reconnects, or stops
/// answering its heartbeat, the front is emptied and bypassed until tracking is set up again
/// (messages may have been missed meanwhile).
///
/// **Failing open.** With Redis down the channel is down, so the front is empty and every
/// read goes to the `RedisCache`, which fails open behind its circuit breaker as usual; the
/// front fills again once Redis is back.
///
/// **Figures.** `hits` counts front and back hits; [`CacheStats::near`](crate::CacheStats)
/// has the front's own figures (front and back hits, invalidations, flushes, evictions,
/// keys, bytes). Keys and bytes at the top level are the namespace's in Redis, counted as
/// for `RedisCache`; per-prefix hits count both tiers.
///
/// **Redis Cluster.** Tracking is set on every primary, each redirecting to a subscriber on
/// that primary. A changed set of primaries (a failover, a node added or removed) is seen at
/// the latest at the next heartbeat, which asks the cluster for its topology: the front is
/// emptied and tracking set up again on the new primaries, so a front entry is at most one
/// heartbeat (plus the cluster's own failover time) behind a write made on a new primary.
///
/// Needs Redis 6 or later.
///
/// ```no_run
/// use perfkit_cache::{Cache, NearCacheConfig, RedisConfig, TieredCache};
///
/// # async fn run() -> Result<(), perfkit_cache::CacheError> {
/// let redis = RedisConfig { url: "redis://127.0.0.1:6379".to_owned(), ..RedisConfig::default() };
/// let cache = TieredCache::connect(redis, NearCacheConfig::default()).await?;
/// cache.set("user:1", b"ada", None).await?;
/// assert_eq!(cache.get("user:1").await?, Some(b"ada".to_vec())); // from the front
/// # Ok(())
/// # }
/// ```
pub struct TieredCache {
    back: RedisCache,
    front: Arc<CoherentFront>,
    config: NearCacheConfig,
    /// Reads the front answered (the back counts its own).
    front_hits: crate::stats::Counters,
    /// Owns the subscribers, which close when it ends (the back closes the writer with its
    /// pool).
    channel: JoinHandle<()>,
}

impl fmt::Debug for TieredCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TieredCache")
            .field("back", &self.back)
            .field("config", &self.config)
            .field("live", &self.front.is_live())
            .finish_non_exhaustive()
    }
}

impl TieredCache {
    /// Connects the back (a pool to `redis.url`) and the invalidation channel.
    ///
    /// Like [`RedisCache::connect`], it returns while Redis is unreachable and fails open;
    /// the front stays empty until invalidations flow.
    ///
    /// # Errors
    /// [`CacheError::InvalidConfig`] as for [`RedisCache::connect`].
    pub async fn connect(redis: RedisConfig, near: NearCacheConfig) -> Result<Self, CacheError> {
        TieredCache::connect_with_clock(redis, near, Arc::new(SystemClock)).await
    }

    /// [`connect`](Self::connect) with the circuit breaker on `clock`.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_with_clock(
        redis: RedisConfig,
        near: NearCacheConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CacheError> {
        let mut builder = client_builder(&redis)?;
        let clustered = builder.get_config().is_some_and(|c| c.server.is_clustered());
        let invalid = |error: fred::error::Error| {
            CacheError::InvalidConfig(format!("redis url {:?}: {error}", redis.url))
        };
        let writer = builder.build().map_err(invalid)?;
        builder.with_performance_config(|p| p.broadcast_channel_capacity = INVALIDATION_BUFFER);
        let subscribers = if clustered {
            // One subscriber per primary, made when tracking is set up (subscribers.rs).
            Subscribers::Cluster { builder: Box::new(builder), current: Vec::new() }
        } else {
            // RESP3: the subscriber still answers PING and CLIENT ID while subscribed.
            let subscriber =
                builder.with_config(|c| c.version = RespVersion::RESP3).build().map_err(invalid)?;
            drop(subscriber.connect());
            Subscribers::Single(subscriber)
        };
        drop(writer.connect());
        let timeout = redis.command_timeout.max(redis.connect_timeout);
        let namespace = redis.namespace.clone();
        let back = RedisCache::connect_with_writer(redis, clock, Some(writer.clone())).await?;
        let front = Arc::new(CoherentFront::new(Front::new(near.max_bytes)));
        let channel =
            Channel { subscribers, writer, namespace, heartbeat: near.heartbeat, timeout };
        let channel = tokio::spawn(channel.run(Arc::clone(&front)));
        Ok(TieredCache {
            back,
            front,
            config: near,
            front_hits: crate::stats::Counters::default(),
            channel,
        })
    }

    /// The Redis tier underneath (its pool, namespace and own counters).
    #[must_use]
    pub fn back(&self) -> &RedisCache {
        &self.back
    }

    /// Whether invalidations flow and the front serves now.
    #[must_use]
    pub fn is_tracking(&self) -> bool {
        self.front.is_live()
    }

    /// The `CLIENT ID` of the connection invalidations arrive on, while they flow (for
    /// operators matching `CLIENT LIST`, and for tests that kill it).
    #[must_use]
    pub fn invalidation_client_id(&self) -> Option<i64> {
        self.front.channel_id()
    }
}

impl Drop for TieredCache {
    fn drop(&mut self) {
        // Dropping the task's future closes its subscribers.
        self.channel.abort();
    }
}
