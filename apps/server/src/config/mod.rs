//! The server's settings, from four layers: a flag wins over its environment variable, which
//! wins over the config file, which wins over the default.
//!
//! The config file is TOML, camelCase like the API. Durations are humantime text (`"30s"`,
//! `"5m"`, `"1h 30m"`, `"250ms"`), the same form the API writes; whole milliseconds
//! (`30000`), the guide's form, are still read.
//!
//! ```toml
//! [server]
//! bind = "127.0.0.1:8080"
//! logFormat = "json"          # or "pretty"
//! adminToken = "..."          # else PERFKIT_ADMIN_TOKEN, else generated and logged once
//! shutdownGrace = "10s"       # longest wait for in-flight requests on SIGTERM
//! headerReadTimeout = "60s"   # longest wait for a request head, then the connection closes
//! keepAliveTimeout = "75s"    # longest a connection may idle between requests
//! maxConnections = 10000      # one more is accepted and closed at once
//! runtime = "multi-thread"    # or "current-thread": every task on one thread
//! corsOrigins = []            # origins whose pages may call the API; empty: CORS off
//!
//! [cache]
//! redisUrl = "redis://127.0.0.1:6379"   # absent: the in-memory cache
//! namespace = "perfkit:"
//! memoryMaxBytes = 67108864
//! redisPoolSize = 4
//! connectTimeout = "2s"
//! commandTimeout = "500ms"
//! defaultTtl = "5m"           # "0s": entries written without a TTL never expire
//! nearCache = true            # with redisUrl: a local front over Redis (--no-near-cache)
//! nearCacheMaxBytes = 33554432
//! nearCacheTtl = "10s"        # the longest a key stays in the front
//! keyPrefixDepth = 2          # segments per key prefix in the per-prefix figures (0: off)
//! maxKeyPrefixes = 64         # prefixes tracked; later ones are counted as "(other)"
//! tlsCaFile = "ca.pem"        # rediss:// only (the `tls` feature): the CA that signed Redis's
//! tlsCertFile = "client.pem"  # certificate, and a client certificate with its key
//! tlsKeyFile = "client.key"
//!
//! [api]                       # perfkit_axum::ApiConfig (the token is [server]'s)
//! apiPrefix = "/api/performance"
//! protectReads = false
//! bodyLimit = 65536
//! requestTimeout = "30s"
//!
//! [demo]
//! enabled = true
//! dataDir = "perfkit-data"    # where the embedded SQLite database lives (created, seeded)
//! databaseUrl = "postgres://user@127.0.0.1:5433/blog"   # absent: the SQLite file
//! readDatabaseUrls = []       # read replicas of databaseUrl: reads there, writes to it
//! poolSize = 8                # most database connections
//! acquireTimeout = "2s"       # longest wait for a connection (then a JSON 503)
//! pageTtl = "5m"              # how long /api/posts pages stay cached
//! userPostsTtl = "10m"        # how long /api/users/{id}/posts answers stay cached
//! readAhead = false           # a page read from the database queues the next one's load
//!
//! [dashboard]                 # perfkit_axum::DashboardConfig
//! businessMetrics = ["orders_placed", 'page_reads{depth="1"}']   # absent: the demo's three
//!                             # with the demo on, else the first series emitted
//!
//! [business]                  # perfkit::metrics::BusinessConfig (the metrics facade)
//! maxSeriesPerName = 256      # label sets per name; the rest fold into one overflow series
//! buckets = { checkout_value = [10, 50, 100, 500] }   # histogram bounds by name
//!
//! [service]                   # perfkit::ServiceConfig
//! collectInterval = "30s"
//!
//! [optimizer]                 # perfkit::optimizer::OptimizerConfig
//! mode = { auto = true, dryRun = false }
//! cooldowns = { scaleWorkers = "3m" }
//!
//! [[alerts.rules]]            # perfkit::alerting::RuleSet; absent: the guide's five rules and replica lag
//!                             # (and with the demo on, its demo_deep_page_reads)
//! name = "slow"
//! for = "1m"
//! ...
//!
//! [[alerts.inhibitRules]]     # perfkit::alerting::InhibitRule; absent: the default one
//! sourceMatchers = [{ label = "severity", anyOf = ["critical"] }]
//! targetMatchers = [{ label = "severity", anyOf = ["low"] }]
//!
//! [tracing]                   # traces over OTLP/HTTP: see `tracing_section`
//! endpoint = "http://collector:4318"
//! sampler = "parentbased_traceidratio"
//! samplerArg = 0.1
//!
//! [notifiers]                 # perfkit::alerting::NotifiersConfig
//! log = true
//! alertmanagerResend = "1m"
//! [[notifiers.webhooks]]
//! url = "https://hooks.example/perfkit"
//! bearerToken = "..."
//! [[notifiers.alertmanagers]]
//! url = "http://127.0.0.1:9093"
//! ```
//!
//! `--alertmanager-url` and `--webhook-url` (each repeatable) and `PERFKIT_ALERTMANAGER_URL`,
//! `PERFKIT_WEBHOOK_URL` (comma-separated) replace the file's lists; `PERFKIT_WEBHOOK_TOKEN`
//! is the bearer token of the webhooks they name. SIGHUP re-reads the file: see `reload`.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use perfkit::ServiceConfig;
use perfkit::alerting::{InhibitRule, NotifiersConfig, RuleSet};
use perfkit::cache::{KeyPrefixConfig, MemoryConfig, NearCacheConfig, RedisConfig, RedisTls};
use perfkit::metrics::BusinessConfig;
use perfkit::optimizer::{OptimizerConfig, OptimizerError};
use perfkit_axum::{ApiConfig, BusinessMetric, DashboardConfig, MAX_BUSINESS_METRICS};
use serde::Deserialize;

