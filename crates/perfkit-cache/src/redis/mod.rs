//! The Redis backend on fred.

mod cache_impl;
mod census;
mod config;
mod coordination;
mod info;
mod settings_check;
mod start_up;
mod tls;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use fred::prelude::{
    Builder, Client, ClientLike, ClusterInterface, Config, Error as FredError, ErrorKind,
    KeysInterface, Pool, ReconnectPolicy,
};
use fred::types::Key;
use fred::types::scan::ScanResult;
use fred::types::scan::Scanner;
use futures::StreamExt;
use futures::stream::BoxStream;
use perfkit_core::{Clock, SystemClock};

use self::census::NamespaceCensus;
pub use self::config::RedisConfig;
pub use self::coordination::RedisCoordination;
pub use self::tls::RedisTls;
use crate::key_prefixes::KeyPrefixes;
use crate::namespace::Namespace;
use crate::reserved::Scope;
use crate::stats::Counters;
use crate::{CacheError, CircuitBreaker, KeyPrefixConfig, RESERVED_PREFIX, RedisServerStats};

type KeyPages<'a> = BoxStream<'a, Result<ScanResult, FredError>>;

/// A cache in Redis, shared by every instance that uses the same namespace.
///
/// Every key is `namespace + key`; `clear`, `delete_pattern` and `optimize` work by
/// `SCAN MATCH <namespace>...*` and `UNLINK` in batches, so keys of other applications in the
/// same database are never touched. Every call is bounded by `command_timeout` and guarded by
/// a [`CircuitBreaker`]; when Redis is down, reads miss, a
/// [`CacheAside`](crate::CacheAside) still computes, and the pool reconnects by itself when
/// Redis returns.
///
/// perfkit's own keys live under `namespace + `[`RESERVED_PREFIX`], reached through
/// [`reserved`](crate::CacheAdmin::reserved): a handle on the same pool and circuit breaker with its
/// own counters. The application handle's `SCAN`s skip those keys before any `UNLINK`, so
/// `clear` and `delete_pattern` (of any prefix, `""` and `"~"` included) leave them, and
/// `optimize` neither touches nor counts them.
///
/// What the figures count: hits, misses and errors are this handle's own (reserved reads are
/// counted on the reserved handle); keys and bytes are the namespace's own, counted by a
/// bounded `SCAN` of every primary a step per refresh, bytes from sampled `MEMORY USAGE`
/// (estimates: see [`NamespaceCount`](crate::NamespaceCount)); evictions and
/// [`server`](crate::CacheStats::server) come from `INFO`, summed over the primaries, and
/// cover the whole server.
///
/// ```no_run
/// use perfkit_cache::{Cache, CacheAdmin, RedisCache, RedisConfig};
///
/// # async fn run() -> Result<(), perfkit_cache::CacheError> {
/// let cache = RedisCache::connect(RedisConfig {
///     url: "redis://127.0.0.1:6379".to_owned(),
///     namespace: "myapp:".to_owned(),
///     ..RedisConfig::default()
/// })
/// .await?;
/// cache.set("greeting", b"hello", None).await?;
/// assert_eq!(cache.clear().await?, 1); // only myapp:* keys
/// # Ok(())
/// # }
/// ```
pub struct RedisCache {
    link: Arc<Link>,
    /// The prefix of this handle's keys: the configured namespace, plus [`RESERVED_PREFIX`]
    /// on the reserved handle.
    namespace: Namespace,
    scope: Scope,
    counters: Counters,
    /// Reads, TTLs and keys per prefix (off on the reserved handle).
    prefixes: KeyPrefixes,
    /// The namespace's keys and bytes, counted a bounded step per `stats()`.
    census: NamespaceCensus,
    /// The server's figures from the most recent `stats()`, for `counters()`.
    last_server: Mutex<Option<RedisServerStats>>,
    /// The handle on perfkit's own keys, made on first use (application handle only).
    reserved: OnceLock<Arc<RedisCache>>,
}

