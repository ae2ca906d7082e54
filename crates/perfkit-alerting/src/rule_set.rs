//! The whole set of rules the engine evaluates: the guide's five defaults and replica lag, JSON and TOML in and out,
//! and validation that refuses a set whole and lists every problem.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use perfkit_core::{Metric, Severity};
use serde::{Deserialize, Serialize};

use crate::error::{AlertingError, RuleProblem};
use crate::labels::{MAX_LABEL_LEN, MAX_LABELS, is_valid_label_name};
use crate::rule::{AlertRule, Comparison, Condition};
use crate::series_kinds::SeriesKinds;
use crate::template;
use crate::threshold::ThresholdCondition;
use crate::watched::Watched;

/// Most rules one rule set may hold.
pub const MAX_RULES: usize = 1000;

/// Longest `for` or `keep_firing_for` accepted.
const MAX_HOLD: Duration = Duration::from_secs(7 * 24 * 3600);

/// Labels the engine sets itself; a rule may not override them.
const RESERVED_LABELS: [&str; 3] = ["alertname", "severity", "metric"];

/// A whole set of alert rules: what the engine evaluates, what `PUT` replaces.
///
/// Loading validates: a set with any problem is refused whole, and the error lists every
/// problem found, not just the first.
///
/// ```
/// use perfkit_alerting::{AlertingError, RuleSet};
///
/// let defaults = RuleSet::default();
/// assert_eq!(defaults.rules.len(), 6);
/// let toml = defaults.to_toml().unwrap();
/// assert_eq!(RuleSet::from_toml(&toml).unwrap(), defaults);
///
/// let bad = r#"{"rules": [
///   {"name": "a", "severity": "high", "kind": "threshold", "metric": "p95",
///    "comparison": "above", "threshold": 500, "recoveryThreshold": 600},
///   {"name": "a", "severity": "low", "kind": "threshold", "metric": "p99",
///    "comparison": "above", "threshold": 900},
///   {"name": "b", "severity": "urgent", "kind": "threshold"}
/// ]}"#;
/// let Err(AlertingError::InvalidRules { problems }) = RuleSet::from_json(bad) else { panic!() };
/// // b does not parse; the first a has its recovery on the bad side; the second a is a duplicate.
/// assert_eq!(problems.len(), 3, "{problems:?}");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct RuleSet {
    /// The rules, in evaluation order.
    pub rules: Vec<AlertRule>,
}

perfkit_core::maps_only!(RuleSet);

impl Default for RuleSet {
    /// The guide's five rules, and replica lag above 10 s for a minute, with durations and
    /// recovery thresholds so they do not flap.
    fn default() -> Self {
        RuleSet {
            rules: vec![
                seed_rule(
                    "high_response_time",
                    Metric::ResponseTime,
                    Comparison::Above,
                    (1000.0, 900.0),
                    Severity::High,
                    60,
                    "Response time is {{ value }} ms (threshold {{ threshold }} ms)",
                ),
                seed_rule(
                    "high_error_rate",
                    Metric::ErrorRate,
                    Comparison::Above,
                    (0.05, 0.04),
                    Severity::Critical,
                    60,
                    "Error rate is {{ value }} (threshold {{ threshold }})",
                ),
                seed_rule(
                    "high_memory_usage",
                    Metric::MemoryUsage,
                    Comparison::Above,
                    (0.8, 0.75),
                    Severity::Medium,
                    300,
                    "Memory usage is {{ value }} (threshold {{ threshold }})",
                ),
                seed_rule(
                    "high_cpu_usage",
                    Metric::CpuUsage,
                    Comparison::Above,
                    (0.8, 0.75),
                    Severity::Medium,
                    300,
                    "CPU usage is {{ value }} (threshold {{ threshold }})",
                ),
                seed_rule(
                    "low_cache_hit_rate",
                    Metric::CacheHitRate,
                    Comparison::Below,
                    (0.7, 0.75),
                    Severity::Low,
                    300,
                    "Cache hit rate is {{ value }} (threshold {{ threshold }})",
                ),
                // No data (no replicas) never fires.
                seed_rule(
                    "high_replica_lag",
                    Metric::DbReplicaLag,
                    Comparison::Above,
                    (10_000.0, 9_000.0),
                    Severity::High,
                    60,
                    "A read replica is {{ value }} ms behind its primary (threshold {{ threshold }} ms)",
                ),
            ],
        }
    }
}