use crate::cli::Cli;
use crate::demo::settings::{DemoSection, DemoSettings};
use crate::logging::LogFormat;
use crate::runtime::Runtime;
use crate::serve::{
    ConnectionLimits, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
};

/// Where the server listens unless told otherwise: loopback only, so a first run exposes
/// nothing.
pub(crate) const DEFAULT_BIND: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));

/// The Redis key prefix unless told otherwise.
pub(crate) const DEFAULT_NAMESPACE: &str = "perfkit:";

/// Longest namespace accepted; a bound on every key's length.
const MAX_NAMESPACE_LEN: usize = 128;

/// The server's settings, every layer applied and checked.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) bind: SocketAddr,
    pub(crate) log_format: LogFormat,
    /// The tokio runtime the server runs on.
    pub(crate) runtime: Runtime,
    /// `None`: make one at start-up.
    pub(crate) admin_token: Option<Secret>,
    pub(crate) shutdown_grace: Duration,
    /// Connection timeouts and the cap.
    pub(crate) connections: ConnectionLimits,
    /// Origins whose pages may call the API from a browser; empty: no CORS headers at all.
    pub(crate) cors_origins: Vec<String>,
    pub(crate) cache: CacheSettings,
    /// The token is not read from here but from [`Settings::admin_token`].
    pub(crate) api: ApiConfig,
    /// `None`: the demo workload is off.
    pub(crate) demo: Option<DemoSettings>,
    pub(crate) service: ServiceConfig,
    pub(crate) optimizer: OptimizerConfig,
    pub(crate) alert_rules: RuleSet,
    pub(crate) inhibit_rules: Vec<InhibitRule>,
    pub(crate) notifiers: NotifiersConfig,
    /// Caps and buckets of the series emitted through the `metrics` facade.
    pub(crate) business: BusinessConfig,
    /// `None`: traces are off.
    pub(crate) tracing: Option<TracingSettings>,
    /// `tracing.traceUrl`: where a trace id links to (the dashboard's and alerts').
    pub(crate) trace_url: Option<perfkit::core::TraceUrl>,
}

/// Which cache backs the service.
#[derive(Debug, Clone, PartialEq)]
// Made once at start-up (and per reload): the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum CacheSettings {
    Memory(MemoryConfig),
    /// Redis, with a near cache in front unless `near` is `None`.
    Redis {
        redis: RedisConfig,
        near: Option<NearCacheConfig>,
    },
}