/// What the application handle and the reserved handle share: one pool, one breaker (they
/// reach the same server), one configuration.
struct Link {
    pool: Pool,
    /// The connection writes go through instead of the pool, when a near cache owns one: its
    /// invalidation tracking is set with `NOLOOP`, so this process's own writes do not come
    /// back to it as invalidations (see [`TieredCache`](crate::TieredCache)).
    writer: Option<Client>,
    config: RedisConfig,
    breaker: CircuitBreaker,
    /// The breaker's clock, which also spaces the namespace count's steps.
    clock: Arc<dyn Clock>,
    clustered: bool,
    db: u8,
}

impl fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCache")
            .field("config", &self.link.config)
            .field("scope", &self.scope)
            .field("breaker", &self.link.breaker.state())
            .finish_non_exhaustive()
    }
}

impl RedisCache {
    /// Connects a pool to `config.url`.
    ///
    /// When Redis does not answer within `connect_timeout`, the cache is returned anyway with
    /// its circuit breaker open, so no caller pays a timeout for a server known to be down; it
    /// fails open until the breaker's probe finds Redis back.
    ///
    /// # Errors
    /// [`CacheError::InvalidConfig`] for settings [`RedisConfig::validate`] refuses, or when
    /// Redis refuses the URL's credentials.
    pub async fn connect(config: RedisConfig) -> Result<Self, CacheError> {
        RedisCache::connect_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`connect`](Self::connect) with the circuit breaker on `clock` (a `ManualClock` in
    /// tests).
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_with_clock(
        config: RedisConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CacheError> {
        RedisCache::connect_with_writer(config, clock, None).await
    }

    /// [`connect_with_clock`](Self::connect_with_clock), sending writes through `writer`
    /// (already connecting) rather than the pool.
    pub(crate) async fn connect_with_writer(
        config: RedisConfig,
        clock: Arc<dyn Clock>,
        writer: Option<Client>,
    ) -> Result<Self, CacheError> {
        let builder = client_builder(&config)?;
        let fred_config = builder.get_config().cloned().unwrap_or_default();
        let shown_url = settings_check::redacted(&config.url);
        let db = fred_config.database.unwrap_or(0);
        let clustered = fred_config.server.is_clustered();
        let pool = builder
            .build_pool(config.pool_size.max(1))
            .map_err(|error| invalid_url(&config, &error))?;
        let breaker = CircuitBreaker::new(config.breaker, Arc::clone(&clock));
        match start_up::probe(&fred_config, config.connect_timeout).await {
            start_up::Probe::Refused(why) => {
                return Err(CacheError::InvalidConfig(format!(
                    "redis at {shown_url} refused the credentials: {why}"
                )));
            }
            start_up::Probe::Unreachable(why) => {
                // Open now: the first requests would otherwise each wait for a command
                // timeout before the breaker learnt what start-up already knows.
                breaker.trip();
                drop(pool.connect());
                tracing::warn!(url = %shown_url, %why, "redis not reachable at start-up; failing open until it is");
            }
            start_up::Probe::Ready => {
                drop(pool.connect());
                let connected = pool.wait_for_connect();
                if tokio::time::timeout(config.connect_timeout, connected).await.is_err() {
                    breaker.trip();
                    tracing::warn!(url = %shown_url, "redis not reachable at start-up; failing open until it is");
                }
            }
        }
        let namespace = Namespace::new(&config.namespace);
        let link = Link { pool, writer, config, breaker, clock, clustered, db };
        Ok(RedisCache::handle(Arc::new(link), namespace, Scope::Application))
    }

    fn handle(link: Arc<Link>, namespace: Namespace, scope: Scope) -> Self {
        let prefixes = KeyPrefixes::new(match scope {
            Scope::Application => link.config.key_prefixes,
            Scope::Reserved => KeyPrefixConfig { depth: 0, max_prefixes: 0 },
        });
        RedisCache {
            link,
            namespace,
            scope,
            counters: Counters::default(),
            prefixes,
            census: NamespaceCensus::default(),
            last_server: Mutex::new(None),
            reserved: OnceLock::new(),
        }
    }

    /// The reserved handle: same link, the reserved sub-namespace, its own counters.
    pub(crate) fn reserved_handle(&self) -> &Arc<RedisCache> {
        self.reserved.get_or_init(|| {
            let namespace = Namespace::new(&format!("{}{RESERVED_PREFIX}", self.namespace()));
            Arc::new(RedisCache::handle(Arc::clone(&self.link), namespace, Scope::Reserved))
        })
    }

    /// The prefix of every key of this cache.
    #[must_use]
    pub fn namespace(&self) -> &str {
        self.namespace.as_str()
    }

    /// The fred pool, for callers that need a command this trait does not offer. Keys written
    /// through it are not namespaced.
    #[must_use]
    pub fn pool(&self) -> &Pool {
        &self.link.pool
    }

    /// Where writes go: the near cache's writer connection when there is one, else the pool.
    pub(crate) fn writer(&self) -> &Client {
        self.link.writer.as_ref().unwrap_or_else(|| self.link.pool.next())
    }

    pub(crate) fn config(&self) -> &RedisConfig {
        &self.link.config
    }

    pub(crate) fn breaker(&self) -> &CircuitBreaker {
        &self.link.breaker
    }

    pub(crate) fn clustered(&self) -> bool {
        self.link.clustered
    }

    /// The server figures of the most recent `stats()`.
    pub(crate) fn last_server(&self) -> std::sync::MutexGuard<'_, Option<RedisServerStats>> {
        self.last_server.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a key a `SCAN` of this handle returned is this handle's to delete or examine:
    /// the application's handle skips reserved keys.
    fn owns(&self, key: &Key) -> bool {
        key.as_bytes()
            .strip_prefix(self.namespace.as_str().as_bytes())
            .is_some_and(|relative| self.scope.owns(relative))
    }

    /// Runs one Redis call under the breaker and the command timeout, counting failures.
    async fn call<T>(
        &self,
        command: &'static str,
        call: impl Future<Output = Result<T, FredError>>,
    ) -> Result<T, CacheError> {
        if !self.breaker().allow() {
            self.counters.error();
            return Err(CacheError::CircuitOpen);
        }
        let outcome = tokio::time::timeout(self.config().command_timeout, call).await;
        let result = match outcome {
            Ok(Ok(value)) => {
                self.breaker().record_success();
                return Ok(value);
            }
            Ok(Err(error)) => {
                if is_unreachable(&error) {
                    self.breaker().record_failure();
                } else {
                    self.breaker().record_success();
                }
                Err(backend_error(command, &error))
            }
            Err(_) => {
                self.breaker().record_failure();
                Err(CacheError::Timeout { command, timeout: self.config().command_timeout })
            }
        };
        self.counters.error();
        result
    }

    fn px(&self, ttl: Option<Duration>) -> Option<i64> {
        ttl.or(self.config().default_ttl)
            .map(|ttl| i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1))
    }

    /// The server's figures, summed over every primary of a cluster, unless Redis (or one
    /// primary) is unreachable.
    async fn server_stats(&self) -> Option<RedisServerStats> {
        if !self.clustered() {
            let text: String = self.call("INFO", self.pool().info(None)).await.ok()?;
            return Some(info::parse_info(&text, self.link.db));
        }
        let client = self.pool().next();
        let primaries = client.cached_cluster_state()?.unique_primary_nodes();
        let mut sum = RedisServerStats::default();
        for primary in primaries {
            let on_node = client.with_cluster_node(primary);
            let text: String = self.call("INFO", on_node.info(None)).await.ok()?;
            sum.add(&info::parse_info(&text, self.link.db));
        }
        Some(sum)
    }

    /// Starts a `SCAN MATCH pattern` (on every primary of a cluster), read page by page with
    /// [`next_page`](Self::next_page).
    fn scan(&self, pattern: String) -> Result<KeyPages<'_>, CacheError> {
        if !self.breaker().allow() {
            self.counters.error();
            return Err(CacheError::CircuitOpen);
        }
        let client = self.pool().next();
        let count = Some(self.config().scan_batch.max(1));
        Ok(if self.clustered() {
            client.scan_cluster(pattern, count, None).boxed()
        } else {
            client.scan(pattern, count, None).boxed()
        })
    }

