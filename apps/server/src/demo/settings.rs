//! The demo's settings: its `[demo]` section as the config file writes it, and the checked
//! settings the demo runs with. The demo owns them; `config` reads them into its layers and
//! never the reverse. Plain data, so a binary built without the `demo` feature still parses
//! (and refuses) them.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::Deserialize;

/// The data directory when none is given: beside where the server is started.
pub(crate) const DEFAULT_DATA_DIR: &str = "perfkit-data";

/// Most database connections the demo's pool may be given.
const MAX_POOL_SIZE: u32 = 256;
/// Most read replicas the demo takes: each is a pool and a health check.
const MAX_REPLICAS: usize = 16;
/// The longest the demo's queries may wait for a connection: within the request timeout's
/// usual range, so a request never outlives its answer.
const MAX_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest window accesses may be counted over.
const MAX_ACCESS_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);
/// The longest a hot answer may be cached: a day, so a stale answer cannot outlive one.
const MAX_HOT_TTL: Duration = Duration::from_secs(24 * 3600);
/// Most keys warmed at once.
const MAX_WARM_KEYS: usize = 1_000;
/// The file in the data directory that keeps the hottest keys between runs.
pub(crate) const HOT_KEYS_FILE: &str = "hot-keys.json";

/// The demo workload's settings (`[demo]`, when enabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DemoSettings {
    /// The embedded SQLite file's directory, or the PostgreSQL server.
    pub(crate) database: DatabaseChoice,
    /// The database's connection pool.
    pub(crate) pool: PoolSettings,
    /// How long each read stays cached.
    pub(crate) ttls: Ttls,
    /// How reads lengthen those TTLs, and which keys are warmed.
    pub(crate) hot: HotSettings,
    /// Whether a page read from the database queues the next page's load on the job queue.
    pub(crate) read_ahead: bool,
    /// Read replicas of the PostgreSQL server (none for SQLite).
    pub(crate) read_database_urls: Vec<String>,
}

/// Where the demo's data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DatabaseChoice {
    /// An SQLite file in this directory (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL server.
    Postgres(String),
}

/// The demo's connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolSettings {
    /// Most connections.
    pub(crate) size: u32,
    /// The longest a query waits for a connection. sqlx keeps retrying a database that
    /// refuses connections until this passes, so it is also how long a request waits for a
    /// database that is down before its 503.
    pub(crate) acquire_timeout: Duration,
}

/// How long each read stays cached (the guide's: pages 5 minutes, a user's posts 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ttls {
    pub(crate) page: Duration,
    pub(crate) user_posts: Duration,
}

/// The guide's access-count TTL and warming, as the demo uses them: a cached answer lives
/// `ttls` + `per_access` × its reads in the last `window`, at most `max_ttl`; the `warm_keys`
/// most read keys are loaded before serving and after a clear, and saved in `saved`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HotSettings {
    pub(crate) window: Duration,
    pub(crate) per_access: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) warm_keys: usize,
    /// The saved hottest keys: [`HOT_KEYS_FILE`] in the data directory.
    pub(crate) saved: PathBuf,
}

/// `[demo]` as the config file writes it.
#[derive(Debug, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub(crate) struct DemoSection {
    pub(crate) enabled: Option<bool>,
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) database_url: Option<String>,
    pub(crate) read_database_urls: Vec<String>,
    pool_size: u32,
    #[serde(with = "perfkit::core::duration")]
    acquire_timeout: Duration,
    #[serde(with = "perfkit::core::duration")]
    page_ttl: Duration,
    #[serde(with = "perfkit::core::duration")]
    user_posts_ttl: Duration,
    #[serde(with = "perfkit::core::duration")]
    access_window: Duration,
    #[serde(with = "perfkit::core::duration")]
    ttl_per_access: Duration,
    #[serde(with = "perfkit::core::duration")]
    max_ttl: Duration,
    warm_keys: usize,
    read_ahead: bool,
}

perfkit::core::maps_only!(DemoSection);