/// A value kept out of `Debug` output and logs.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The settings one layer may give; `None` leaves the choice to the layers below.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Layer {
    pub(crate) bind: Option<SocketAddr>,
    pub(crate) redis_url: Option<String>,
    pub(crate) namespace: Option<String>,
    pub(crate) near_cache: Option<bool>,
    pub(crate) demo: Option<bool>,
    pub(crate) database_url: Option<String>,
    /// Replaces the file's `demo.readDatabaseUrls` when set.
    pub(crate) read_database_urls: Option<Vec<String>>,
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) log_format: Option<LogFormat>,
    pub(crate) admin_token: Option<Secret>,
    /// Replaces the file's `[[notifiers.alertmanagers]]` when set.
    pub(crate) alertmanager_urls: Option<Vec<String>>,
    /// Replaces the file's `[[notifiers.webhooks]]` when set.
    pub(crate) webhook_urls: Option<Vec<String>>,
    /// The bearer token of the webhooks in `webhook_urls` (environment only).
    pub(crate) webhook_token: Option<Secret>,
    /// This instance's id (the file gives it as `service.instance`).
    pub(crate) instance_id: Option<String>,
    pub(crate) header_read_timeout: Option<Duration>,
    pub(crate) keep_alive_timeout: Option<Duration>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) runtime: Option<Runtime>,
    /// `[tracing]`, the `OTEL_*` variables and the tracing flags.
    pub(crate) tracing: TracingLayer,
}

impl Layer {
    /// The flags given on the command line.
    pub(crate) fn from_cli(cli: &Cli) -> Layer {
        Layer {
            bind: cli.bind,
            redis_url: cli.redis_url.clone(),
            namespace: cli.namespace.clone(),
            // A switch that only turns it off: absent leaves the choice to the layers below.
            near_cache: cli.no_near_cache.then_some(false),
            demo: cli.demo,
            database_url: cli.database_url.clone(),
            read_database_urls: (!cli.read_database_url.is_empty())
                .then(|| cli.read_database_url.clone()),
            data_dir: cli.data_dir.clone(),
            log_format: cli.log_format,
            admin_token: None,
            alertmanager_urls: (!cli.alertmanager_url.is_empty())
                .then(|| cli.alertmanager_url.clone()),
            webhook_urls: (!cli.webhook_url.is_empty()).then(|| cli.webhook_url.clone()),
            webhook_token: None,
            instance_id: cli.instance_id.clone(),
            header_read_timeout: cli.header_read_timeout,
            keep_alive_timeout: cli.keep_alive_timeout,
            max_connections: cli.max_connections,
            runtime: cli.runtime,
            tracing: TracingLayer::from_cli(cli),
        }
    }

    /// The `PERFKIT_*` variables, read through `var` (the process environment, or a table in
    /// tests). An empty variable counts as unset.
    pub(crate) fn from_env(var: &dyn Fn(&str) -> Option<String>) -> Result<Layer> {
        let get = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let bind = get("PERFKIT_BIND")
            .map(|value| {
                value.trim().parse::<SocketAddr>().with_context(|| {
                    format!("PERFKIT_BIND={value:?} is not an address like 127.0.0.1:8080")
                })
            })
            .transpose()?;
        let demo = get("PERFKIT_DEMO")
            .map(|value| {
                parse_bool(&value)
                    .with_context(|| format!("PERFKIT_DEMO={value:?} is not a boolean"))
            })
            .transpose()?;
        let near_cache = get("PERFKIT_NEAR_CACHE")
            .map(|value| {
                parse_bool(&value)
                    .with_context(|| format!("PERFKIT_NEAR_CACHE={value:?} is not a boolean"))
            })
            .transpose()?;
        let log_format = get("PERFKIT_LOG_FORMAT")
            .map(|value| {
                value
                    .parse::<LogFormat>()
                    .map_err(|why| anyhow::anyhow!("PERFKIT_LOG_FORMAT={value:?}: {why}"))
            })
            .transpose()?;
        let runtime = get("PERFKIT_RUNTIME")
            .map(|value| {
                value
                    .parse::<Runtime>()
                    .map_err(|why| anyhow::anyhow!("PERFKIT_RUNTIME={value:?}: {why}"))
            })
            .transpose()?;
        let duration = |name: &str| {
            get(name)
                .map(|value| {
                    crate::cli::parse_duration(&value).map_err(|why| {
                        anyhow::anyhow!("{name}={value:?} is not a duration like 30s: {why}")
                    })
                })
                .transpose()
        };
        let max_connections = get("PERFKIT_MAX_CONNECTIONS")
            .map(|value| {
                value.trim().parse::<usize>().with_context(|| {
                    format!("PERFKIT_MAX_CONNECTIONS={value:?} is not a whole number")
                })
            })
            .transpose()?;
        Ok(Layer {
            header_read_timeout: duration("PERFKIT_HEADER_READ_TIMEOUT")?,
            keep_alive_timeout: duration("PERFKIT_KEEP_ALIVE_TIMEOUT")?,
            max_connections,
            runtime,
            bind,
            redis_url: get("PERFKIT_REDIS_URL"),
            namespace: get("PERFKIT_NAMESPACE"),
            near_cache,
            demo,
            database_url: get("PERFKIT_DATABASE_URL"),
            read_database_urls: get("PERFKIT_READ_DATABASE_URL").map(|v| url_list(&v)),
            data_dir: get("PERFKIT_DATA_DIR").map(PathBuf::from),
            log_format,
            admin_token: get("PERFKIT_ADMIN_TOKEN").map(Secret),
            alertmanager_urls: get("PERFKIT_ALERTMANAGER_URL").map(|v| url_list(&v)),
            webhook_urls: get("PERFKIT_WEBHOOK_URL").map(|v| url_list(&v)),
            webhook_token: get("PERFKIT_WEBHOOK_TOKEN").map(Secret),
            instance_id: get("PERFKIT_INSTANCE_ID"),
            tracing: TracingLayer::from_env(var)?,
        })
    }

