//! Health like Spring Boot Actuator's: a status per component and one overall.

use std::collections::BTreeMap;

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
}

/// The service's health: every component and the worst of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// The worst component status.
    pub status: HealthStatus,
    /// Per component: `collector`, `cache`, `probe`, `alertNotifier`.
    pub checks: BTreeMap<String, ComponentHealth>,
    /// When this was judged.
    pub checked_at: Timestamp,
}

impl HealthReport {
    pub(crate) fn from_checks(
        checks: BTreeMap<String, ComponentHealth>,
        checked_at: Timestamp,
    ) -> Self {
        let status =
            checks.values().map(|check| check.status).max().unwrap_or(HealthStatus::Healthy);
        HealthReport { status, checks, checked_at }
    }
}

pub(crate) fn component(status: HealthStatus, detail: impl Into<String>) -> ComponentHealth {
    ComponentHealth { status, detail: detail.into() }
}
