//! The alert records the engine hands out: each rule's phase, the alert it raised (identified by
//! its label set), and the history events between phases.

use perfkit_core::{Severity, Timestamp};
use serde::{Deserialize, Serialize};

use crate::labels::Labels;

/// Where one rule stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum AlertPhase {
    /// The condition does not hold.
    Inactive,
    /// The condition holds, but not yet for the rule's `for` duration.
    Pending,
    /// The alert fired and the condition still holds (or has not recovered).
    Firing,
    /// The condition stopped holding; the alert keeps firing for `keep_firing_for`.
    Recovering,
    /// The alert fired and has since resolved.
    Resolved,
    /// The figures the rule needs were missing for two evaluations in a row.
    NoData,
}

/// One alert: what a firing (or pending) rule reports. Identity is the label set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Alertmanager's fingerprint of `labels`.
    pub fingerprint: String,
    /// The rule's name (also the `alertname` label).
    pub rule: String,
    /// The rule's severity (also the `severity` label).
    pub severity: Severity,
    /// The rule's phase when this was taken.
    pub state: AlertPhase,
    /// Identity and routing labels: `alertname`, `severity`, `metric` and the rule's own.
    pub labels: Labels,
    /// Annotations, rendered from the rule's templates when the alert went pending or fired.
    pub annotations: Labels,
    /// The latest value the condition saw (burn rate, predicted value, or the metric).
    pub value: Option<f64>,
    /// When the condition started to hold (the start of pending).
    pub active_since: Timestamp,
    /// When the alert fired; `None` while pending.
    pub starts_at: Option<Timestamp>,
    /// When the alert resolved; `None` while it has not.
    pub ends_at: Option<Timestamp>,
    /// The latest evaluation that updated this alert.
    pub last_evaluated_at: Timestamp,
}

impl Alert {
    /// Whether the alert has fired and not yet resolved (firing, recovering, or firing
    /// with no data since).
    #[must_use]
    pub fn is_firing(&self) -> bool {
        self.starts_at.is_some() && self.ends_at.is_none()
    }
}

/// What happened to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum AlertEventKind {
    /// The condition started to hold; waiting for `for`.
    Pending,
    /// The alert fired.
    Fired,
    /// The condition stopped holding; the alert keeps firing for `keep_firing_for`.
    Recovering,
    /// The alert resolved.
    Resolved,
    /// The rule's figures went missing for two evaluations.
    NoData,
    /// The alert was dropped by [`AlertEngine::clear`](crate::AlertEngine::clear).
    Cleared,
}

/// One entry of the alert history, and what the event stream carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AlertEvent {
    /// What happened.
    pub kind: AlertEventKind,
    /// When (the evaluation's `now`).
    pub at: Timestamp,
    /// The alert as it was right after the event.
    pub alert: Alert,
}
