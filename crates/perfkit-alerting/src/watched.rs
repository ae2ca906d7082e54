//! What a threshold or predictive rule watches: a figure of the snapshot (`metric`) or a
//! series emitted through the `metrics` facade (`series`), exactly one of the two; and the
//! checks of a series selector that a rule set's validation runs.

use std::fmt;

use perfkit_core::{Metric, MetricsSnapshot, SeriesAggregation, SeriesSelector};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::labels::{MAX_LABEL_LEN, MAX_LABELS};
use crate::series_kinds::SeriesKinds;

/// The figure a threshold or predictive condition reads from each snapshot.
///
/// Written inline in the rule, as either `"metric": "p95"` (a figure of the snapshot) or
/// `"series": {"name": "orders_placed", "labels": {"region": "eu"}, "aggregation":
/// "ratePerMinute"}` (a series emitted through the `metrics` facade, read from the snapshot's
/// `business` section); exactly one of the two. A series nobody emits (yet) reads as no data.
///
/// ```
/// use perfkit_alerting::{Condition, RuleSet, Watched};
/// use perfkit_core::{Metric, SeriesAggregation};
///
/// let rules = RuleSet::from_json(r#"{"rules": [
///   {"name": "slow", "severity": "high", "kind": "threshold", "metric": "p95",
///    "comparison": "above", "threshold": 500},
///   {"name": "few_orders", "severity": "medium", "kind": "threshold",
///    "series": {"name": "orders_placed", "aggregation": "ratePerMinute"},
///    "comparison": "below", "threshold": 10}
/// ]}"#).unwrap();
/// let Condition::Threshold(slow) = &rules.rules[0].condition else { panic!() };
/// assert_eq!(slow.watched, Watched::Metric(Metric::P95));
/// let Condition::Threshold(orders) = &rules.rules[1].condition else { panic!() };
/// let Watched::Series(selector) = &orders.watched else { panic!() };
/// assert_eq!(selector.aggregation, SeriesAggregation::RatePerMinute);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum Watched {
    /// A figure of the snapshot, by its camelCase name (`"metric": "p95"`).
    Metric(Metric),
    /// A series emitted through the `metrics` facade, and what of it to read.
    Series(SeriesSelector),
}

impl<'de> Deserialize<'de> for Watched {
    /// Reads `metric` or `series` from the rule's fields, refusing both and neither by name
    /// (serde's own enum reading would say "no variant found" and ignore a second one).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Either {
            metric: Option<Metric>,
            series: Option<SeriesSelector>,
        }
        match Either::deserialize(deserializer)? {
            Either { metric: Some(metric), series: None } => Ok(Watched::Metric(metric)),
            Either { metric: None, series: Some(series) } => Ok(Watched::Series(series)),
            Either { metric: Some(_), series: Some(_) } => Err(D::Error::custom(
                "both `metric` and `series` are given: a rule watches one figure, give exactly one of them",
            )),
            Either { metric: None, series: None } => Err(D::Error::custom(
                "missing field `metric` or `series`: give the snapshot figure (`metric`) or the business series (`series`) the rule watches",
            )),
        }
    }
}

impl From<Metric> for Watched {
    fn from(metric: Metric) -> Self {
        Watched::Metric(metric)
    }
}

impl From<SeriesSelector> for Watched {
    fn from(selector: SeriesSelector) -> Self {
        Watched::Series(selector)
    }
}

impl fmt::Display for Watched {
    /// The metric's name, or the selector as `name{label="value"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Watched::Metric(metric) => metric.fmt(f),
            Watched::Series(selector) => selector.fmt(f),
        }
    }
}

