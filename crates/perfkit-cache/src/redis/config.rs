//! The Redis backend's settings and their defaults: where Redis is, the pool, the timeouts that
//! bound every call, the namespace, compression and the circuit breaker.

use std::time::Duration;

use super::tls::RedisTls;
use crate::{BreakerConfig, CacheError, KeyPrefixConfig};

/// Settings of a [`RedisCache`](crate::RedisCache).
///
/// `url` takes `redis://[user:pass@]host[:port][/db]`, `redis-cluster://host:port?node=...`
/// for Redis Cluster, and `rediss://` (TLS) when the crate's `tls` feature is on.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// Where Redis is.
    pub url: String,
    /// Connections in the pool; commands are auto-pipelined on each.
    pub pool_size: usize,
    /// How long to wait for a connection at start-up (the cache starts anyway, failing open).
    pub connect_timeout: Duration,
    /// The longest any call waits for Redis; past it the call fails and counts towards the
    /// circuit breaker.
    pub command_timeout: Duration,
    /// The prefix of every key this cache writes, reads and deletes.
    pub namespace: String,
    /// The TTL of writes that pass `None`, and the TTL `optimize` gives to namespace keys that
    /// have none; `None` leaves such keys without expiry.
    pub default_ttl: Option<Duration>,
    /// Values of at least this many bytes are lz4-compressed.
    pub compression_threshold: usize,
    /// Keys asked per `SCAN` page, and so deleted per `UNLINK`.
    pub scan_batch: u32,
    /// Keys whose `MEMORY USAGE` one `optimize` run, or one pass of the namespace count,
    /// measures at most.
    pub memory_sample_limit: u64,
    /// `SCAN` pages one refresh ([`stats`](crate::CacheAdmin::stats)) reads at most to count
    /// the namespace's keys; a pass over a large database spans several refreshes.
    pub count_pages_per_step: u32,
    /// Keys per `SCAN` page whose `MEMORY USAGE` the count reads; bytes are their average
    /// times the keys counted.
    pub count_samples_per_page: u32,
    /// The shortest time between two steps of the count, so a client calling
    /// `/cache/stats` in a loop cannot make it scan faster.
    pub count_interval: Duration,
    /// How reads and keys are counted per key prefix (`CacheStats::prefixes`).
    pub key_prefixes: KeyPrefixConfig,
    /// When the circuit breaker opens.
    pub breaker: BreakerConfig,
    /// The files of a `rediss://` connection (CA, client certificate and key); empty: the
    /// system's roots, no client certificate.
    pub tls: RedisTls,
}

// The URL may hold a password: `{:?}` shows it redacted, so a config can be logged.
impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &format_args!("{}", super::settings_check::redacted(&self.url)))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("namespace", &self.namespace)
            .field("default_ttl", &self.default_ttl)
            .field("compression_threshold", &self.compression_threshold)
            .field("scan_batch", &self.scan_batch)
            .field("memory_sample_limit", &self.memory_sample_limit)
            .field("count_pages_per_step", &self.count_pages_per_step)
            .field("count_samples_per_page", &self.count_samples_per_page)
            .field("count_interval", &self.count_interval)
            .field("key_prefixes", &self.key_prefixes)
            .field("breaker", &self.breaker)
            .field("tls", &self.tls)
            .finish()
    }
}

impl RedisConfig {
    /// Checks the settings that cannot work whatever Redis does: a URL whose scheme is not
    /// `redis`, `rediss`, `redis-cluster` or `rediss-cluster`, a malformed host, port or
    /// database, a `rediss://` URL without the `tls` feature, and TLS files that cannot be
    /// read or are not PEM. [`RedisCache::connect`](crate::RedisCache::connect) runs it too;
    /// a program calls it first to refuse such settings before it starts anything.
    ///
    /// ```
    /// use perfkit_cache::RedisConfig;
    ///
    /// let config = |url: &str| RedisConfig { url: url.to_owned(), ..RedisConfig::default() };
    /// assert!(config("redis://127.0.0.1:6379/0").validate().is_ok());
    /// assert!(config("http://nope").validate().is_err());
    /// assert!(config("redis://127.0.0.1:99999").validate().is_err());
    /// ```
    ///
    /// # Errors
    /// [`CacheError::InvalidConfig`], saying what is wrong; a password in the URL is never
    /// shown.
    pub fn validate(&self) -> Result<(), CacheError> {
        super::settings_check::check(self)
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: "redis://127.0.0.1:6379".to_owned(),
            pool_size: 4,
            connect_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_millis(500),
            namespace: "perfkit:".to_owned(),
            default_ttl: Some(Duration::from_secs(300)),
            compression_threshold: 1024,
            scan_batch: 500,
            memory_sample_limit: 10_000,
            count_pages_per_step: 64,
            count_samples_per_page: 16,
            count_interval: Duration::from_secs(1),
            key_prefixes: KeyPrefixConfig::default(),
            breaker: BreakerConfig::default(),
            tls: RedisTls::default(),
        }
    }
}
