//! The parts of the config that need more than serde: `[alerts]` (rules reported all at
//! once, inhibit rules), `[notifiers]` with the lists flags and the environment replace,
//! `[demo]` checked into its settings, and the server's default instance id.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use perfkit::alerting::{InhibitRule, NotifierTarget, NotifiersConfig, RuleSet};

use super::{DEFAULT_DATA_DIR, DemoSection, DemoSettings, Secret};
use crate::demo::{DatabaseChoice, PoolSettings, Ttls};

/// Most database connections the demo's pool may be given.
const MAX_POOL_SIZE: u32 = 256;
/// The longest the demo's queries may wait for a connection: within the request timeout's
/// usual range, so a request never outlives its answer.
const MAX_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);

/// `[alerts]`: `rules` (every bad rule reported at once) and `inhibitRules`; nothing else.
pub(super) fn alerts_section(table: Option<&toml::Table>) -> Result<(RuleSet, Vec<InhibitRule>)> {
    let Some(table) = table else {
        return Ok((RuleSet::default(), InhibitRule::defaults()));
    };
    if let Some(unknown) =
        table.keys().find(|key| !["rules", "inhibitRules"].contains(&key.as_str()))
    {
        bail!("section [alerts]: unknown field `{unknown}`, expected `rules` or `inhibitRules`");
    }
    let rules = match table.get("rules") {
        Some(rules) => {
            let document = toml::Table::from_iter([("rules".to_owned(), rules.clone())]);
            RuleSet::from_toml(&toml::to_string(&document)?).context("section [alerts]")?
        }
        None => RuleSet::default(),
    };
    let inhibit_rules = match table.get("inhibitRules") {
        Some(value) => value
            .clone()
            .try_into::<Vec<InhibitRule>>()
            .context("section [alerts]: inhibitRules")?,
        None => InhibitRule::defaults(),
    };
    perfkit::alerting::validate_inhibit_rules(&inhibit_rules).context("section [alerts]")?;
    Ok((rules, inhibit_rules))
}

/// `[notifiers]`, with the lists a flag or the environment gave in place of the file's.
pub(super) fn notifiers_section(
    mut notifiers: NotifiersConfig,
    alertmanager_urls: &Option<Vec<String>>,
    webhook_urls: &Option<Vec<String>>,
    webhook_token: Option<&Secret>,
) -> Result<NotifiersConfig> {
    if let Some(urls) = alertmanager_urls {
        notifiers.alertmanagers = urls.iter().map(|url| NotifierTarget::url(url)).collect();
    }
    if let Some(urls) = webhook_urls {
        notifiers.webhooks = urls
            .iter()
            .map(|url| NotifierTarget {
                bearer_token: webhook_token.map(|token| token.0.clone()),
                ..NotifierTarget::url(url)
            })
            .collect();
    }
    notifiers.validate().context("section [notifiers] (with --alertmanager-url, --webhook-url)")?;
    Ok(notifiers)
}

/// The server's instance id when none is given: `<host name>:<port>`.
pub(super) fn default_instance(port: u16) -> String {
    /// Longest host part kept, within the id's 64 characters.
    const MAX_HOST: usize = 48;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(MAX_HOST)
        .collect();
    let host = if host.is_empty() { "perfkit" } else { &host };
    format!("{host}:{port}")
}

/// The demo's settings, checked: a PostgreSQL URL when one is given, else the SQLite file's
/// directory; a pool size and TTLs in range.
pub(super) fn demo_settings(
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    section: &DemoSection,
) -> Result<DemoSettings> {
    let database = match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            DatabaseChoice::Postgres(url)
        }
        Some(_) => bail!("the database URL must start with postgres:// or postgresql://"),
        None => DatabaseChoice::Sqlite(data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))),
    };
    if !(1..=MAX_POOL_SIZE).contains(&section.pool_size) {
        bail!("demo.poolSize must be in 1..={MAX_POOL_SIZE}, got {}", section.pool_size);
    }
    if section.acquire_timeout.is_zero() || section.acquire_timeout > MAX_ACQUIRE_TIMEOUT {
        bail!(
            "demo.acquireTimeout must be more than 0s and at most {MAX_ACQUIRE_TIMEOUT:?}, got {:?}",
            section.acquire_timeout
        );
    }
    if section.page_ttl.is_zero() || section.user_posts_ttl.is_zero() {
        bail!("demo.pageTtl and demo.userPostsTtl must be more than 0s");
    }
    Ok(DemoSettings {
        database,
        pool: PoolSettings { size: section.pool_size, acquire_timeout: section.acquire_timeout },
        ttls: Ttls { page: section.page_ttl, user_posts: section.user_posts_ttl },
        read_ahead: section.read_ahead,
    })
}
