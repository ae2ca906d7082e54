//! Series that the host (or any crate it links) emits through the `metrics` facade: the
//! business figures beside the technical ones. A snapshot carries each series' figures over
//! its interval; a [`SeriesSelector`] names one series (or a labelled group of them) and says
//! what of it to read, for alert rules and dashboards.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of instrument a series is, as the `metrics` facade names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum SeriesKind {
    /// A total that only grows (`counter!`).
    Counter,
    /// A value that is set, raised and lowered (`gauge!`).
    Gauge,
    /// A distribution of observations (`histogram!`).
    Histogram,
}

impl fmt::Display for SeriesKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SeriesKind::Counter => "counter",
            SeriesKind::Gauge => "gauge",
            SeriesKind::Histogram => "histogram",
        })
    }
}

/// One series' figures at the end of an interval.
///
/// `value` is what the series holds now: a counter's total since start, a gauge's value, a
/// histogram's number of observations since start. The interval figures (`increase`,
/// `ratePerSecond`, percentiles) cover the interval that ended at the snapshot's time and are
/// `None` where the kind has no such figure (a gauge has no rate) or nothing was observed (a
/// histogram's percentiles in an interval without observations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BusinessSeries {
    /// The series' name, sanitized to Prometheus rules (`demo_posts_created`); the exposition
    /// adds `_total` to a counter's name where it lacks it.
    pub name: String,
    /// Its labels, sorted by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Counter, gauge or histogram.
    pub kind: SeriesKind,
    /// A counter's total, a gauge's value, a histogram's count of observations, since start.
    pub value: f64,
    /// How much a counter (or a histogram's count) grew over the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub increase: Option<f64>,
    /// `increase` per second of the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_second: Option<f64>,
    /// A histogram's sum of observations since start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    /// A histogram's median over the interval (estimated from its buckets, as Prometheus's
    /// `histogram_quantile` does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    /// A histogram's 95th percentile over the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95: Option<f64>,
    /// A histogram's 99th percentile over the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
}

impl BusinessSeries {
    /// A series with no labels holding `value` and no interval figures yet.
    #[must_use]
    pub fn new(name: impl Into<String>, kind: SeriesKind, value: f64) -> Self {
        BusinessSeries {
            name: name.into(),
            labels: BTreeMap::new(),
            kind,
            value,
            increase: None,
            rate_per_second: None,
            sum: None,
            p50: None,
            p95: None,
            p99: None,
        }
    }

    /// Whether this series has the selector's name and every label it asks for.
    #[must_use]
    pub fn matches(&self, selector: &SeriesSelector) -> bool {
        self.name == selector.name
            && selector.labels.iter().all(|(name, value)| self.labels.get(name) == Some(value))
    }

    /// The figure `aggregation` reads from this one series; `None` where the kind has no such
    /// figure or it was not measured.
    #[must_use]
    pub fn figure(&self, aggregation: SeriesAggregation) -> Option<f64> {
        if !aggregation.applies_to(self.kind) {
            return None;
        }
        let figure = match aggregation {
            SeriesAggregation::Value => Some(self.value),
            SeriesAggregation::Increase => self.increase,
            SeriesAggregation::RatePerSecond => self.rate_per_second,
            SeriesAggregation::RatePerMinute => self.rate_per_second.map(|rate| rate * 60.0),
            SeriesAggregation::P50 => self.p50,
            SeriesAggregation::P95 => self.p95,
            SeriesAggregation::P99 => self.p99,
        };
        figure.filter(|v| v.is_finite())
    }
}

/// What of a series a rule or a chart reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum SeriesAggregation {
    /// The current value (a counter's total, a gauge's value, a histogram's count).
    #[default]
    Value,
    /// A counter's (or a histogram's count's) growth over the interval.
    Increase,
    /// That growth per second.
    RatePerSecond,
    /// That growth per minute.
    RatePerMinute,
    /// A histogram's median over the interval.
    P50,
    /// A histogram's 95th percentile over the interval.
    P95,
    /// A histogram's 99th percentile over the interval.
    P99,
}

