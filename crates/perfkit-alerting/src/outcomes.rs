//! A business success/failure pair (checkouts that succeeded and that failed, counted through
//! the `metrics` facade) that a burn-rate rule reads its error ratio from instead of the
//! requests: bad / (good + bad) of each interval's increases.

use std::fmt;

use perfkit_core::{BusinessSeries, SeriesAggregation, SeriesSelector};
use serde::{Deserialize, Deserializer, Serialize};

use crate::series_kinds::SeriesKinds;
use crate::watched::{SelectorFields, aggregation_name, kind_problem, selector_problems};

/// The two series a burn-rate rule counts good and bad events with.
///
/// Each snapshot adds the `increase` of both over its interval: the events are good + bad, the
/// errors bad. Both are counters (or histograms, whose count increases); the selectors'
/// `aggregation` is `increase`, and left out it reads as `increase`. A series that has not
/// appeared yet counts zero while the other one is there (a failure counter is often
/// registered at its first failure); with neither there, the rule has no data.
///
/// ```
/// use perfkit_alerting::{Condition, RuleSet};
/// use perfkit_core::SeriesAggregation;
///
/// let rules = RuleSet::from_json(r#"{"rules": [
///   {"name": "checkout_slo", "severity": "critical", "kind": "burnRate", "slo": 0.99,
///    "outcomes": {"good": {"name": "checkouts_ok"}, "bad": {"name": "checkouts_failed"}}}
/// ]}"#).unwrap();
/// let Condition::BurnRate(burn) = &rules.rules[0].condition else { panic!() };
/// let outcomes = burn.outcomes.as_ref().unwrap();
/// assert_eq!(outcomes.bad.aggregation, SeriesAggregation::Increase);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase", deny_unknown_fields)]
pub struct OutcomePair {
    /// The series counting good events (`checkouts_ok`).
    #[serde(deserialize_with = "increase_by_default")]
    pub good: SeriesSelector,
    /// The series counting bad events (`checkouts_failed`).
    #[serde(deserialize_with = "increase_by_default")]
    pub bad: SeriesSelector,
}

perfkit_core::maps_only!(OutcomePair);

/// A selector's aggregation defaults to `value`, which an outcome never reads: written out
/// as `increase`, so `GET` shows what the rule does and a round trip changes nothing.
fn increase_by_default<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<SeriesSelector, D::Error> {
    let mut selector = SeriesSelector::deserialize(deserializer)?;
    if selector.aggregation == SeriesAggregation::Value {
        selector.aggregation = SeriesAggregation::Increase;
    }
    Ok(selector)
}

const GOOD_FIELDS: SelectorFields = SelectorFields {
    name: "outcomes.good.name",
    labels: "outcomes.good.labels",
    aggregation: "outcomes.good.aggregation",
};

const BAD_FIELDS: SelectorFields = SelectorFields {
    name: "outcomes.bad.name",
    labels: "outcomes.bad.labels",
    aggregation: "outcomes.bad.aggregation",
};

impl OutcomePair {
    /// A pair reading the increase of `good` and `bad`, every series of those names.
    #[must_use]
    pub fn new(good: impl Into<String>, bad: impl Into<String>) -> Self {
        OutcomePair {
            good: SeriesSelector::new(good, SeriesAggregation::Increase),
            bad: SeriesSelector::new(bad, SeriesAggregation::Increase),
        }
    }

