//! What a notifier is handed: a group of alerts as Alertmanager groups them, and the policy
//! (Alertmanager's route timing) that decides when a receiver hears about a group.

use std::time::Duration;

use perfkit_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::labels::Labels;

/// Whether an alert in a notification is firing or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Still firing.
    Firing,
    /// Resolved at its `ends_at`.
    Resolved,
}

impl AlertStatus {
    /// `"firing"` or `"resolved"`, as Alertmanager writes them.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One alert as a notifier sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifiedAlert {
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Identity labels.
    pub labels: Labels,
    /// Rendered annotations.
    pub annotations: Labels,
    /// When it fired.
    pub starts_at: Timestamp,
    /// When it resolved; `None` while firing.
    pub ends_at: Option<Timestamp>,
    /// A link back to perfkit (may be empty).
    pub generator_url: String,
    /// Alertmanager's fingerprint of the labels.
    pub fingerprint: String,
}

/// One message for a receiver: a group of alerts sharing the route's `group_by` labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// The receiver (the notifier's name).
    pub receiver: String,
    /// Identifies the group across notifications, as Alertmanager's `groupKey`.
    pub group_key: String,
    /// `firing` when any alert fires, else `resolved`.
    pub status: AlertStatus,
    /// The labels the group is keyed on.
    pub group_labels: Labels,
    /// Labels every alert of the group shares.
    pub common_labels: Labels,
    /// Annotations every alert of the group shares.
    pub common_annotations: Labels,
    /// Firing alerts first, then resolved ones.
    pub alerts: Vec<NotifiedAlert>,
    /// The evaluation time at which the notification was made.
    pub sent_at: Timestamp,
}

impl Notification {
    pub(crate) fn new(
        receiver: &str,
        group_key: &str,
        group_labels: &Labels,
        alerts: Vec<NotifiedAlert>,
        sent_at: Timestamp,
    ) -> Self {
        let status = if alerts.iter().any(|a| a.status == AlertStatus::Firing) {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        };
        let common = |pick: fn(&NotifiedAlert) -> &Labels| -> Labels {
            let mut iter = alerts.iter();
            let Some(first) = iter.next() else { return Labels::new() };
            let mut common = pick(first).clone();
            for alert in iter {
                common.retain(|k, v| pick(alert).get(k) == Some(v));
            }
            common
        };
        Notification {
            receiver: receiver.to_owned(),
            group_key: group_key.to_owned(),
            status,
            group_labels: group_labels.clone(),
            common_labels: common(|a| &a.labels),
            common_annotations: common(|a| &a.annotations),
            alerts,
            sent_at,
        }
    }
}

/// When and how often a receiver hears about a group (Alertmanager's route timing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct NotificationPolicy {
    /// Labels alerts are grouped by; empty puts every alert in one group.
    pub group_by: Vec<String>,
    /// How long a new group waits before its first notification, to batch alerts that fire
    /// together. An alert that resolves within it sends nothing.
    #[serde(with = "perfkit_core::duration")]
    pub group_wait: Duration,
    /// How long a group waits before notifying about changes (new or resolved alerts).
    #[serde(with = "perfkit_core::duration")]
    pub group_interval: Duration,
    /// How long before an unchanged firing group is notified again.
    #[serde(with = "perfkit_core::duration")]
    pub repeat_interval: Duration,
    /// Whether resolved alerts are notified.
    pub send_resolved: bool,
}

perfkit_core::maps_only!(NotificationPolicy);

impl Default for NotificationPolicy {
    /// Alertmanager's defaults: group by `alertname`, 30 s, 5 min, 4 h, resolved notifications on.
    fn default() -> Self {
        NotificationPolicy {
            group_by: vec!["alertname".to_owned()],
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(300),
            repeat_interval: Duration::from_secs(4 * 3600),
            send_resolved: true,
        }
    }
}

impl NotificationPolicy {
    /// The policy for posting to a real Alertmanager, which does its own grouping: every
    /// firing alert is re-sent every minute (Prometheus' resend delay), so it stays active
    /// there only while perfkit keeps confirming it.
    #[must_use]
    pub fn alertmanager_resend() -> Self {
        NotificationPolicy {
            group_by: Vec::new(),
            group_wait: Duration::ZERO,
            group_interval: Duration::from_secs(60),
            repeat_interval: Duration::from_secs(60),
            send_resolved: true,
        }
    }
}
