//! Where alerts go, as settings: a tracing log, webhooks (with an optional bearer token) and
//! Alertmanagers, with their timing. A config file's `[notifiers]` section reads into
//! [`NotifiersConfig`], which is validated whole and builds the notifiers.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alertmanager::AlertmanagerNotifier;
use crate::error::AlertingError;
use crate::http_delivery::HttpDeliverySettings;
use crate::log_notifier::LogNotifier;
use crate::notification::NotificationPolicy;
use crate::notifier::Notifier;
use crate::webhook::WebhookNotifier;

/// A notifier with the policy it is notified under.
pub type RoutedNotifier = (Arc<dyn Notifier>, NotificationPolicy);

/// Most webhooks, and most Alertmanagers, one config may name.
pub const MAX_TARGETS: usize = 16;
/// Longest receiver URL accepted.
const MAX_URL_LEN: usize = 2048;
/// Longest bearer token accepted.
const MAX_TOKEN_LEN: usize = 4096;

/// One HTTP receiver: a webhook or an Alertmanager.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", deny_unknown_fields)]
pub struct NotifierTarget {
    /// The notifier's name in health and logs; default `webhook-N` / `alertmanager-N`.
    #[serde(default)]
    pub name: Option<String>,
    /// `http://` or `https://` URL: the webhook's, or the Alertmanager's base URL.
    pub url: String,
    /// Sent as `Authorization: Bearer <token>` when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<String>,
}

perfkit_core::maps_only!(NotifierTarget);

impl NotifierTarget {
    /// A target at `url` with the default name and no token.
    #[must_use]
    pub fn url(url: &str) -> Self {
        NotifierTarget { name: None, url: url.to_owned(), bearer_token: None }
    }
}

// The token must never reach a log through `{:?}`.
impl std::fmt::Debug for NotifierTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifierTarget")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// Every notifier of a service and its timing.
///
/// ```
/// use perfkit_alerting::NotifiersConfig;
///
/// let config: NotifiersConfig = toml::from_str(r#"
///     alertmanagerResend = "30s"
///     [[webhooks]]
///     url = "http://127.0.0.1:9/hook"
///     bearerToken = "s3cret"
///     [[alertmanagers]]
///     url = "http://127.0.0.1:9093"
/// "#).unwrap();
/// config.validate().unwrap();
/// let names: Vec<String> = config.build().unwrap().iter().map(|(n, _)| n.name().to_owned()).collect();
/// assert_eq!(names, ["log", "webhook-1", "alertmanager-1"]);
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct NotifiersConfig {
    /// Log each notification as a tracing event (`warn` firing, `info` resolved).
    pub log: bool,
    /// Webhooks receiving Alertmanager's webhook body (version 4).
    pub webhooks: Vec<NotifierTarget>,
    /// Alertmanagers receiving alerts on `POST /api/v2/alerts`.
    pub alertmanagers: Vec<NotifierTarget>,
    /// Grouping and timing of the log and the webhooks (Alertmanager's route settings).
    pub policy: NotificationPolicy,
    /// How often a firing alert is re-sent to the Alertmanagers (Prometheus: 1 min); each
    /// alert is posted valid for four of these, so it resolves there if perfkit goes away.
    #[serde(with = "perfkit_core::duration")]
    pub alertmanager_resend: Duration,
    /// Timeout, attempts and backoff of every HTTP notifier.
    pub delivery: HttpDeliverySettings,
    /// A link back to this service: the webhooks' `externalURL` and each alert's
    /// `generatorURL` (may be empty).
    pub external_url: String,
}

perfkit_core::maps_only!(NotifiersConfig);

impl Default for NotifiersConfig {
    fn default() -> Self {
        NotifiersConfig {
            log: true,
            webhooks: Vec::new(),
            alertmanagers: Vec::new(),
            policy: NotificationPolicy::default(),
            alertmanager_resend: Duration::from_secs(60),
            delivery: HttpDeliverySettings::default(),
            external_url: String::new(),
        }
    }
}