impl Default for DemoSection {
    fn default() -> Self {
        DemoSection {
            enabled: None,
            data_dir: None,
            database_url: None,
            read_database_urls: Vec::new(),
            pool_size: 8,
            acquire_timeout: Duration::from_secs(2),
            page_ttl: Duration::from_secs(5 * 60),
            user_posts_ttl: Duration::from_secs(10 * 60),
            // The guide's rule: 1 min more per read over 24 h, at most 1 h.
            access_window: Duration::from_secs(24 * 3600),
            ttl_per_access: Duration::from_secs(60),
            max_ttl: Duration::from_secs(3600),
            warm_keys: 50,
            // Off: with it, which reads hit depends on when a background job ran.
            read_ahead: false,
        }
    }
}

impl DemoSection {
    /// The demo's settings, checked: a PostgreSQL URL when one is given (by whichever layer
    /// won), else the SQLite file's directory; read replicas only beside PostgreSQL; a pool
    /// size and TTLs in range.
    pub(crate) fn settings(
        &self,
        database_url: Option<String>,
        read_database_urls: Vec<String>,
        data_dir: Option<PathBuf>,
    ) -> Result<DemoSettings> {
        let data_dir = data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let hot = self.hot_settings(data_dir.join(HOT_KEYS_FILE))?;
        let database = match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                DatabaseChoice::Postgres(url)
            }
            Some(_) => bail!("the database URL must start with postgres:// or postgresql://"),
            None => DatabaseChoice::Sqlite(data_dir),
        };
        if !read_database_urls.is_empty() && !matches!(database, DatabaseChoice::Postgres(_)) {
            bail!("read replicas (--read-database-url) need a PostgreSQL --database-url");
        }
        if read_database_urls.len() > MAX_REPLICAS {
            bail!("at most {MAX_REPLICAS} read replicas, got {}", read_database_urls.len());
        }
        if let Some(url) = read_database_urls
            .iter()
            .find(|url| !(url.starts_with("postgres://") || url.starts_with("postgresql://")))
        {
            bail!("the read replica URL {url:?} must start with postgres:// or postgresql://");
        }
        if !(1..=MAX_POOL_SIZE).contains(&self.pool_size) {
            bail!("demo.poolSize must be in 1..={MAX_POOL_SIZE}, got {}", self.pool_size);
        }
        if self.acquire_timeout.is_zero() || self.acquire_timeout > MAX_ACQUIRE_TIMEOUT {
            bail!(
                "demo.acquireTimeout must be more than 0s and at most {MAX_ACQUIRE_TIMEOUT:?}, got {:?}",
                self.acquire_timeout
            );
        }
        if self.page_ttl.is_zero() || self.user_posts_ttl.is_zero() {
            bail!("demo.pageTtl and demo.userPostsTtl must be more than 0s");
        }
        Ok(DemoSettings {
            database,
            pool: PoolSettings { size: self.pool_size, acquire_timeout: self.acquire_timeout },
            ttls: Ttls { page: self.page_ttl, user_posts: self.user_posts_ttl },
            hot,
            read_ahead: self.read_ahead,
            read_database_urls,
        })
    }

    /// The access-count TTL and warming settings, each in range: the cap no shorter than
    /// either base TTL, so a hot answer never lives less than a cold one.
    fn hot_settings(&self, saved: PathBuf) -> Result<HotSettings> {
        if self.access_window < Duration::from_secs(1) || self.access_window > MAX_ACCESS_WINDOW {
            bail!(
                "demo.accessWindow must be 1s..={MAX_ACCESS_WINDOW:?}, got {:?}",
                self.access_window
            );
        }
        let longest_base = self.page_ttl.max(self.user_posts_ttl);
        if self.max_ttl < longest_base || self.max_ttl > MAX_HOT_TTL {
            bail!(
                "demo.maxTtl must be at least demo.pageTtl and demo.userPostsTtl ({longest_base:?}) \
                 and at most {MAX_HOT_TTL:?}, got {:?}",
                self.max_ttl
            );
        }
        if self.warm_keys > MAX_WARM_KEYS {
            bail!("demo.warmKeys must be 0..={MAX_WARM_KEYS}, got {}", self.warm_keys);
        }
        Ok(HotSettings {
            window: self.access_window,
            per_access: self.ttl_per_access,
            max_ttl: self.max_ttl,
            warm_keys: self.warm_keys,
            saved,
        })
    }
}