    fn from_file(file: &FileConfig) -> Layer {
        Layer {
            bind: file.server.bind,
            redis_url: file.cache.redis_url.clone(),
            namespace: file.cache.namespace.clone(),
            near_cache: file.cache.near_cache,
            demo: file.demo.enabled,
            database_url: file.demo.database_url.clone(),
            read_database_urls: Some(file.demo.read_database_urls.clone()),
            data_dir: file.demo.data_dir.clone(),
            log_format: file.server.log_format,
            admin_token: file.server.admin_token.clone().filter(|t| !t.is_empty()).map(Secret),
            // The file's notifier lists stay in `[notifiers]`, tokens and names included.
            alertmanager_urls: None,
            webhook_urls: None,
            webhook_token: None,
            // `service.instance` always has a value (generated when absent): applied last.
            instance_id: None,
            header_read_timeout: file.server.header_read_timeout,
            keep_alive_timeout: file.server.keep_alive_timeout,
            max_connections: file.server.max_connections,
            runtime: file.server.runtime,
            tracing: TracingLayer::from_file(&file.tracing),
        }
    }

    /// This layer over `below`: each setting from here when set, else from below.
    #[must_use]
    pub(crate) fn over(self, below: Layer) -> Layer {
        Layer {
            bind: self.bind.or(below.bind),
            redis_url: self.redis_url.or(below.redis_url),
            namespace: self.namespace.or(below.namespace),
            near_cache: self.near_cache.or(below.near_cache),
            demo: self.demo.or(below.demo),
            database_url: self.database_url.or(below.database_url),
            read_database_urls: self.read_database_urls.or(below.read_database_urls),
            data_dir: self.data_dir.or(below.data_dir),
            log_format: self.log_format.or(below.log_format),
            admin_token: self.admin_token.or(below.admin_token),
            alertmanager_urls: self.alertmanager_urls.or(below.alertmanager_urls),
            webhook_urls: self.webhook_urls.or(below.webhook_urls),
            webhook_token: self.webhook_token.or(below.webhook_token),
            instance_id: self.instance_id.or(below.instance_id),
            header_read_timeout: self.header_read_timeout.or(below.header_read_timeout),
            keep_alive_timeout: self.keep_alive_timeout.or(below.keep_alive_timeout),
            max_connections: self.max_connections.or(below.max_connections),
            runtime: self.runtime.or(below.runtime),
            tracing: self.tracing.over(below.tracing),
        }
    }
}

/// A comma-separated list of URLs, blanks dropped.
fn url_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|url| !url.is_empty()).map(str::to_owned).collect()
}

fn parse_bool(text: &str) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("expected true/false, 1/0, yes/no or on/off"),
    }
}

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub(crate) struct FileConfig {
    server: ServerSection,
    cache: CacheSection,
    api: ApiConfig,
    dashboard: DashboardSection,
    business: BusinessSection,
    demo: DemoSection,
    service: ServiceConfig,
    optimizer: OptimizerConfig,
    /// Kept as TOML so [`RuleSet::from_toml`] can report every bad rule at once.
    alerts: Option<toml::Table>,
    notifiers: NotifiersConfig,
    tracing: TracingSection,
    /// Whether the file names `service.instance` (the type fills in a default otherwise).
    #[serde(skip)]
    instance_given: bool,
}

