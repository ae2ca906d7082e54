//! An alert rule and its kinds of condition as users write them (camelCase, tagged by `kind`), and
//! the verdict a condition gives on one snapshot.

use std::collections::BTreeMap;
use std::time::Duration;

use perfkit_core::{Metric, Severity};
use serde::{Deserialize, Serialize};

use crate::burn_rate::BurnRateCondition;
use crate::labels::Labels;
use crate::predictive::PredictiveCondition;
use crate::threshold::ThresholdCondition;

/// One alert rule: a condition on the snapshots, how long it must hold, and what the alert
/// it raises says.
///
/// Serialized in camelCase with the condition's fields inline and a `kind` tag
/// (`"threshold"`, `"burnRate"`, `"predictive"`); durations are text such as `"30s"` or `"5m"`.
///
/// ```
/// use perfkit_alerting::{AlertRule, Comparison, Condition, ThresholdCondition};
/// use perfkit_core::{Metric, Severity};
///
/// let rule: AlertRule = serde_json::from_str(r#"{
///     "name": "slow_p95", "severity": "high", "kind": "threshold",
///     "metric": "p95", "comparison": "above", "threshold": 500, "recoveryThreshold": 450,
///     "for": "1m", "annotations": {"summary": "p95 is {{ value }} ms"}
/// }"#).unwrap();
/// assert_eq!(rule.for_duration.as_secs(), 60);
/// assert!(matches!(rule.condition, Condition::Threshold(ThresholdCondition {
///     metric: Metric::P95, comparison: Comparison::Above, .. })));
/// assert_eq!(rule.severity, Severity::High);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct AlertRule {
    /// Unique name; becomes the `alertname` label.
    pub name: String,
    /// How much a firing alert matters; becomes the `severity` label.
    pub severity: Severity,
    /// What is checked on each snapshot.
    #[serde(flatten)]
    pub condition: Condition,
    /// How long the condition must hold before the alert fires (`for` in Prometheus).
    #[serde(rename = "for", with = "perfkit_core::duration", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::Any))]
    pub for_duration: Duration,
    /// How long a firing alert keeps firing after its condition stops holding.
    #[serde(with = "perfkit_core::duration", default, skip_serializing_if = "Duration::is_zero")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::Any))]
    pub keep_firing_for: Duration,
    /// Extra labels on the alert (identity and routing).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    /// Annotation templates (`summary`, `description`, ...); placeholders `{{ value }}`,
    /// `{{ threshold }}`, `{{ metric }}`, `{{ unit }}`, `{{ severity }}`, `{{ name }}` and
    /// `{{ labels.NAME }}` are filled in when the alert fires.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

perfkit_core::maps_only!(AlertRule);

/// What a rule checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Condition {
    /// A metric above or below a threshold, with an optional recovery threshold.
    Threshold(ThresholdCondition),
    /// An SLO's error budget burning too fast over a pair of windows.
    BurnRate(BurnRateCondition),
    /// A metric predicted (least squares) to cross a limit within a horizon.
    Predictive(PredictiveCondition),
}

impl Condition {
    /// The metric the rule watches; a burn-rate rule watches [`Metric::ErrorRate`].
    #[must_use]
    pub fn metric(&self) -> Metric {
        match self {
            Condition::Threshold(c) => c.metric,
            Condition::BurnRate(_) => Metric::ErrorRate,
            Condition::Predictive(c) => c.metric,
        }
    }

    /// The figure the rule compares against, for annotation templates.
    pub(crate) fn reference_value(&self) -> Option<f64> {
        match self {
            Condition::Threshold(c) => Some(c.threshold),
            Condition::BurnRate(c) => c.windows.first().map(|w| w.factor),
            Condition::Predictive(c) => c.threshold.or(c.growth_factor),
        }
    }
}

/// Which side of the threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum Comparison {
    /// Values above the threshold breach it.
    Above,
    /// Values below the threshold breach it.
    Below,
}

impl Comparison {
    /// Whether `value` is strictly past `limit` on the bad side.
    #[must_use]
    pub fn is_past(self, value: f64, limit: f64) -> bool {
        match self {
            Comparison::Above => value > limit,
            Comparison::Below => value < limit,
        }
    }
}

/// What one rule's condition said about one snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Verdict {
    /// The figures the condition needs were not measured.
    Missing,
    /// The condition holds (or, for a firing alert, has not yet recovered).
    Breach(f64),
    /// The condition does not hold; the value when there is one.
    Clear(Option<f64>),
}

impl Verdict {
    pub(crate) fn value(self) -> Option<f64> {
        match self {
            Verdict::Missing => None,
            Verdict::Breach(v) => Some(v),
            Verdict::Clear(v) => v,
        }
    }
}