fn seed_rule(
    name: &str,
    metric: Metric,
    comparison: Comparison,
    (threshold, recovery): (f64, f64),
    severity: Severity,
    for_secs: u64,
    summary: &str,
) -> AlertRule {
    AlertRule {
        name: name.to_owned(),
        severity,
        condition: Condition::Threshold(ThresholdCondition {
            watched: Watched::Metric(metric),
            comparison,
            threshold,
            recovery_threshold: Some(recovery),
        }),
        for_duration: Duration::from_secs(for_secs),
        keep_firing_for: Duration::ZERO,
        labels: BTreeMap::new(),
        annotations: BTreeMap::from([("summary".to_owned(), summary.to_owned())]),
    }
}

impl RuleSet {
    /// Reads a JSON document `{"rules": [...]}` and validates it.
    ///
    /// # Errors
    /// [`AlertingError::Parse`] when the text is not such a document,
    /// [`AlertingError::InvalidRules`] with every problem (including rules that do not parse).
    pub fn from_json(text: &str) -> Result<Self, AlertingError> {
        let parse_error = |reason: String| AlertingError::Parse { format: "json", reason };
        let document: serde_json::Value =
            serde_json::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        let Some(raw_rules) = document.get("rules").and_then(serde_json::Value::as_array) else {
            return Err(parse_error("expected an object with a \"rules\" array".to_owned()));
        };
        Self::from_raw(raw_rules.iter().map(|raw| {
            let name = raw.get("name").and_then(serde_json::Value::as_str).map(str::to_owned);
            (name, <AlertRule as Deserialize>::deserialize(raw).map_err(|e| e.to_string()))
        }))
    }

    /// Reads a TOML document (`[[rules]]` tables) and validates it.
    ///
    /// # Errors
    /// As [`RuleSet::from_json`].
    pub fn from_toml(text: &str) -> Result<Self, AlertingError> {
        let parse_error = |reason: String| AlertingError::Parse { format: "toml", reason };
        let document: toml::Table = toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        let raw_rules = match document.get("rules") {
            Some(toml::Value::Array(rules)) => rules.clone(),
            None => Vec::new(),
            Some(_) => return Err(parse_error("\"rules\" must be an array of tables".to_owned())),
        };
        Self::from_raw(raw_rules.into_iter().map(|raw| {
            let name = raw.get("name").and_then(toml::Value::as_str).map(str::to_owned);
            (name, raw.try_into::<AlertRule>().map_err(|e| e.to_string()))
        }))
    }

    fn from_raw(
        raw: impl Iterator<Item = (Option<String>, Result<AlertRule, String>)>,
    ) -> Result<Self, AlertingError> {
        let mut rules = Vec::new();
        let mut problems = Vec::new();
        for (index, (name, parsed)) in raw.enumerate() {
            match parsed {
                Ok(rule) => rules.push(rule),
                Err(reason) => {
                    let rule = name.unwrap_or_else(|| format!("#{index}"));
                    problems.push(RuleProblem::new(
                        &rule,
                        "",
                        format!("cannot read rule: {reason}"),
                    ));
                }
            }
        }
        let set = RuleSet { rules };
        problems.extend(set.problems());
        if problems.is_empty() { Ok(set) } else { Err(AlertingError::InvalidRules { problems }) }
    }

    /// The rule set as pretty JSON.
    ///
    /// # Errors
    /// [`AlertingError::Serialize`] if a number cannot be represented (NaN thresholds).
    pub fn to_json(&self) -> Result<String, AlertingError> {
        serde_json::to_string_pretty(self)
            .map_err(|e| AlertingError::Serialize { format: "json", reason: e.to_string() })
    }

    /// The rule set as TOML (`[[rules]]` tables).
    ///
    /// # Errors
    /// [`AlertingError::Serialize`] if TOML cannot represent a value.
    pub fn to_toml(&self) -> Result<String, AlertingError> {
        toml::to_string(self)
            .map_err(|e| AlertingError::Serialize { format: "toml", reason: e.to_string() })
    }

