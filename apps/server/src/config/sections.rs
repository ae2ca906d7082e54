//! The parts of the config that need more than serde: `[alerts]` (rules reported all at
//! once, inhibit rules), `[notifiers]` with the lists flags and the environment replace,
//! and the server's default instance id.

use anyhow::{Context, Result, bail};
use perfkit::alerting::{InhibitRule, NotifierTarget, NotifiersConfig, RuleSet};

use super::Secret;

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