#[derive(Debug, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
struct ServerSection {
    bind: Option<SocketAddr>,
    log_format: Option<LogFormat>,
    admin_token: Option<String>,
    #[serde(with = "perfkit::core::duration")]
    shutdown_grace: Duration,
    cors_origins: Vec<String>,
    #[serde(with = "perfkit::core::duration::option")]
    header_read_timeout: Option<Duration>,
    #[serde(with = "perfkit::core::duration::option")]
    keep_alive_timeout: Option<Duration>,
    max_connections: Option<usize>,
    runtime: Option<Runtime>,
}

perfkit::core::maps_only!(ServerSection);

#[derive(Debug, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
struct CacheSection {
    redis_url: Option<String>,
    namespace: Option<String>,
    memory_max_bytes: u64,
    redis_pool_size: usize,
    #[serde(with = "perfkit::core::duration")]
    connect_timeout: Duration,
    #[serde(with = "perfkit::core::duration")]
    command_timeout: Duration,
    /// Zero: entries written without a TTL never expire.
    #[serde(with = "perfkit::core::duration")]
    default_ttl: Duration,
    /// With Redis: a near cache in front of it (absent: on).
    near_cache: Option<bool>,
    near_cache_max_bytes: u64,
    #[serde(with = "perfkit::core::duration")]
    near_cache_ttl: Duration,
    /// Segments per key prefix (`demo:posts:` at 2); 0 turns per-prefix figures off.
    key_prefix_depth: u8,
    max_key_prefixes: usize,
    tls_ca_file: Option<PathBuf>,
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
}

perfkit::core::maps_only!(CacheSection);

/// `[dashboard]` as the file writes it: entries as text, read by [`dashboard_config`] so a
/// bad one is an error naming the field.
#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
struct DashboardSection {
    /// `None`: the defaults (the demo's series with the demo on, else none).
    business_metrics: Option<Vec<String>>,
}

perfkit::core::maps_only!(DashboardSection);

/// `[business]` as the file writes it: the caps and histogram buckets of the series emitted
/// through the `metrics` facade.
#[derive(Debug, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
struct BusinessSection {
    max_names: usize,
    max_series_per_name: usize,
    max_snapshot_series: usize,
    buckets: std::collections::BTreeMap<String, Vec<f64>>,
}

impl Default for BusinessSection {
    fn default() -> Self {
        let defaults = BusinessConfig::default();
        BusinessSection {
            max_names: defaults.max_names,
            max_series_per_name: defaults.max_series_per_name,
            max_snapshot_series: defaults.max_snapshot_series,
            buckets: defaults.buckets,
        }
    }
}

perfkit::core::maps_only!(BusinessSection);

/// The facade's settings from `[business]`, every problem named by its field.
fn business_config(section: BusinessSection) -> Result<BusinessConfig> {
    let config = BusinessConfig {
        max_names: section.max_names,
        max_series_per_name: section.max_series_per_name,
        max_snapshot_series: section.max_snapshot_series,
        buckets: section.buckets,
    };
    let problems = config.problems();
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(config)
}

/// The dashboard's settings: the file's `businessMetrics`, each entry read and checked;
/// absent, the demo's series when the demo is on.
fn dashboard_config(section: &DashboardSection, demo_on: bool) -> Result<DashboardConfig> {
    const FIELD: &str = "dashboard.businessMetrics";
    let entries: Vec<&str> = match &section.business_metrics {
        Some(entries) => entries.iter().map(String::as_str).collect(),
        None if demo_on => crate::demo::series::DASHBOARD_SERIES.to_vec(),
        None => Vec::new(),
    };
    if entries.len() > MAX_BUSINESS_METRICS {
        bail!("{FIELD} has {} entries, at most {MAX_BUSINESS_METRICS}", entries.len());
    }
    let business_metrics = entries
        .iter()
        .enumerate()
        .map(|(at, entry)| {
            entry.parse::<BusinessMetric>().with_context(|| format!("{FIELD}[{at}]"))
        })
        .collect::<Result<_>>()?;
    Ok(DashboardConfig { business_metrics, ..DashboardConfig::default() })
}