impl SeriesAggregation {
    /// Whether a series of `kind` has this figure: a gauge has no rate, only a histogram has
    /// percentiles.
    #[must_use]
    pub fn applies_to(self, kind: SeriesKind) -> bool {
        match self {
            SeriesAggregation::Value => true,
            SeriesAggregation::Increase
            | SeriesAggregation::RatePerSecond
            | SeriesAggregation::RatePerMinute => kind != SeriesKind::Gauge,
            SeriesAggregation::P50 | SeriesAggregation::P95 | SeriesAggregation::P99 => {
                kind == SeriesKind::Histogram
            }
        }
    }

    /// Whether the figures of several matching series add up (totals, rates) rather than
    /// combine by their largest (percentiles).
    #[must_use]
    pub fn is_additive(self) -> bool {
        !matches!(self, SeriesAggregation::P50 | SeriesAggregation::P95 | SeriesAggregation::P99)
    }
}

/// Names a series, or the group of series that share a name and some labels, and what of it
/// to read.
///
/// Over several matching series, totals and rates add up and percentiles take the largest
/// (the worst group), so `{"name": "checkouts"}` reads every region's checkouts together.
///
/// ```
/// use perfkit_core::{SeriesAggregation, SeriesSelector};
///
/// let selector: SeriesSelector = serde_json::from_str(
///     r#"{"name": "orders_placed", "labels": {"region": "eu"}, "aggregation": "ratePerMinute"}"#,
/// ).unwrap();
/// assert_eq!(selector.aggregation, SeriesAggregation::RatePerMinute);
/// assert!(selector.problems().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeriesSelector {
    /// The series' name as the snapshot has it (sanitized: `[a-zA-Z_:][a-zA-Z0-9_:]*`).
    pub name: String,
    /// Labels the series must have, with these values; others may have any.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// What to read; the value when absent.
    #[serde(default)]
    pub aggregation: SeriesAggregation,
}

impl SeriesSelector {
    /// A selector of every series named `name`, reading `aggregation`.
    #[must_use]
    pub fn new(name: impl Into<String>, aggregation: SeriesAggregation) -> Self {
        SeriesSelector { name: name.into(), labels: BTreeMap::new(), aggregation }
    }

    /// What is wrong with the selector as written, each with the field it concerns: a name or
    /// label name outside Prometheus's rules. A name nobody emits yet is not a problem (it may
    /// appear later).
    #[must_use]
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !is_valid_metric_name(&self.name) {
            problems.push((
                "name",
                format!(
                    "series name {:?} is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*, at most {MAX_NAME_LEN} bytes)",
                    self.name
                ),
            ));
        }
        for label in self.labels.keys() {
            if !is_valid_label_name(label) {
                problems.push((
                    "labels",
                    format!(
                        "label name {label:?} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"
                    ),
                ));
            }
        }
        problems
    }

    /// The selected figure in `snapshot`: summed over the matching series for totals and
    /// rates, their largest for percentiles; `None` when no matching series has the figure.
    #[must_use]
    pub fn read(&self, series: &[BusinessSeries]) -> Option<f64> {
        let mut figures =
            series.iter().filter(|s| s.matches(self)).filter_map(|s| s.figure(self.aggregation));
        let first = figures.next()?;
        Some(if self.aggregation.is_additive() {
            figures.fold(first, |total, v| total + v)
        } else {
            figures.fold(first, f64::max)
        })
    }
}

impl fmt::Display for SeriesSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.labels.is_empty() {
            f.write_str("{")?;
            for (i, (name, value)) in self.labels.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{name}={value:?}")?;
            }
            f.write_str("}")?;
        }
        Ok(())
    }
}

/// Longest series or label name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 200;

/// Whether `name` is a Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, not empty, at most
/// [`MAX_NAME_LEN`] bytes.
#[must_use]
pub fn is_valid_metric_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && !bytes[0].is_ascii_digit()
        && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// Whether `name` is a Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not empty, not
