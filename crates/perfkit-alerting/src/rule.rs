//! An alert rule and its kinds of condition as users write them (camelCase, tagged by `kind`), and
//! the verdict a condition gives on one snapshot.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use perfkit_core::{Metric, SeriesAggregation, SeriesSelector, Severity};
use serde::{Deserialize, Serialize};

use crate::burn_rate::BurnRateCondition;
use crate::labels::Labels;
use crate::outcomes::OutcomePair;
use crate::predictive::PredictiveCondition;
use crate::series_kinds::SeriesKinds;
use crate::threshold::ThresholdCondition;
use crate::watched::{Watched, aggregation_name};

/// One alert rule: a condition on the snapshots, how long it must hold, and what the alert
/// it raises says.
///
/// Serialized in camelCase with the condition's fields inline and a `kind` tag
/// (`"threshold"`, `"burnRate"`, `"predictive"`); durations are text such as `"30s"` or `"5m"`.
/// A threshold or predictive rule watches a figure of the snapshot (`"metric": "p95"`) or a
/// series emitted through the `metrics` facade (`"series": {"name": ..., "aggregation": ...}`).
///
/// ```
/// use perfkit_alerting::{AlertRule, Comparison, Condition, ThresholdCondition, Watched};
/// use perfkit_core::{Metric, SeriesAggregation, Severity};
///
/// let rule: AlertRule = serde_json::from_str(r#"{
///     "name": "slow_p95", "severity": "high", "kind": "threshold",
///     "metric": "p95", "comparison": "above", "threshold": 500, "recoveryThreshold": 450,
///     "for": "1m", "annotations": {"summary": "p95 is {{ value }} ms"}
/// }"#).unwrap();
/// assert_eq!(rule.for_duration.as_secs(), 60);
/// assert!(matches!(rule.condition, Condition::Threshold(ThresholdCondition {
///     watched: Watched::Metric(Metric::P95), comparison: Comparison::Above, .. })));
/// assert_eq!(rule.severity, Severity::High);
///
/// // The same on a business series: posts created per minute on page 1.
/// let rule: AlertRule = serde_json::from_str(r#"{
///     "name": "posting_stalled", "severity": "medium", "kind": "threshold",
///     "series": {"name": "demo_posts_created", "labels": {"page": "1"},
///                "aggregation": "ratePerMinute"},
///     "comparison": "below", "threshold": 1, "recoveryThreshold": 2, "for": "5m",
///     "annotations": {"summary": "{{ metric }} is {{ value }} {{ unit }}"}
/// }"#).unwrap();
/// let Condition::Threshold(condition) = &rule.condition else { panic!() };
/// let Watched::Series(selector) = &condition.watched else { panic!() };
/// assert_eq!(selector.aggregation, SeriesAggregation::RatePerMinute);
/// assert_eq!(rule.condition.subject().to_string(), r#"demo_posts_created{page="1"}"#);
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
    /// `{{ labels.NAME }}` are filled in when the alert fires. For a series `{{ metric }}` is
    /// the selector (`name{label="value"}`) and `{{ unit }}` its aggregation (empty for `value`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

perfkit_core::maps_only!(AlertRule);

/// What a rule checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Condition {
    /// A metric (or a business series) above or below a threshold, with an optional recovery
    /// threshold.
    Threshold(ThresholdCondition),
    /// An SLO's error budget burning too fast over a pair of windows.
    BurnRate(BurnRateCondition),
    /// A metric (or a business series) predicted (least squares) to cross a limit within a
    /// horizon.
    Predictive(PredictiveCondition),
}

impl Condition {
    /// What the rule watches: its `metric` label, `{{ metric }}` and `{{ unit }}` in its
    /// annotations. A burn-rate rule watches [`Metric::ErrorRate`], or its outcome pair.
    #[must_use]
    pub fn subject(&self) -> Subject<'_> {
        let watched = match self {
            Condition::Threshold(c) => &c.watched,
            Condition::Predictive(c) => &c.watched,
            Condition::BurnRate(c) => {
                return c
                    .outcomes
                    .as_ref()
                    .map_or(Subject::Metric(Metric::ErrorRate), Subject::Outcomes);
            }
        };
        match watched {
            Watched::Metric(metric) => Subject::Metric(*metric),
            Watched::Series(selector) => Subject::Series(selector),
        }
    }

    /// Problems only the series the engine has seen can show: an aggregation the series'
    /// kind does not have.
    pub(crate) fn kind_problems(&self, kinds: &SeriesKinds) -> Vec<(&'static str, String)> {
        match self {
            Condition::Threshold(c) => c.kind_problems(kinds),
            Condition::BurnRate(c) => c.kind_problems(kinds),
            Condition::Predictive(c) => c.kind_problems(kinds),
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

/// What a rule watches, as [`Condition::subject`] tells it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Subject<'a> {
    /// A figure of the snapshot.
    Metric(Metric),
    /// A series emitted through the `metrics` facade.
    Series(&'a SeriesSelector),
    /// A burn-rate rule's business success/failure pair.
    Outcomes(&'a OutcomePair),
}

impl Subject<'_> {
    /// The unit of the rule's value, for `{{ unit }}`: the metric's (`ms`, `ratio`, ...); for
    /// a series its aggregation (`ratePerMinute`, `p95`, ...), empty for a plain value; for an
    /// outcome pair `ratio`, as for request errors.
    #[must_use]
    pub fn unit(&self) -> &'static str {
        match self {
            Subject::Metric(metric) => metric.unit(),
            Subject::Series(selector) if selector.aggregation == SeriesAggregation::Value => "",
            Subject::Series(selector) => aggregation_name(selector.aggregation),
            Subject::Outcomes(_) => Metric::ErrorRate.unit(),
        }
    }

    /// Whether the subject is a request-latency figure (mean, P50, P95, P99): a rule on one
    /// links its notification to the slowest request's trace.
    #[must_use]
    pub fn is_request_latency(&self) -> bool {
        matches!(
            self,
            Subject::Metric(Metric::ResponseTime | Metric::P50 | Metric::P95 | Metric::P99)
        )
    }
}

impl fmt::Display for Subject<'_> {
    /// The metric's name (`p95`), the selector (`orders{region="eu"}`), or the pair's ratio
    /// (`failed/(ok+failed)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Metric(metric) => metric.fmt(f),
            Subject::Series(selector) => selector.fmt(f),
            Subject::Outcomes(pair) => pair.fmt(f),
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
