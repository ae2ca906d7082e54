//! Trends of the business series (those emitted through the `metrics` facade), fitted by the
//! same least squares as the trends of the [`Metric`](perfkit_core::Metric)s, each on the
//! figure that says most about its kind.

use std::collections::BTreeMap;

use perfkit_core::{MetricsSnapshot, SeriesAggregation, SeriesKind, SeriesSelector};
use serde::{Deserialize, Serialize};

use super::trend::Fit;

/// Most business series a report fits a trend for: a process may emit hundreds of series,
/// and a report lists the ones of the latest snapshot up to this many, in its order.
pub const MAX_SERIES_TRENDS: usize = 32;

/// Which way a business series is heading. Unlike a [`Metric`](perfkit_core::Metric),
/// perfkit cannot know whether more is better (more orders, more refunds), so it says only
/// up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Heading {
    /// Going up by at least the stability band over the window.
    Rising,
    /// Changing by less than the stability band over the window.
    Stable,
    /// Going down by at least the stability band over the window.
    Falling,
}

/// The trend of one business series over a window of snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SeriesTrend {
    /// The series as a selector writes it: `name{label="value",...}`.
    pub series: String,
    /// Its name.
    pub name: String,
    /// Its labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Counter, gauge or histogram.
    pub kind: SeriesKind,
    /// The figure the trend was fitted on: [`headline_aggregation`] of the kind.
    pub aggregation: SeriesAggregation,
    /// Rising, stable or falling.
    pub heading: Heading,
    /// Least-squares slope, in the figure's unit per hour.
    pub slope_per_hour: f64,
    /// Predicted change over the window relative to the window's mean level.
    pub relative_change: f64,
    /// How well a straight line explains the points: R², 0..1.
    pub confidence: f64,
    /// Points the trend was fitted on.
    pub points: usize,
}

/// The figure that says most about a series of `kind`, the one trends are fitted on and
/// dashboards show first: a counter's rate per second (its total only grows), a gauge's
/// value, a histogram's P95.
#[must_use]
pub fn headline_aggregation(kind: SeriesKind) -> SeriesAggregation {
    match kind {
        SeriesKind::Counter => SeriesAggregation::RatePerSecond,
        SeriesKind::Gauge => SeriesAggregation::Value,
        SeriesKind::Histogram => SeriesAggregation::P95,
    }
}

