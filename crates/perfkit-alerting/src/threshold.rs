//! The threshold condition: a metric or a business series past a line, with an optional
//! recovery line so a value wavering around the threshold does not flap.

use perfkit_core::MetricsSnapshot;
use serde::{Deserialize, Serialize};

use crate::rule::{Comparison, Verdict};
use crate::series_kinds::SeriesKinds;
use crate::watched::Watched;

/// A metric (or a business series) above (or below) a threshold.
///
/// With a recovery threshold the rule has hysteresis: it fires past `threshold` but resolves
/// only once the value is past `recovery_threshold` on the good side (fire above 1000 ms,
/// resolve below 900 ms), so a value wavering around the threshold does not flap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct ThresholdCondition {
    /// The figure watched: `metric` or `series`, written inline.
    #[serde(flatten)]
    pub watched: Watched,
    /// Which side is bad.
    pub comparison: Comparison,
    /// The value past which the condition holds.
    pub threshold: f64,
    /// The value a firing alert must get back past to resolve; `threshold` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_threshold: Option<f64>,
}

perfkit_core::maps_only!(ThresholdCondition);

impl ThresholdCondition {
    pub(crate) fn evaluate(&self, snapshot: &MetricsSnapshot, alert_active: bool) -> Verdict {
        let Some(value) = self.watched.read(snapshot) else {
            return Verdict::Missing;
        };
        let breach = if alert_active {
            // A firing alert stays until the value is strictly back past the recovery line.
            let recovery = self.recovery_threshold.unwrap_or(self.threshold);
            let recovered = match self.comparison {
                Comparison::Above => value < recovery,
                Comparison::Below => value > recovery,
            };
            !recovered
        } else {
            self.comparison.is_past(value, self.threshold)
        };
        if breach { Verdict::Breach(value) } else { Verdict::Clear(Some(value)) }
    }

    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = self.watched.problems();
        if !self.threshold.is_finite() {
            problems.push(("threshold", "threshold must be a finite number".to_owned()));
        }
        if let Some(recovery) = self.recovery_threshold {
            if !recovery.is_finite() {
                problems
                    .push(("recoveryThreshold", "recovery threshold must be finite".to_owned()));
            } else if self.comparison.is_past(recovery, self.threshold) {
                problems.push((
                    "recoveryThreshold",
                    format!(
                        "recovery threshold {recovery} is on the bad side of threshold {}: it must be {} it, or the alert could never resolve",
                        self.threshold,
                        match self.comparison {
                            Comparison::Above => "at or below",
                            Comparison::Below => "at or above",
                        }
                    ),
                ));
            }
        }
        problems
    }

    pub(crate) fn kind_problems(&self, kinds: &SeriesKinds) -> Vec<(&'static str, String)> {
        self.watched.kind_problems(kinds)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use perfkit_core::{
        BusinessSeries, Metric, SeriesAggregation, SeriesKind, SeriesSelector, Timestamp,
    };

    use super::*;

    fn latency(value: f64) -> MetricsSnapshot {
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        snapshot.response_time = Some(value);
        snapshot
    }

    fn rule() -> ThresholdCondition {
        ThresholdCondition {
            watched: Watched::Metric(Metric::ResponseTime),
            comparison: Comparison::Above,
            threshold: 1000.0,
            recovery_threshold: Some(900.0),
        }
    }

    #[test]
    fn fires_past_threshold_and_resolves_past_recovery() {
        let rule = rule();
        assert_eq!(rule.evaluate(&latency(1000.0), false), Verdict::Clear(Some(1000.0)));
        assert_eq!(rule.evaluate(&latency(1001.0), false), Verdict::Breach(1001.0));
        assert_eq!(rule.evaluate(&latency(950.0), true), Verdict::Breach(950.0));
        assert_eq!(rule.evaluate(&latency(900.0), true), Verdict::Breach(900.0));
        assert_eq!(rule.evaluate(&latency(899.0), true), Verdict::Clear(Some(899.0)));
        assert_eq!(
            rule.evaluate(&MetricsSnapshot::empty(Timestamp::UNIX_EPOCH), true),
            Verdict::Missing
        );
    }

    #[test]
    fn below_rules_mirror_above_rules() {
        let rule = ThresholdCondition {
            watched: Watched::Metric(Metric::CacheHitRate),
            comparison: Comparison::Below,
            threshold: 0.7,
            recovery_threshold: Some(0.75),
        };
        let mut s = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        s.cache_hit_rate = Some(0.72);
        assert!(matches!(rule.evaluate(&s, false), Verdict::Clear(_)));
        assert!(matches!(rule.evaluate(&s, true), Verdict::Breach(_)));
        s.cache_hit_rate = Some(0.8);
        assert!(matches!(rule.evaluate(&s, true), Verdict::Clear(_)));
    }

    /// A snapshot whose `posts` counter grew by `per_minute` over a 30-second interval.
    fn posts(per_minute: f64) -> MetricsSnapshot {
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        snapshot.business.push(BusinessSeries {
            name: "posts".to_owned(),
            labels: BTreeMap::from([("page".to_owned(), "1".to_owned())]),
            kind: SeriesKind::Counter,
            value: 1000.0,
            increase: Some(per_minute / 2.0),
            rate_per_second: Some(per_minute / 60.0),
            sum: None,
            p50: None,
            p95: None,
            p99: None,
        });
        snapshot
    }

    #[test]
    fn a_counters_rate_fires_and_resolves_with_hysteresis() {
        let mut selector = SeriesSelector::new("posts", SeriesAggregation::RatePerMinute);
        selector.labels.insert("page".to_owned(), "1".to_owned());
        let rule = ThresholdCondition {
            watched: Watched::Series(selector),
            comparison: Comparison::Above,
            threshold: 100.0,
            recovery_threshold: Some(60.0),
        };
        let close = |verdict: Verdict, expected: f64| {
            verdict.value().is_some_and(|v| (v - expected).abs() < 1e-9)
        };
        assert!(matches!(rule.evaluate(&posts(90.0), false), Verdict::Clear(_)));
        let breach = rule.evaluate(&posts(120.0), false);
        assert!(matches!(breach, Verdict::Breach(_)) && close(breach, 120.0), "{breach:?}");
        // Inside the band a firing alert stays; below the recovery line it clears.
        assert!(matches!(rule.evaluate(&posts(90.0), true), Verdict::Breach(_)));
        let clear = rule.evaluate(&posts(30.0), true);
        assert!(matches!(clear, Verdict::Clear(Some(_))) && close(clear, 30.0), "{clear:?}");
    }

    #[test]
    fn a_missing_series_is_no_data() {
        let rule = ThresholdCondition {
            watched: Watched::Series(SeriesSelector::new("refunds", SeriesAggregation::Increase)),
            comparison: Comparison::Above,
            threshold: 1.0,
            recovery_threshold: None,
        };
        assert_eq!(rule.evaluate(&posts(120.0), false), Verdict::Missing);
        assert_eq!(rule.evaluate(&posts(120.0), true), Verdict::Missing);
        let mut other_page = SeriesSelector::new("posts", SeriesAggregation::RatePerMinute);
        other_page.labels.insert("page".to_owned(), "2".to_owned());
        let rule = ThresholdCondition { watched: Watched::Series(other_page), ..rule };
        assert_eq!(rule.evaluate(&posts(120.0), false), Verdict::Missing);
    }

    #[test]
    fn recovery_on_the_bad_side_is_a_problem() {
        let mut rule = rule();
        assert!(rule.problems().is_empty());
        rule.recovery_threshold = Some(1100.0);
        assert_eq!(rule.problems().len(), 1);
        rule.threshold = f64::NAN;
        assert!(!rule.problems().is_empty());
    }
}