    /// The next page of full keys this handle owns (see [`owns`](Self::owns)), `None` when
    /// the scan is complete.
    async fn next_page(&self, pages: &mut KeyPages<'_>) -> Result<Option<Vec<Key>>, CacheError> {
        let Some(mut page) = self.call("SCAN", async { pages.next().await.transpose() }).await?
        else {
            return Ok(None);
        };
        let mut keys = page.take_results().unwrap_or_default();
        keys.retain(|key| self.owns(key));
        // Asks for the following page now; SCAN tolerates the deletes we make meanwhile.
        page.next();
        Ok(Some(keys))
    }

    /// Deletes every key matching `pattern` with `UNLINK`, a page at a time.
    async fn unlink_matching(&self, pattern: String) -> Result<u64, CacheError> {
        let mut pages = self.scan(pattern)?;
        let mut deleted = 0;
        while let Some(keys) = self.next_page(&mut pages).await? {
            if !keys.is_empty() {
                deleted += self.unlink(keys).await?;
            }
        }
        Ok(deleted)
    }

    async fn unlink(&self, keys: Vec<Key>) -> Result<u64, CacheError> {
        if !self.clustered() {
            let n: i64 = self.call("UNLINK", self.writer().unlink(keys)).await?;
            return Ok(u64::try_from(n).unwrap_or(0));
        }
        // A multi-key UNLINK must stay within one hash slot on a cluster.
        let mut deleted = 0;
        for key in keys {
            let n: i64 = self.call("UNLINK", self.pool().unlink(key)).await?;
            deleted += u64::try_from(n).unwrap_or(0);
        }
        Ok(deleted)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Stop the pool's reconnect loops; without a runtime they end with it anyway.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            let writer = self.writer.clone();
            runtime.spawn(async move {
                let _ = pool.quit().await;
                if let Some(writer) = writer {
                    let _ = writer.quit().await;
                }
            });
        }
    }
}