impl Watched {
    /// The watched figure in `snapshot`; `None` when it was not measured or no series matches.
    #[must_use]
    pub fn read(&self, snapshot: &MetricsSnapshot) -> Option<f64> {
        match self {
            Watched::Metric(metric) => snapshot.get(*metric),
            Watched::Series(selector) => selector.read(&snapshot.business),
        }
    }

    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        match self {
            Watched::Metric(_) => Vec::new(),
            Watched::Series(selector) => selector_problems(selector, &SERIES_FIELDS),
        }
    }

    pub(crate) fn kind_problems(&self, kinds: &SeriesKinds) -> Vec<(&'static str, String)> {
        match self {
            Watched::Metric(_) => Vec::new(),
            Watched::Series(selector) => {
                kind_problem(selector, selector.aggregation, kinds, SERIES_FIELDS.aggregation)
                    .into_iter()
                    .collect()
            }
        }
    }
}

/// The field names a selector's problems are reported under, as the rule writes them.
pub(crate) struct SelectorFields {
    pub(crate) name: &'static str,
    pub(crate) labels: &'static str,
    pub(crate) aggregation: &'static str,
}

const SERIES_FIELDS: SelectorFields = SelectorFields {
    name: "series.name",
    labels: "series.labels",
    aggregation: "series.aggregation",
};

/// What is wrong with a selector as written: names outside Prometheus's rules, and more label
/// matchers (or longer values) than an alert's labels may have.
pub(crate) fn selector_problems(
    selector: &SeriesSelector,
    fields: &SelectorFields,
) -> Vec<(&'static str, String)> {
    let mut problems: Vec<_> = selector
        .problems()
        .into_iter()
        .map(|(field, message)| {
            (if field == "name" { fields.name } else { fields.labels }, message)
        })
        .collect();
    if selector.labels.len() > MAX_LABELS {
        problems.push((
            fields.labels,
            format!(
                "{} label matchers given, at most {MAX_LABELS} are allowed",
                selector.labels.len()
            ),
        ));
    }
    if let Some((name, _)) = selector.labels.iter().find(|(_, value)| value.len() > MAX_LABEL_LEN) {
        problems.push((
            fields.labels,
            format!("label {name:?}'s value is longer than {MAX_LABEL_LEN} bytes"),
        ));
    }
    problems
}

/// The problem of reading `aggregation` from the series the selector names, where the engine
/// has seen that series and its kind has no such figure (a percentile of a counter).
pub(crate) fn kind_problem(
    selector: &SeriesSelector,
    aggregation: SeriesAggregation,
    kinds: &SeriesKinds,
    field: &'static str,
) -> Option<(&'static str, String)> {
    let kind = kinds.kind_of(&selector.name)?;
    if aggregation.applies_to(kind) {
        return None;
    }
    let possible: Vec<_> =
        AGGREGATIONS.into_iter().filter(|a| a.applies_to(kind)).map(aggregation_name).collect();
    Some((
        field,
        format!(
            "aggregation {} does not apply to {}, a {kind}: a {kind} has {}",
            aggregation_name(aggregation),
            selector.name,
            possible.join(", ")
        ),
    ))
}

const AGGREGATIONS: [SeriesAggregation; 7] = [
    SeriesAggregation::Value,
    SeriesAggregation::Increase,
    SeriesAggregation::RatePerSecond,
    SeriesAggregation::RatePerMinute,
    SeriesAggregation::P50,
    SeriesAggregation::P95,
    SeriesAggregation::P99,
];