    /// The interval's (events, errors): good + bad and bad; `None` when neither series is in
    /// the snapshot.
    pub(crate) fn read(&self, series: &[BusinessSeries]) -> Option<(f64, f64)> {
        let good = increase(&self.good, series);
        let bad = increase(&self.bad, series);
        if good.is_none() && bad.is_none() {
            return None;
        }
        // A counter that went back (a restart) has no meaningful increase: count nothing.
        let good = good.unwrap_or(0.0).max(0.0);
        let bad = bad.unwrap_or(0.0).max(0.0);
        Some((good + bad, bad))
    }

    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        for (selector, fields) in [(&self.good, &GOOD_FIELDS), (&self.bad, &BAD_FIELDS)] {
            problems.extend(selector_problems(selector, fields));
            if !matches!(
                selector.aggregation,
                SeriesAggregation::Increase | SeriesAggregation::Value
            ) {
                problems.push((
                    fields.aggregation,
                    format!(
                        "aggregation {} cannot count events: an outcome reads the increase (leave aggregation out, or write increase)",
                        aggregation_name(selector.aggregation)
                    ),
                ));
            }
        }
        problems
    }

    pub(crate) fn kind_problems(&self, kinds: &SeriesKinds) -> Vec<(&'static str, String)> {
        [(&self.good, &GOOD_FIELDS), (&self.bad, &BAD_FIELDS)]
            .into_iter()
            .filter_map(|(selector, fields)| {
                kind_problem(selector, SeriesAggregation::Increase, kinds, fields.aggregation)
            })
            .collect()
    }
}

impl fmt::Display for OutcomePair {
    /// The error ratio it stands for: `bad/(good+bad)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/({}+{})", self.bad, self.good, self.bad)
    }
}

/// The summed increase of the series `selector` matches, whatever its aggregation says.
fn increase(selector: &SeriesSelector, series: &[BusinessSeries]) -> Option<f64> {
    series
        .iter()
        .filter(|s| s.matches(selector))
        .filter_map(|s| s.figure(SeriesAggregation::Increase))
        .fold(None, |total, v| Some(total.unwrap_or(0.0) + v))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use perfkit_core::SeriesKind;

    use super::*;

    fn counter(name: &str, region: &str, increase: f64) -> BusinessSeries {
        BusinessSeries {
            name: name.to_owned(),
            labels: BTreeMap::from([("region".to_owned(), region.to_owned())]),
            kind: SeriesKind::Counter,
            value: increase,
            increase: Some(increase),
            rate_per_second: Some(increase / 30.0),
            sum: None,
            p50: None,
            p95: None,
            p99: None,
        }
    }

    #[test]
    fn counts_good_plus_bad_and_bad_over_every_matching_series() {
        let pair = OutcomePair::new("checkouts_ok", "checkouts_failed");
        let series = [
            counter("checkouts_ok", "eu", 90.0),
            counter("checkouts_ok", "us", 60.0),
            counter("checkouts_failed", "eu", 10.0),
        ];
        assert_eq!(pair.read(&series), Some((160.0, 10.0)));
        assert_eq!(pair.read(&series[..2]), Some((150.0, 0.0)), "no failures registered yet");
        assert_eq!(pair.read(&[]), None);
    }

    #[test]
    fn aggregations_default_to_increase_and_others_are_refused() {
        let pair: OutcomePair =
            serde_json::from_str(r#"{"good": {"name": "ok"}, "bad": {"name": "failed"}}"#).unwrap();
        assert_eq!(pair.good.aggregation, SeriesAggregation::Increase);
        assert!(pair.problems().is_empty());
        let json = serde_json::to_string(&pair).unwrap();
        assert_eq!(serde_json::from_str::<OutcomePair>(&json).unwrap(), pair);
        let mut rate = pair;
        rate.bad.aggregation = SeriesAggregation::RatePerMinute;
        rate.good.name = "not ok".to_owned();
        let fields: Vec<_> = rate.problems().into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["outcomes.good.name", "outcomes.bad.aggregation"]);
        assert!(serde_json::from_str::<OutcomePair>(r#"{"good": {"name": "ok"}}"#).is_err());
    }

    #[test]
    fn a_gauge_cannot_count_outcomes() {
        let mut gauge = counter("failed", "eu", 1.0);
        gauge.kind = SeriesKind::Gauge;
        let mut kinds = SeriesKinds::default();
        kinds.observe(&[gauge, counter("ok", "eu", 1.0)]);
        let problems = OutcomePair::new("ok", "failed").kind_problems(&kinds);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, "outcomes.bad.aggregation");
    }

    #[test]
    fn shows_as_the_ratio_it_stands_for() {
        let pair = OutcomePair::new("checkouts_ok", "checkouts_failed");
        assert_eq!(pair.to_string(), "checkouts_failed/(checkouts_ok+checkouts_failed)");
    }
}
