//! Health like Spring Boot Actuator's: a status per component and one overall.

use std::collections::BTreeMap;

use perfkit_alerting::DeliveryStats;
use perfkit_core::Timestamp;
use serde::Serialize;

/// Overall or per-component health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Working.
    Healthy,
    /// Working with a part down (the cache failing open, the probe failing).
    Degraded,
    /// Not doing its job (the collector stopped).
    Unhealthy,
}

/// One component's health.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ComponentHealth {
    /// Its status.
    pub status: HealthStatus,
    /// What was seen, in words.
    pub detail: String,
    /// For a host's health indicator: whether it is critical (down makes the service
    /// unhealthy and not ready) or not (down degrades it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critical: Option<bool>,
    /// For a host's health indicator: when it was last checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<Timestamp>,
}

/// The service's health: every component and the worst of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// The worst component status.
    pub status: HealthStatus,
    /// Per component: `collector`, `cache`, `probe`, `alertNotifier`, then each of the
    /// host's health indicators by its name.
    pub checks: BTreeMap<String, ComponentHealth>,
    /// Each alert notifier: its delivery counters and its latest delivery (as of the
    /// latest collection).
    pub notifiers: Vec<DeliveryStats>,
    /// When this was judged.
    pub checked_at: Timestamp,
}

impl HealthReport {
    pub(crate) fn from_checks(
        checks: BTreeMap<String, ComponentHealth>,
        notifiers: Vec<DeliveryStats>,
        checked_at: Timestamp,
    ) -> Self {
        let status =
            checks.values().map(|check| check.status).max().unwrap_or(HealthStatus::Healthy);
        HealthReport { status, checks, notifiers, checked_at }
    }
}

pub(crate) fn component(status: HealthStatus, detail: impl Into<String>) -> ComponentHealth {
    ComponentHealth { status, detail: detail.into(), critical: None, checked_at: None }
}