    /// Checks the whole set.
    ///
    /// # Errors
    /// [`AlertingError::InvalidRules`] listing every problem.
    pub fn validate(&self) -> Result<(), AlertingError> {
        let problems = self.problems();
        if problems.is_empty() { Ok(()) } else { Err(AlertingError::InvalidRules { problems }) }
    }

    /// Every problem with the set; empty when it is valid.
    #[must_use]
    pub fn problems(&self) -> Vec<RuleProblem> {
        let mut problems = Vec::new();
        if self.rules.len() > MAX_RULES {
            problems.push(RuleProblem::new(
                "*",
                "rules",
                format!("{} rules given, at most {MAX_RULES} are allowed", self.rules.len()),
            ));
        }
        let mut seen = HashSet::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let id = if rule.name.is_empty() { format!("#{index}") } else { rule.name.clone() };
            let mut push =
                |field: &str, message: String| problems.push(RuleProblem::new(&id, field, message));
            if rule.name.is_empty() || rule.name.len() > 128 {
                push("name", "name must be 1 to 128 characters".to_owned());
            } else if !seen.insert(rule.name.as_str()) {
                push("name", format!("duplicate rule name {:?}: names identify alerts", rule.name));
            }
            if rule.for_duration > MAX_HOLD {
                push("for", "for must be at most 7 days".to_owned());
            }
            if rule.keep_firing_for > MAX_HOLD {
                push("keepFiringFor", "keepFiringFor must be at most 7 days".to_owned());
            }
            let condition_problems = match &rule.condition {
                Condition::Threshold(c) => c.problems(),
                Condition::BurnRate(c) => c.problems(),
                Condition::Predictive(c) => c.problems(),
            };
            for (field, message) in condition_problems {
                push(field, message);
            }
            if rule.labels.len() > MAX_LABELS {
                push(
                    "labels",
                    format!("{} labels given, at most {MAX_LABELS} are allowed", rule.labels.len()),
                );
            }
            for (name, value) in &rule.labels {
                if !is_valid_label_name(name) {
                    push(
                        "labels",
                        format!("{name:?} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
                    );
                } else if RESERVED_LABELS.contains(&name.as_str()) {
                    push(
                        "labels",
                        format!("label {name:?} is set by the engine and cannot be overridden"),
                    );
                }
                if value.len() > MAX_LABEL_LEN {
                    push("labels", format!("label {name:?} is longer than {MAX_LABEL_LEN} bytes"));
                }
            }
            if rule.annotations.len() > MAX_LABELS {
                push("annotations", format!("at most {MAX_LABELS} annotations are allowed"));
            }
            for (name, text) in &rule.annotations {
                if !is_valid_label_name(name) {
                    push("annotations", format!("{name:?} is not a valid annotation name"));
                }
                if text.len() > 4 * MAX_LABEL_LEN {
                    push(
                        "annotations",
                        format!("annotation {name:?} is longer than {} bytes", 4 * MAX_LABEL_LEN),
                    );
                }
                for problem in template::problems(text) {
                    push("annotations", format!("annotation {name:?}: {problem}"));
                }
            }
        }
        problems
    }