/// The aggregation's name as rules write it.
pub(crate) fn aggregation_name(aggregation: SeriesAggregation) -> &'static str {
    match aggregation {
        SeriesAggregation::Value => "value",
        SeriesAggregation::Increase => "increase",
        SeriesAggregation::RatePerSecond => "ratePerSecond",
        SeriesAggregation::RatePerMinute => "ratePerMinute",
        SeriesAggregation::P50 => "p50",
        SeriesAggregation::P95 => "p95",
        SeriesAggregation::P99 => "p99",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use perfkit_core::{BusinessSeries, SeriesKind, Timestamp};

    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    struct Rule {
        #[serde(flatten)]
        watched: Watched,
        threshold: f64,
    }

    fn read(json: &str) -> Result<Rule, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_either_form_and_writes_it_back_unchanged() {
        let metric = read(r#"{"metric": "p95", "threshold": 1}"#).unwrap();
        assert_eq!(metric.watched, Watched::Metric(Metric::P95));
        assert_eq!(serde_json::to_string(&metric).unwrap(), r#"{"metric":"p95","threshold":1.0}"#);
        let series = read(
            r#"{"series": {"name": "demo_posts_created", "labels": {"page": "1"},
                "aggregation": "ratePerMinute"}, "threshold": 1}"#,
        )
        .unwrap();
        let Watched::Series(selector) = &series.watched else { panic!("{series:?}") };
        assert_eq!(selector.to_string(), r#"demo_posts_created{page="1"}"#);
        assert_eq!(
            serde_json::to_string(&series).unwrap(),
            r#"{"series":{"name":"demo_posts_created","labels":{"page":"1"},"aggregation":"ratePerMinute"},"threshold":1.0}"#
        );
    }

    #[test]
    fn both_or_neither_are_refused_naming_the_fields() {
        let both = read(r#"{"metric": "p95", "series": {"name": "a"}, "threshold": 1}"#);
        let error = both.unwrap_err();
        assert!(error.contains("both `metric` and `series`"), "{error}");
        let error = read(r#"{"threshold": 1}"#).unwrap_err();
        assert!(error.contains("missing field `metric` or `series`"), "{error}");
        let error = read(r#"{"series": {"name": "a", "agg": "p95"}, "threshold": 1}"#).unwrap_err();
        assert!(error.contains("agg"), "{error}");
    }

    #[test]
    fn a_missing_series_reads_as_none() {
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        snapshot.business.push(BusinessSeries {
            name: "orders".to_owned(),
            labels: BTreeMap::new(),
            kind: SeriesKind::Counter,
            value: 120.0,
            increase: Some(30.0),
            rate_per_second: Some(0.5),
            sum: None,
            p50: None,
            p95: None,
            p99: None,
        });
        let per_minute = SeriesSelector::new("orders", SeriesAggregation::RatePerMinute);
        assert_eq!(Watched::Series(per_minute).read(&snapshot), Some(30.0));
        let absent = SeriesSelector::new("refunds", SeriesAggregation::RatePerMinute);
        assert_eq!(Watched::Series(absent).read(&snapshot), None);
        assert_eq!(Watched::Metric(Metric::P95).read(&snapshot), None);
    }

    #[test]
    fn bad_selectors_and_impossible_aggregations_name_their_fields() {
        let mut selector = SeriesSelector::new("bad name", SeriesAggregation::P95);
        selector.labels.insert("bad-label".to_owned(), "x".to_owned());
        let watched = Watched::Series(selector);
        let fields: Vec<_> = watched.problems().into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["series.name", "series.labels"]);

        let mut kinds = SeriesKinds::default();
        kinds.observe(&[BusinessSeries::new("orders", SeriesKind::Counter, 1.0)]);
        let p95 = Watched::Series(SeriesSelector::new("orders", SeriesAggregation::P95));
        let problems = p95.kind_problems(&kinds);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "series.aggregation");
        assert!(problems[0].1.contains("p95 does not apply to orders, a counter"), "{problems:?}");
        let rate = Watched::Series(SeriesSelector::new("orders", SeriesAggregation::RatePerMinute));
        assert!(rate.kind_problems(&kinds).is_empty());
        let unknown = Watched::Series(SeriesSelector::new("later", SeriesAggregation::P95));
        assert!(unknown.kind_problems(&kinds).is_empty(), "an unseen series may appear later");
    }

    #[test]
    fn aggregation_names_are_serdes() {
        for aggregation in AGGREGATIONS {
            let json = serde_json::to_string(&aggregation).unwrap();
            assert_eq!(json, format!("\"{}\"", aggregation_name(aggregation)));
        }
    }
}