impl Default for CacheSection {
    fn default() -> Self {
        let (memory, redis) = (MemoryConfig::default(), RedisConfig::default());
        let near = NearCacheConfig::default();
        CacheSection {
            redis_url: None,
            namespace: None,
            memory_max_bytes: memory.max_bytes,
            redis_pool_size: redis.pool_size,
            connect_timeout: redis.connect_timeout,
            command_timeout: redis.command_timeout,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            default_ttl: memory.default_ttl.unwrap_or_default(),
            near_cache: None,
            near_cache_max_bytes: near.max_bytes,
            near_cache_ttl: near.ttl,
            // Two: the demo's keys (and many applications') start with the app's own name.
            key_prefix_depth: 2,
            max_key_prefixes: KeyPrefixConfig::default().max_prefixes,
        }
    }
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            bind: None,
            log_format: None,
            admin_token: None,
            shutdown_grace: Duration::from_secs(10),
            cors_origins: Vec::new(),
            header_read_timeout: None,
            keep_alive_timeout: None,
            max_connections: None,
            runtime: None,
        }
    }
}

impl FileConfig {
    /// Parses the text of a config file.
    pub(crate) fn parse(text: &str) -> Result<FileConfig> {
        let mut file: FileConfig = toml::from_str(text)?;
        let table: toml::Table = toml::from_str(text)?;
        file.instance_given = table
            .get("service")
            .and_then(toml::Value::as_table)
            .is_some_and(|service| service.contains_key("instance"));
        Ok(file)
    }

    /// Reads and parses the config file at `path`.
    pub(crate) fn read(path: &Path) -> Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        FileConfig::parse(&text)
            .with_context(|| format!("config file {} is not valid", path.display()))
    }
}

/// The config file named by `--config` or `PERFKIT_CONFIG`, if any.
pub(crate) fn config_path(cli: &Cli, var: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    cli.config
        .clone()
        .or_else(|| var("PERFKIT_CONFIG").filter(|v| !v.trim().is_empty()).map(PathBuf::from))
}

/// Where the settings came from, as `GET /info` says it: the config file's path when one is
/// named; else `environment and flags` when either sets anything; else `defaults`.
pub(crate) fn source(cli: &Cli, var: &dyn Fn(&str) -> Option<String>) -> String {
    if let Some(path) = config_path(cli, var) {
        return path.display().to_string();
    }
    // An environment that does not parse never gets this far (`load` refused it first).
    let env_given = Layer::from_env(var).map_or(true, |env| env != Layer::default());
    if env_given || Layer::from_cli(cli) != Layer::default() {
        "environment and flags".to_owned()
    } else {
        "defaults".to_owned()
    }
}

/// Reads every layer: the flags in `cli`, the environment through `var`, and the config file
/// they name.
pub(crate) fn load(cli: &Cli, var: &dyn Fn(&str) -> Option<String>) -> Result<Settings> {
    let env = Layer::from_env(var)?;
    let file = match config_path(cli, var) {
        Some(path) => FileConfig::read(&path)?,
        None => FileConfig::default(),
    };
    resolve(Layer::from_cli(cli), env, file)
}

/// Applies the layers in order and checks the result.
/// The router's own check (token strength, API prefix), run with the settings so that a weak
/// token is a settings error (exit 2) before anything binds. A token that is not configured
/// is generated later, strong by construction.
fn check_api(api: &ApiConfig, token: Option<&Secret>) -> Result<()> {
    let placeholder = "a-generated-token-is-64-hex-digits";
    let admin_token = token.map_or(placeholder, |token| token.0.as_str()).to_owned();
    match (ApiConfig { admin_token, ..api.clone() }).validate() {
        Ok(()) => Ok(()),
        Err(error @ perfkit_axum::ApiConfigError::InvalidPrefix { .. }) => {
            Err(error).context("api.apiPrefix")
        }
        Err(error) => {
            Err(error).context("the admin token (PERFKIT_ADMIN_TOKEN or server.adminToken)")
        }
    }
}