/// Trends of the business series of the latest snapshot in `snapshots` (oldest first), at
/// most [`MAX_SERIES_TRENDS`] of them in that snapshot's order, each fitted on its
/// [`headline_aggregation`] over the snapshots that have it; a series with fewer than
/// [`MIN_TREND_POINTS`](super::MIN_TREND_POINTS) such points has none.
///
/// ```
/// use perfkit::analysis::{Heading, series_trends};
/// use perfkit::core::{BusinessSeries, MetricsSnapshot, SeriesKind, Timestamp};
///
/// // Orders per second rising by one every 30 s.
/// let history: Vec<MetricsSnapshot> = (0..5)
///     .map(|i| MetricsSnapshot {
///         business: vec![BusinessSeries {
///             name: "orders_placed".into(),
///             labels: Default::default(),
///             kind: SeriesKind::Counter,
///             value: 0.0,
///             increase: None,
///             rate_per_second: Some(f64::from(i)),
///             sum: None,
///             p50: None,
///             p95: None,
///             p99: None,
///         }],
///         ..MetricsSnapshot::empty(Timestamp::from_unix_millis(i64::from(i) * 30_000))
///     })
///     .collect();
/// let trends = series_trends(&history);
/// assert_eq!(trends[0].series, "orders_placed");
/// assert_eq!(trends[0].heading, Heading::Rising);
/// assert!((trends[0].slope_per_hour - 120.0).abs() < 1e-9);
/// ```
#[must_use]
pub fn series_trends(snapshots: &[MetricsSnapshot]) -> Vec<SeriesTrend> {
    let Some(latest) = snapshots.last() else {
        return Vec::new();
    };
    let chosen: Vec<_> = latest.business.iter().take(MAX_SERIES_TRENDS).collect();
    // Each chosen series by identity (name and every label), so one pass over each snapshot
    // finds all of them whatever its order.
    let position: BTreeMap<(&str, &BTreeMap<String, String>), usize> = chosen
        .iter()
        .enumerate()
        .map(|(index, series)| ((series.name.as_str(), &series.labels), index))
        .collect();
    let mut points: Vec<Vec<(f64, f64)>> = vec![Vec::new(); chosen.len()];
    for snapshot in snapshots {
        let at = snapshot.timestamp.as_secs_f64();
        for series in &snapshot.business {
            let Some(&index) = position.get(&(series.name.as_str(), &series.labels)) else {
                continue;
            };
            // A series whose kind changed (two crates emitting one name) is not the same
            // series to fit.
            if series.kind != chosen[index].kind {
                continue;
            }
            if let Some(value) = series.figure(headline_aggregation(series.kind)) {
                points[index].push((at, value));
            }
        }
    }
    chosen
        .iter()
        .zip(&points)
        .filter_map(|(series, points)| {
            let fit = Fit::through(points)?;
            let aggregation = headline_aggregation(series.kind);
            let heading = if fit.is_stable() {
                Heading::Stable
            } else if fit.relative_change > 0.0 {
                Heading::Rising
            } else {
                Heading::Falling
            };
            let selector = SeriesSelector {
                name: series.name.clone(),
                labels: series.labels.clone(),
                aggregation,
            };
            Some(SeriesTrend {
                series: selector.to_string(),
                name: series.name.clone(),
                labels: series.labels.clone(),
                kind: series.kind,
                aggregation,
                heading,
                slope_per_hour: fit.slope_per_hour,
                relative_change: fit.relative_change,
                confidence: fit.confidence,
                points: fit.points,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfkit_core::{BusinessSeries, Timestamp};

    fn series(name: &str, depth: Option<&str>, kind: SeriesKind, figure: f64) -> BusinessSeries {
        BusinessSeries {
            name: name.to_owned(),
            labels: depth.map(|d| ("depth".to_owned(), d.to_owned())).into_iter().collect(),
            kind,
            value: figure * 100.0,
            increase: (kind != SeriesKind::Gauge).then_some(figure * 30.0),
            rate_per_second: (kind != SeriesKind::Gauge).then_some(figure),
            sum: None,
            p50: None,
            p95: (kind == SeriesKind::Histogram).then_some(figure),
            p99: None,
        }
    }

    fn at(step: i64, business: Vec<BusinessSeries>) -> MetricsSnapshot {
        let mut snapshot =
            MetricsSnapshot::empty(Timestamp::from_unix_millis(1_700_000_000_000 + step * 30_000));
        snapshot.business = business;
        snapshot
    }

    #[test]
    fn each_kind_is_fitted_on_its_headline_figure() {
        // Counter rates climb 1/s per snapshot, the gauge is flat, the histogram's P95 falls.
        let snapshots: Vec<_> = (0..10)
            .map(|i| {
                let step = f64::from(i32::try_from(i).unwrap());
                at(
                    i,
                    vec![
                        series("body_bytes", None, SeriesKind::Histogram, 1000.0 - 50.0 * step),
                        series("queue", None, SeriesKind::Gauge, 4.0),
                        series("reads", Some("1"), SeriesKind::Counter, 10.0 + step),
                    ],
                )
            })
            .collect();
        let trends = series_trends(&snapshots);
        let ids: Vec<_> = trends.iter().map(|t| t.series.as_str()).collect();
        assert_eq!(ids, ["body_bytes", "queue", r#"reads{depth="1"}"#]);
        assert_eq!(trends[0].aggregation, SeriesAggregation::P95);
        assert_eq!(trends[0].heading, Heading::Falling);
        assert_eq!(trends[1].heading, Heading::Stable);
        let reads = &trends[2];
        assert_eq!(reads.aggregation, SeriesAggregation::RatePerSecond);
        assert_eq!(reads.heading, Heading::Rising);
        // +1/s every 30 s = +120/s per hour.
        assert!((reads.slope_per_hour - 120.0).abs() < 1e-6, "{}", reads.slope_per_hour);
        assert_eq!(reads.points, 10);
    }

    #[test]
    fn only_the_latest_snapshots_series_are_fitted_and_at_most_the_cap() {
        let many: Vec<_> = (0..MAX_SERIES_TRENDS + 5)
            .map(|i| series(&format!("s{i:03}"), None, SeriesKind::Gauge, 1.0))
            .collect();
        let mut snapshots: Vec<_> = (0..5).map(|i| at(i, many.clone())).collect();
        assert_eq!(series_trends(&snapshots).len(), MAX_SERIES_TRENDS);
        // A series gone from the latest snapshot has no trend; one with too few points none.
        snapshots.push(at(5, vec![series("new", None, SeriesKind::Gauge, 1.0)]));
        assert!(series_trends(&snapshots).is_empty());
        assert!(series_trends(&[]).is_empty());
    }

    #[test]
    fn series_are_told_apart_by_their_labels_and_kind() {
        let snapshots: Vec<_> = (0..4)
            .map(|i| {
                let step = f64::from(i32::try_from(i).unwrap());
                let kind = if i == 0 { SeriesKind::Gauge } else { SeriesKind::Counter };
                at(
                    i,
                    vec![
                        series("reads", Some("1"), SeriesKind::Counter, 5.0),
                        series("reads", Some("6+"), kind, 1.0 + step),
                    ],
                )
            })
            .collect();
        let trends = series_trends(&snapshots);
        assert_eq!(trends[0].heading, Heading::Stable);
        assert_eq!(trends[1].series, r#"reads{depth="6+"}"#);
        assert_eq!(trends[1].points, 3, "the snapshot where it was a gauge is not its point");
    }
}