    /// Problems against the series the engine has seen: an aggregation a series' kind does
    /// not have (a percentile of a counter, a rate of a gauge). A series not seen passes.
    pub(crate) fn kind_problems(&self, kinds: &SeriesKinds) -> Vec<RuleProblem> {
        self.rules
            .iter()
            .enumerate()
            .flat_map(|(index, rule)| {
                let id = if rule.name.is_empty() { format!("#{index}") } else { rule.name.clone() };
                rule.condition
                    .kind_problems(kinds)
                    .into_iter()
                    .map(move |(field, message)| RuleProblem::new(&id, field, message))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seeds_five_and_replica_lag_and_valid() {
        let set = RuleSet::default();
        set.validate().unwrap();
        let summary: Vec<_> = set
            .rules
            .iter()
            .map(|r| match &r.condition {
                Condition::Threshold(c) => {
                    (c.watched.clone(), c.comparison, c.threshold, r.severity)
                }
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Watched::Metric(Metric::ResponseTime), Comparison::Above, 1000.0, Severity::High),
                (Watched::Metric(Metric::ErrorRate), Comparison::Above, 0.05, Severity::Critical),
                (Watched::Metric(Metric::MemoryUsage), Comparison::Above, 0.8, Severity::Medium),
                (Watched::Metric(Metric::CpuUsage), Comparison::Above, 0.8, Severity::Medium),
                (Watched::Metric(Metric::CacheHitRate), Comparison::Below, 0.7, Severity::Low),
                (
                    Watched::Metric(Metric::DbReplicaLag),
                    Comparison::Above,
                    10_000.0,
                    Severity::High
                ),
            ]
        );
    }

    fn refusal(json: &str) -> Vec<RuleProblem> {
        match RuleSet::from_json(json) {
            Err(AlertingError::InvalidRules { problems }) => problems,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn series_rules_read_and_write_back_in_json_and_toml() {
        let set = RuleSet::from_json(
            r#"{"rules": [
              {"name": "posting_fast", "severity": "medium", "kind": "threshold",
               "series": {"name": "demo_posts_created", "labels": {"page": "1"},
                          "aggregation": "ratePerMinute"},
               "comparison": "above", "threshold": 100, "recoveryThreshold": 60, "for": "1m"},
              {"name": "queue_filling", "severity": "low", "kind": "predictive",
               "series": {"name": "jobs_waiting"}, "comparison": "above", "threshold": 1000,
               "horizon": "1h", "lookback": "30m", "minPoints": 5},
              {"name": "checkout_slo", "severity": "critical", "kind": "burnRate", "slo": 0.99,
               "minRequests": 20,
               "outcomes": {"good": {"name": "checkouts_ok"},
                            "bad": {"name": "checkouts_failed", "aggregation": "increase"}}}
            ]}"#,
        )
        .unwrap();
        assert_eq!(RuleSet::from_json(&set.to_json().unwrap()).unwrap(), set);
        let toml = set.to_toml().unwrap();
        assert_eq!(RuleSet::from_toml(&toml).unwrap(), set, "{toml}");
        let json = set.to_json().unwrap();
        assert!(json.contains(r#""aggregation": "ratePerMinute""#), "{json}");
        assert!(!json.contains(r#""metric""#), "{json}");
    }

    #[test]
    fn both_or_neither_of_metric_and_series_are_refused_by_name() {
        let problems = refusal(
            r#"{"rules": [
              {"name": "both", "severity": "low", "kind": "threshold", "metric": "p95",
               "series": {"name": "orders"}, "comparison": "above", "threshold": 1},
              {"name": "neither", "severity": "low", "kind": "predictive",
               "comparison": "above", "threshold": 1, "horizon": "1h", "lookback": "30m",
               "minPoints": 5}
            ]}"#,
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].rule, "both");
        assert!(problems[0].message.contains("both `metric` and `series`"), "{problems:?}");
        assert_eq!(problems[1].rule, "neither");
        assert!(problems[1].message.contains("`metric` or `series`"), "{problems:?}");
    }

    #[test]
    fn malformed_selectors_are_refused_with_their_fields() {
        let problems = refusal(
            r#"{"rules": [
              {"name": "bad_name", "severity": "low", "kind": "threshold",
               "series": {"name": "posts-created", "labels": {"__page": "1"}},
               "comparison": "above", "threshold": 1},
              {"name": "bad_outcome", "severity": "low", "kind": "burnRate", "slo": 0.99,
               "outcomes": {"good": {"name": "ok", "aggregation": "ratePerSecond"},
                            "bad": {"name": "9failed"}}}
            ]}"#,
        );
        let fields: Vec<_> = problems.iter().map(|p| (p.rule.as_str(), p.field.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("bad_name", "series.name"),
                ("bad_name", "series.labels"),
                ("bad_outcome", "outcomes.good.aggregation"),
                ("bad_outcome", "outcomes.bad.name"),
            ],
            "{problems:?}"
        );
    }

    #[test]
    fn round_trips_through_json() {
        let set = RuleSet::default();
        assert_eq!(RuleSet::from_json(&set.to_json().unwrap()).unwrap(), set);
    }
}