pub(crate) fn resolve(flags: Layer, env: Layer, file: FileConfig) -> Result<Settings> {
    let chosen = flags.over(env).over(Layer::from_file(&file));
    #[cfg(not(feature = "demo"))]
    refuse_demo(&chosen)?;
    let namespace = chosen.namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    if namespace.is_empty() || namespace.len() > MAX_NAMESPACE_LEN {
        bail!(
            "namespace must be 1 to {MAX_NAMESPACE_LEN} characters: an empty one would let \
             clearing the cache delete every key in Redis"
        );
    }
    let default_ttl = Some(file.cache.default_ttl).filter(|ttl| !ttl.is_zero());
    if file.cache.max_key_prefixes > 1000 {
        bail!("cache.maxKeyPrefixes must be at most 1000, got {}", file.cache.max_key_prefixes);
    }
    let key_prefixes = KeyPrefixConfig {
        depth: file.cache.key_prefix_depth,
        max_prefixes: file.cache.max_key_prefixes,
    };
    let cache = match chosen.redis_url {
        Some(url) => {
            if file.cache.redis_pool_size == 0 || file.cache.redis_pool_size > 256 {
                bail!("cache.redisPoolSize must be in 1..=256, got {}", file.cache.redis_pool_size);
            }
            let near = chosen.near_cache.unwrap_or(true).then_some(NearCacheConfig {
                max_bytes: file.cache.near_cache_max_bytes,
                ttl: file.cache.near_cache_ttl,
                ..NearCacheConfig::default()
            });
            if near.is_some_and(|near| near.max_bytes == 0 || near.ttl.is_zero()) {
                bail!(
                    "cache.nearCacheMaxBytes and cache.nearCacheTtl must be more than 0; to \
                     read every value from Redis, turn the near cache off (--no-near-cache)"
                );
            }
            let redis = RedisConfig {
                url,
                pool_size: file.cache.redis_pool_size,
                connect_timeout: file.cache.connect_timeout,
                command_timeout: file.cache.command_timeout,
                namespace,
                default_ttl,
                key_prefixes,
                tls: RedisTls {
                    ca_file: file.cache.tls_ca_file.clone(),
                    cert_file: file.cache.tls_cert_file.clone(),
                    key_file: file.cache.tls_key_file.clone(),
                },
                ..RedisConfig::default()
            };
            // A URL that cannot work is a wrong setting, not a Redis that is down: refuse it
            // here, before anything starts, rather than fail open forever.
            redis.validate()?;
            CacheSettings::Redis { redis, near }
        }
        None => CacheSettings::Memory(MemoryConfig {
            max_bytes: file.cache.memory_max_bytes,
            default_ttl,
            key_prefixes,
            ..MemoryConfig::default()
        }),
    };
    if file.api.body_limit == 0 {
        bail!("api.bodyLimit must be at least 1 byte");
    }
    if file.api.request_timeout.is_zero() {
        bail!("api.requestTimeout must be more than 0s");
    }
    let bind = chosen.bind.unwrap_or(DEFAULT_BIND);
    let connections = connection_limits(
        chosen.header_read_timeout,
        chosen.keep_alive_timeout,
        chosen.max_connections,
    )?;
    let mut service = file.service;
    match chosen.instance_id {
        Some(instance) => service.instance = instance,
        // The same server restarted is the same instance (its persisted history comes back);
        // two servers on one host differ by port.
        None if !file.instance_given => service.instance = sections::default_instance(bind.port()),
        None => {}
    }
    service.validate().context("section [service] (or the instance id)")?;
    file.optimizer
        .validate()
        .map_err(OptimizerError::InvalidConfig)
        .context("section [optimizer]")?;
    let (mut alert_rules, inhibit_rules) = sections::alerts_section(file.alerts.as_ref())?;
    let rules_given = file.alerts.as_ref().is_some_and(|alerts| alerts.contains_key("rules"));
    if chosen.demo == Some(true) && !rules_given {
        // The defaults, with the demo's rule on one of its business series.
        let demo = RuleSet::from_json(crate::demo::series::DEEP_READS_RULE)
            .context("the demo's default alert rule")?;
        alert_rules.rules.extend(demo.rules);
        alert_rules.validate().context("the default alert rules with the demo's")?;
    }
    let notifiers = sections::notifiers_section(
        file.notifiers,
        &chosen.alertmanager_urls,
        &chosen.webhook_urls,
        chosen.webhook_token.as_ref(),
    )?;
    crate::security::check_exposure(bind, chosen.admin_token.is_some())?;
    check_api(&file.api, chosen.admin_token.as_ref())?;
    crate::security::check_cors_origins(&file.server.cors_origins).context("server.corsOrigins")?;
    let dashboard = dashboard_config(&file.dashboard, chosen.demo == Some(true))?;
    let business = business_config(file.business)?;
    let tracing = tracing_section::resolve(chosen.tracing, &file.tracing)?;
    let trace_url = tracing_section::trace_url(&file.tracing)?;
    let dashboard = DashboardConfig { trace_url: trace_url.clone(), ..dashboard };
    Ok(Settings {
        bind,
        log_format: chosen.log_format.unwrap_or_default(),
        runtime: chosen.runtime.unwrap_or_default(),
        admin_token: chosen.admin_token,
        shutdown_grace: file.server.shutdown_grace,
        connections,
        cors_origins: file.server.cors_origins,
        cache,
        api: ApiConfig { dashboard, ..file.api },
        business,
        demo: match chosen.demo {
            Some(true) => {
                let replicas = chosen.read_database_urls.unwrap_or_default();
                Some(file.demo.settings(chosen.database_url, replicas, chosen.data_dir)?)
            }
            _ => None,
        },
        service,
        optimizer: file.optimizer,
        alert_rules,
        inhibit_rules,
        notifiers,
        tracing,
        trace_url,
    })
}