/// A fred builder for `config`: its URL, timeouts, and a reconnect policy that keeps trying
/// while Redis is down (the cache fails open meanwhile). Shared by the pool and the near
/// cache's own connections, so they reach the same server the same way.
///
/// # Errors
/// [`CacheError::InvalidConfig`] for a malformed URL, or `rediss://` without the `tls` feature.
pub(crate) fn client_builder(config: &RedisConfig) -> Result<Builder, CacheError> {
    config.validate()?;
    let mut fred_config =
        Config::from_url(&config.url).map_err(|error| invalid_url(config, &error))?;
    #[cfg(feature = "tls")]
    if !config.tls.is_empty() {
        fred_config.tls = Some(
            fred::types::config::TlsConnector::from(tls::rustls_client::client_config(
                &config.tls,
            )?)
            .into(),
        );
    }
    // Keep reconnecting when Redis is down at start-up: the cache fails open meanwhile.
    fred_config.fail_fast = false;
    let mut builder = Builder::from_config(fred_config);
    builder
        .with_connection_config(|c| {
            c.connection_timeout = config.connect_timeout;
            c.internal_command_timeout = config.connect_timeout;
        })
        .with_performance_config(|p| p.default_command_timeout = config.command_timeout)
        .set_policy(ReconnectPolicy::new_exponential(0, 50, 1_000, 2));
    Ok(builder)
}

/// A URL fred cannot read; its password (if any) is not repeated.
fn invalid_url(config: &RedisConfig, error: &FredError) -> CacheError {
    CacheError::InvalidConfig(format!(
        "redis url {}: {error}",
        settings_check::redacted(&config.url)
    ))
}

/// Errors that mean Redis could not be reached, as opposed to Redis refusing a command.
fn is_unreachable(error: &FredError) -> bool {
    matches!(
        error.kind(),
        ErrorKind::IO
            | ErrorKind::Timeout
            | ErrorKind::Canceled
            | ErrorKind::Routing
            | ErrorKind::Backpressure
    )
}

fn backend_error(command: &'static str, error: &FredError) -> CacheError {
    CacheError::Backend { command, message: error.to_string() }
}