/// reserved (`__` prefix), at most [`MAX_NAME_LEN`] bytes.
#[must_use]
pub fn is_valid_label_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && !bytes[0].is_ascii_digit()
        && !name.starts_with("__")
        && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, region: &str, kind: SeriesKind, value: f64) -> BusinessSeries {
        BusinessSeries {
            name: name.to_owned(),
            labels: BTreeMap::from([("region".to_owned(), region.to_owned())]),
            kind,
            value,
            increase: (kind != SeriesKind::Gauge).then_some(value / 10.0),
            rate_per_second: (kind != SeriesKind::Gauge).then_some(value / 300.0),
            sum: None,
            p50: (kind == SeriesKind::Histogram).then_some(value),
            p95: (kind == SeriesKind::Histogram).then_some(value * 2.0),
            p99: (kind == SeriesKind::Histogram).then_some(value * 3.0),
        }
    }

    #[test]
    fn totals_add_up_and_percentiles_take_the_worst() {
        let all = [
            series("orders", "eu", SeriesKind::Counter, 300.0),
            series("orders", "us", SeriesKind::Counter, 600.0),
            series("body", "eu", SeriesKind::Histogram, 10.0),
            series("body", "us", SeriesKind::Histogram, 20.0),
        ];
        let rate = SeriesSelector::new("orders", SeriesAggregation::RatePerSecond);
        assert_eq!(rate.read(&all), Some(3.0));
        let per_minute = SeriesSelector::new("orders", SeriesAggregation::RatePerMinute);
        assert_eq!(per_minute.read(&all), Some(180.0));
        let mut eu = SeriesSelector::new("orders", SeriesAggregation::Value);
        eu.labels.insert("region".into(), "eu".into());
        assert_eq!(eu.read(&all), Some(300.0));
        assert_eq!(SeriesSelector::new("body", SeriesAggregation::P95).read(&all), Some(40.0));
    }

    #[test]
    fn impossible_or_missing_figures_read_as_none() {
        let all = [series("queue", "eu", SeriesKind::Gauge, 4.0)];
        assert_eq!(SeriesSelector::new("queue", SeriesAggregation::Value).read(&all), Some(4.0));
        assert_eq!(SeriesSelector::new("queue", SeriesAggregation::RatePerSecond).read(&all), None);
        assert_eq!(SeriesSelector::new("queue", SeriesAggregation::P99).read(&all), None);
        assert_eq!(SeriesSelector::new("absent", SeriesAggregation::Value).read(&all), None);
        assert!(!SeriesAggregation::P50.applies_to(SeriesKind::Counter));
        assert!(SeriesAggregation::Increase.applies_to(SeriesKind::Histogram));
    }

    #[test]
    fn names_follow_prometheus_rules() {
        assert!(is_valid_metric_name("demo:posts_created_total"));
        assert!(!is_valid_metric_name("9lives"));
        assert!(!is_valid_metric_name("posts-created"));
        assert!(!is_valid_metric_name(""));
        assert!(is_valid_label_name("page_depth"));
        assert!(!is_valid_label_name("__name__"));
        assert!(!is_valid_label_name("a:b"));
        let mut selector = SeriesSelector::new("bad name", SeriesAggregation::Value);
        selector.labels.insert("bad-label".into(), "x".into());
        let fields: Vec<_> = selector.problems().into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["name", "labels"]);
    }

    #[test]
    fn selectors_read_from_json_and_refuse_unknown_fields() {
        let selector: SeriesSelector = serde_json::from_str(r#"{"name": "a"}"#).unwrap();
        assert_eq!(selector.aggregation, SeriesAggregation::Value);
        assert!(serde_json::from_str::<SeriesSelector>(r#"{"name": "a", "agg": "p95"}"#).is_err());
        assert_eq!(
            SeriesSelector { labels: BTreeMap::from([("region".into(), "eu".into())]), ..selector }
                .to_string(),
            r#"a{region="eu"}"#
        );
    }
}