mod sections;
mod tracing_section;

use tracing_section::TracingSection;
pub(crate) use tracing_section::{TracingLayer, TracingSettings};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod reference;

#[cfg(test)]
mod properties;

/// Without the `demo` feature, any demo setting is a mistake worth stopping for: the demo
/// was asked for and cannot run. (Built either way, so the default build tests it.)
#[cfg_attr(feature = "demo", allow(dead_code))]
fn refuse_demo(chosen: &Layer) -> Result<()> {
    let asked = [
        (chosen.demo == Some(true), "--demo (PERFKIT_DEMO, demo.enabled)"),
        (chosen.database_url.is_some(), "--database-url (PERFKIT_DATABASE_URL, demo.databaseUrl)"),
        (
            chosen.read_database_urls.as_ref().is_some_and(|urls| !urls.is_empty()),
            "--read-database-url (PERFKIT_READ_DATABASE_URL, demo.readDatabaseUrls)",
        ),
        (chosen.data_dir.is_some(), "--data-dir (PERFKIT_DATA_DIR, demo.dataDir)"),
    ];
    match asked.iter().find(|(given, _)| *given) {
        Some((_, setting)) => bail!(
            "{setting} is set, but this perfkit-server was built without the demo; rebuild \
             with the `demo` feature (on by default) or remove the setting"
        ),
        None => Ok(()),
    }
}

/// Longest either connection timeout may be: beyond it a timeout protects nothing.
const MAX_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3600);
/// Most connections the cap may allow: far past any descriptor limit a server is given.
const MAX_CONNECTIONS: usize = 1_000_000;

/// The connection limits the layers chose, each in range.
fn connection_limits(
    header_read_timeout: Option<Duration>,
    keep_alive_timeout: Option<Duration>,
    max_connections: Option<usize>,
) -> Result<ConnectionLimits> {
    let limits = ConnectionLimits {
        header_read_timeout: header_read_timeout.unwrap_or(DEFAULT_HEADER_READ_TIMEOUT),
        keep_alive_timeout: keep_alive_timeout.unwrap_or(DEFAULT_KEEP_ALIVE_TIMEOUT),
        max_connections: max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
    };
    for (name, timeout) in [
        ("server.headerReadTimeout (--header-read-timeout)", limits.header_read_timeout),
        ("server.keepAliveTimeout (--keep-alive-timeout)", limits.keep_alive_timeout),
    ] {
        if timeout.is_zero() || timeout > MAX_CONNECTION_TIMEOUT {
            bail!("{name} must be more than 0s and at most 1h, got {timeout:?}");
        }
    }
    if !(1..=MAX_CONNECTIONS).contains(&limits.max_connections) {
        bail!(
            "server.maxConnections (--max-connections) must be in 1..={MAX_CONNECTIONS}, got {}",
            limits.max_connections
        );
    }
    Ok(limits)
}
