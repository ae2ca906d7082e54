//! The server's settings, from four layers: a flag wins over its environment variable, which
//! wins over the config file, which wins over the default.
//!
//! The config file is TOML, camelCase like the API. Durations are humantime text (`"30s"`,
//! `"5m"`, `"1h 30m"`, `"250ms"`), the same form the API writes; whole milliseconds
//! (`30000`), the seed's form, are still read.
//!
//! ```toml
//! [server]
//! bind = "127.0.0.1:8080"
//! logFormat = "json"          # or "pretty"
//! adminToken = "..."          # else PERFKIT_ADMIN_TOKEN, else generated and logged once
//! shutdownGrace = "10s"       # longest wait for in-flight requests on SIGTERM
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
//! tlsCaFile = "ca.pem"        # rediss:// only (the `tls` feature): the CA that signed Redis's
//! tlsCertFile = "client.pem"  # certificate, and a client certificate with its key
//! tlsKeyFile = "client.key"
//!
//! [api]                       # perfkit_axum::ApiConfig (the token is [server]'s)
//! protectReads = false
//! bodyLimit = 65536
//! requestTimeout = "30s"
//!
//! [demo]
//! enabled = true
//! latency = "50ms"            # the slow source's delay per query
//! ttl = "1m"                  # how long demo answers stay cached
//!
//! [service]                   # perfkit::ServiceConfig
//! collectInterval = "30s"
//!
//! [optimizer]                 # perfkit::optimizer::OptimizerConfig
//! mode = { auto = true, dryRun = false }
//! cooldowns = { scaleWorkers = "3m" }
//!
//! [[alerts.rules]]            # perfkit::alerting::RuleSet; absent: the seed's five rules
//! name = "slow"
//! for = "1m"
//! ...
//! ```

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use perfkit::ServiceConfig;
use perfkit::alerting::RuleSet;
use perfkit::cache::{MemoryConfig, RedisConfig, RedisTls};
use perfkit::optimizer::{OptimizerConfig, OptimizerError};
use perfkit_axum::ApiConfig;
use serde::Deserialize;

use crate::cli::Cli;
use crate::logging::LogFormat;

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
    /// `None`: make one at start-up.
    pub(crate) admin_token: Option<Secret>,
    pub(crate) shutdown_grace: Duration,
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
}

/// Which cache backs the service.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CacheSettings {
    Memory(MemoryConfig),
    Redis(RedisConfig),
}

/// The demo workload's settings (`[demo]`, when enabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DemoSettings {
    /// The slow source's delay per query.
    pub(crate) latency: Duration,
    /// How long an answer stays cached.
    pub(crate) ttl: Duration,
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
    pub(crate) demo: Option<bool>,
    pub(crate) log_format: Option<LogFormat>,
    pub(crate) admin_token: Option<Secret>,
}