impl NotifiersConfig {
    /// Every problem with the settings; empty when they are valid.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut names = HashSet::new();
        if self.log {
            names.insert("log".to_owned());
        }
        for (kind, targets) in
            [("webhooks", &self.webhooks), ("alertmanagers", &self.alertmanagers)]
        {
            if targets.len() > MAX_TARGETS {
                problems.push(format!(
                    "{kind}: at most {MAX_TARGETS} allowed, {} given",
                    targets.len()
                ));
            }
            for (index, target) in targets.iter().enumerate() {
                let name = target_name(kind, index, target);
                if let Some(problem) = target_problem(target, &name) {
                    problems.push(format!("{kind}[{index}]: {problem}"));
                }
                if !names.insert(name.clone()) {
                    problems.push(format!("{kind}[{index}]: the name {name:?} is used twice"));
                }
            }
        }
        let policy = &self.policy;
        let day = Duration::from_secs(24 * 3600);
        if policy.group_wait > day {
            problems.push("policy.groupWait must be at most 24h".to_owned());
        }
        if policy.group_interval < Duration::from_millis(100) || policy.group_interval > day {
            problems.push("policy.groupInterval must be in 100ms..=24h".to_owned());
        }
        if policy.repeat_interval < policy.group_interval || policy.repeat_interval > 7 * day {
            problems.push("policy.repeatInterval must be in groupInterval..=7d".to_owned());
        }
        if policy.group_by.len() > crate::labels::MAX_LABELS {
            problems
                .push(format!("policy.groupBy lists at most {} labels", crate::labels::MAX_LABELS));
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(3600))
            .contains(&self.alertmanager_resend)
        {
            problems.push("alertmanagerResend must be in 100ms..=1h".to_owned());
        }
        let delivery = &self.delivery;
        if !(1..=10).contains(&delivery.max_attempts) {
            problems.push("delivery.maxAttempts must be in 1..=10".to_owned());
        }
        if delivery.timeout.is_zero() || delivery.timeout > Duration::from_secs(300) {
            problems.push("delivery.timeout must be in (0s, 5m]".to_owned());
        }
        if delivery.backoff > Duration::from_secs(60) {
            problems.push("delivery.backoff must be at most 1m".to_owned());
        }
        if self.external_url.len() > MAX_URL_LEN {
            problems.push(format!("externalUrl is longer than {MAX_URL_LEN} bytes"));
        }
        problems
    }

    /// Checks the whole config.
    ///
    /// # Errors
    /// [`AlertingError::InvalidNotifiers`] listing every problem.
    pub fn validate(&self) -> Result<(), AlertingError> {
        let problems = self.problems();
        if problems.is_empty() { Ok(()) } else { Err(AlertingError::InvalidNotifiers(problems)) }
    }

    /// Builds every notifier with the policy it is notified under: the log first, then the
    /// webhooks, then the Alertmanagers.
    ///
    /// # Errors
    /// [`AlertingError::InvalidNotifiers`] when the config is invalid,
    /// [`AlertingError::NotifierSetup`] when an HTTP client cannot be built.
    pub fn build(&self) -> Result<Vec<RoutedNotifier>, AlertingError> {
        self.validate()?;
        let mut built: Vec<RoutedNotifier> = Vec::new();
        if self.log {
            built.push((Arc::new(LogNotifier), self.policy.clone()));
        }
        for (index, target) in self.webhooks.iter().enumerate() {
            let name = target_name("webhooks", index, target);
            let mut notifier = WebhookNotifier::new(
                &name,
                &target.url,
                &self.external_url,
                self.delivery.clone(),
            )?;
            if let Some(token) = &target.bearer_token {
                notifier = notifier.with_bearer_token(token)?;
            }
            built.push((Arc::new(notifier), self.policy.clone()));
        }
        let resend = NotificationPolicy {
            group_interval: self.alertmanager_resend,
            repeat_interval: self.alertmanager_resend,
            ..NotificationPolicy::alertmanager_resend()
        };
        for (index, target) in self.alertmanagers.iter().enumerate() {
            let name = target_name("alertmanagers", index, target);
            let mut notifier = AlertmanagerNotifier::new(
                &name,
                &target.url,
                self.alertmanager_resend.saturating_mul(4),
                self.delivery.clone(),
            )?;
            if let Some(token) = &target.bearer_token {
                notifier = notifier.with_bearer_token(token)?;
            }
            built.push((Arc::new(notifier), resend.clone()));
        }
        Ok(built)
    }
}

fn target_name(kind: &str, index: usize, target: &NotifierTarget) -> String {
    match &target.name {
        Some(name) => name.clone(),
        None if kind == "webhooks" => format!("webhook-{}", index + 1),
        None => format!("alertmanager-{}", index + 1),
    }
}

fn target_problem(target: &NotifierTarget, name: &str) -> Option<String> {
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !name_ok {
        return Some(format!("name {name:?} must be 1 to 64 of A-Z a-z 0-9 - _ ."));
    }
    let url = target.url.as_str();
    if url.len() > MAX_URL_LEN {
        return Some(format!("url is longer than {MAX_URL_LEN} bytes"));
    }
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    if rest.is_none_or(|rest| rest.is_empty() || rest.starts_with('/')) {
        return Some(format!("url {url:?} must be an http:// or https:// URL with a host"));
    }
    match &target.bearer_token {
        Some(token) if token.is_empty() || token.len() > MAX_TOKEN_LEN => {
            Some(format!("bearerToken must be 1 to {MAX_TOKEN_LEN} bytes"))
        }
        Some(token) if token.chars().any(|c| c.is_control() || c == ' ') => {
            Some("bearerToken must not hold spaces or control characters".to_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_log_alone() {
        let config = NotifiersConfig::default();
        let built = config.build().unwrap();
        assert_eq!(built.len(), 1);
        assert_eq!(built[0].0.name(), "log");
    }

    #[test]
    fn every_problem_is_listed() {
        let config = NotifiersConfig {
            webhooks: vec![
                NotifierTarget::url("ftp://x"),
                NotifierTarget { name: Some("log".into()), ..NotifierTarget::url("http://h") },
                NotifierTarget {
                    bearer_token: Some("a b".into()),
                    ..NotifierTarget::url("http://h")
                },
            ],
            alertmanager_resend: Duration::ZERO,
            ..NotifiersConfig::default()
        };
        let problems = config.problems();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(matches!(config.build(), Err(AlertingError::InvalidNotifiers(p)) if p.len() == 4));
    }

    #[test]
    fn alertmanagers_resend_on_their_own_interval() {
        let config = NotifiersConfig {
            log: false,
            alertmanagers: vec![NotifierTarget::url("http://127.0.0.1:9093")],
            alertmanager_resend: Duration::from_secs(5),
            ..NotifiersConfig::default()
        };
        let built = config.build().unwrap();
        let (notifier, policy) = &built[0];
        assert_eq!(notifier.name(), "alertmanager-1");
        assert_eq!(
            (policy.group_interval, policy.group_wait),
            (Duration::from_secs(5), Duration::ZERO)
        );
        assert!(policy.group_by.is_empty());
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(toml::from_str::<NotifiersConfig>("webhook = []").is_err());
        assert!(
            toml::from_str::<NotifiersConfig>("[[webhooks]]\nurl = \"http://h\"\ntoken = \"x\"")
                .is_err()
        );
    }
}
