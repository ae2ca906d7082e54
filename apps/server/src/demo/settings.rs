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

/// The demo workload's settings (`[demo]`, when enabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DemoSettings {
    /// The embedded SQLite file's directory, or the PostgreSQL server.
    pub(crate) database: DatabaseChoice,
    /// The database's connection pool.
    pub(crate) pool: PoolSettings,
    /// How long each read stays cached.
    pub(crate) ttls: Ttls,
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
        let database = match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                DatabaseChoice::Postgres(url)
            }
            Some(_) => bail!("the database URL must start with postgres:// or postgresql://"),
            None => {
                DatabaseChoice::Sqlite(data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)))
            }
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
            read_ahead: self.read_ahead,
            read_database_urls,
        })
    }
}