impl Layer {
    /// The flags given on the command line.
    pub(crate) fn from_cli(cli: &Cli) -> Layer {
        Layer {
            bind: cli.bind,
            redis_url: cli.redis_url.clone(),
            namespace: cli.namespace.clone(),
            demo: cli.demo,
            log_format: cli.log_format,
            admin_token: None,
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
        let log_format = get("PERFKIT_LOG_FORMAT")
            .map(|value| {
                value
                    .parse::<LogFormat>()
                    .map_err(|why| anyhow::anyhow!("PERFKIT_LOG_FORMAT={value:?}: {why}"))
            })
            .transpose()?;
        Ok(Layer {
            bind,
            redis_url: get("PERFKIT_REDIS_URL"),
            namespace: get("PERFKIT_NAMESPACE"),
            demo,
            log_format,
            admin_token: get("PERFKIT_ADMIN_TOKEN").map(Secret),
        })
    }

    fn from_file(file: &FileConfig) -> Layer {
        Layer {
            bind: file.server.bind,
            redis_url: file.cache.redis_url.clone(),
            namespace: file.cache.namespace.clone(),
            demo: file.demo.enabled,
            log_format: file.server.log_format,
            admin_token: file.server.admin_token.clone().filter(|t| !t.is_empty()).map(Secret),
        }
    }

    /// This layer over `below`: each setting from here when set, else from below.
    #[must_use]
    pub(crate) fn over(self, below: Layer) -> Layer {
        Layer {
            bind: self.bind.or(below.bind),
            redis_url: self.redis_url.or(below.redis_url),
            namespace: self.namespace.or(below.namespace),
            demo: self.demo.or(below.demo),
            log_format: self.log_format.or(below.log_format),
            admin_token: self.admin_token.or(below.admin_token),
        }
    }
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
    demo: DemoSection,
    service: ServiceConfig,
    optimizer: OptimizerConfig,
    /// Kept as TOML so [`RuleSet::from_toml`] can report every bad rule at once.
    alerts: Option<toml::Table>,
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
    tls_ca_file: Option<PathBuf>,
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
}

perfkit::core::maps_only!(CacheSection);

impl Default for CacheSection {
    fn default() -> Self {
        let (memory, redis) = (MemoryConfig::default(), RedisConfig::default());
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
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
struct DemoSection {
    enabled: Option<bool>,
    #[serde(with = "perfkit::core::duration")]
    latency: Duration,
    #[serde(with = "perfkit::core::duration")]
    ttl: Duration,
}

perfkit::core::maps_only!(DemoSection);

impl Default for DemoSection {
    fn default() -> Self {
        DemoSection {
            enabled: None,
            latency: Duration::from_millis(50),
            ttl: Duration::from_secs(60),
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
        }
    }
}

impl FileConfig {
    /// Parses the text of a config file.
    pub(crate) fn parse(text: &str) -> Result<FileConfig> {
        Ok(toml::from_str(text)?)
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
pub(crate) fn resolve(flags: Layer, env: Layer, file: FileConfig) -> Result<Settings> {
    let chosen = flags.over(env).over(Layer::from_file(&file));
    let namespace = chosen.namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    if namespace.is_empty() || namespace.len() > MAX_NAMESPACE_LEN {
        bail!(
            "namespace must be 1 to {MAX_NAMESPACE_LEN} characters: an empty one would let \
             clearing the cache delete every key in Redis"
        );
    }
    let default_ttl = Some(file.cache.default_ttl).filter(|ttl| !ttl.is_zero());
    let cache = match chosen.redis_url {
        Some(url) => {
            if file.cache.redis_pool_size == 0 || file.cache.redis_pool_size > 256 {
                bail!("cache.redisPoolSize must be in 1..=256, got {}", file.cache.redis_pool_size);
            }
            let redis = RedisConfig {
                url,
                pool_size: file.cache.redis_pool_size,
                connect_timeout: file.cache.connect_timeout,
                command_timeout: file.cache.command_timeout,
                namespace,
                default_ttl,
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
            CacheSettings::Redis(redis)
        }
        None => CacheSettings::Memory(MemoryConfig {
            max_bytes: file.cache.memory_max_bytes,
            default_ttl,
            ..MemoryConfig::default()
        }),
    };
    if file.api.body_limit == 0 {
        bail!("api.bodyLimit must be at least 1 byte");
    }
    if file.api.request_timeout.is_zero() {
        bail!("api.requestTimeout must be more than 0s");
    }
    file.service.validate().context("section [service]")?;
    file.optimizer
        .validate()
        .map_err(OptimizerError::InvalidConfig)
        .context("section [optimizer]")?;
    let alert_rules = match &file.alerts {
        Some(table) => RuleSet::from_toml(&toml::to_string(table)?).context("section [alerts]")?,
        None => RuleSet::default(),
    };
    let bind = chosen.bind.unwrap_or(DEFAULT_BIND);
    crate::security::check_exposure(bind, chosen.admin_token.is_some())?;
    crate::security::check_cors_origins(&file.server.cors_origins).context("server.corsOrigins")?;
    Ok(Settings {
        bind,
        log_format: chosen.log_format.unwrap_or_default(),
        admin_token: chosen.admin_token,
        shutdown_grace: file.server.shutdown_grace,
        cors_origins: file.server.cors_origins,
        cache,
        api: file.api,
        demo: chosen
            .demo
            .unwrap_or(false)
            .then_some(DemoSettings { latency: file.demo.latency, ttl: file.demo.ttl }),
        service: file.service,
        optimizer: file.optimizer,
        alert_rules,
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "config_properties.rs"]
mod properties;
