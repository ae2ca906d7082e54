//! The periodic report: what happened over the last report period.

use std::collections::BTreeMap;

use perfkit_alerting::Alert;
use perfkit_core::{Metric, MetricsSnapshot, Timestamp};
use perfkit_metrics::RouteSummary;
use perfkit_optimizer::Recommendation;
use serde::Serialize;

use crate::analysis::{
    PerformanceScore, ScoreTargets, SeriesTrend, Trend, score, series_trends, trends,
};

/// The period a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Period {
    /// First snapshot's time.
    pub start: Timestamp,
    /// Last snapshot's time.
    pub end: Timestamp,
    /// Snapshots in the period.
    pub snapshots: usize,
}

/// A report over one period: averages, trends (of the metrics and the business series),
/// score, alerts and recommendations.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PerformanceReport {
    /// When it was built.
    pub generated_at: Timestamp,
    /// What it covers; `None` when there were no snapshots.
    pub period: Option<Period>,
    /// Mean of each metric over the period, where measured (uptime has none: see `uptime`).
    pub averages: BTreeMap<Metric, f64>,
    /// Share of the period's requests not answered with a 5xx, 0..1, weighted by each
    /// snapshot's request count; `None` when the period had no requests.
    pub availability: Option<f64>,
    /// Seconds the process had been up at the period's last snapshot.
    pub uptime: Option<f64>,
    /// Trend of each metric over the period.
    pub trends: Vec<Trend>,
    /// Trend of each business series of the period's last snapshot (at most 32, the
    /// analysis's `MAX_SERIES_TRENDS`): a counter's rate per second, a gauge's value, a
    /// histogram's P95. Absent from JSON when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub business_trends: Vec<SeriesTrend>,
    /// The score of the period's averages.
    pub score: PerformanceScore,
    /// Alerts active when the report was built.
    pub active_alerts: Vec<Alert>,
    /// Alerts that fired during the period.
    pub alerts_fired: usize,
    /// What the optimizer recommends now.
    pub recommendations: Vec<Recommendation>,
    /// The slowest routes since the last reset.
    pub slowest_routes: Vec<RouteSummary>,
}

/// What a report is built from.
pub(crate) struct ReportInputs<'a> {
    pub(crate) now: Timestamp,
    pub(crate) snapshots: &'a [MetricsSnapshot],
    pub(crate) targets: &'a ScoreTargets,
    pub(crate) active_alerts: Vec<Alert>,
    pub(crate) alerts_fired: usize,
    pub(crate) recommendations: Vec<Recommendation>,
    pub(crate) slowest_routes: Vec<RouteSummary>,
}

/// Routes listed in a report.
pub(crate) const REPORT_ROUTES: usize = 10;

/// The mean of each metric over `snapshots`, skipping snapshots where it was not measured.
#[must_use]
pub fn averages(snapshots: &[MetricsSnapshot]) -> BTreeMap<Metric, f64> {
    Metric::ALL
        .into_iter()
        .filter(|metric| *metric != Metric::Uptime)
        .filter_map(|metric| {
            let values: Vec<f64> = snapshots.iter().filter_map(|s| s.get(metric)).collect();
            #[allow(clippy::cast_precision_loss)]
            (!values.is_empty()).then(|| (metric, values.iter().sum::<f64>() / values.len() as f64))
        })
        .collect()
}

/// Requests not answered 5xx over `snapshots`, each snapshot weighted by its request count
/// (a mean of the snapshots' ratios would let a quiet interval count as much as a busy one).
#[must_use]
pub fn availability_over(snapshots: &[MetricsSnapshot]) -> Option<f64> {
    let (requests, available) =
        snapshots.iter().fold((0.0, 0.0), |(requests, available), s| {
            match (s.get(Metric::RequestCount), s.get(Metric::Availability)) {
                (Some(count), Some(share)) if count > 0.0 => {
                    (requests + count, available + count * share)
                }
                _ => (requests, available),
            }
        });
    (requests > 0.0).then(|| available / requests)
}

pub(crate) fn build(inputs: ReportInputs<'_>) -> PerformanceReport {
    let averages = averages(inputs.snapshots);
    let mut average_snapshot = MetricsSnapshot::empty(inputs.now);
    for (metric, value) in &averages {
        average_snapshot.set(*metric, Some(*value));
    }
    // The score's availability is the period's, weighted by requests like the report's.
    let availability = availability_over(inputs.snapshots);
    average_snapshot.availability = availability;
    let period = match (inputs.snapshots.first(), inputs.snapshots.last()) {
        (Some(first), Some(last)) => Some(Period {
            start: first.timestamp,
            end: last.timestamp,
            snapshots: inputs.snapshots.len(),
        }),
        _ => None,
    };
    let mut slowest_routes = inputs.slowest_routes;
    slowest_routes.truncate(REPORT_ROUTES);
    PerformanceReport {
        generated_at: inputs.now,
        period,
        trends: trends(inputs.snapshots),
        business_trends: series_trends(inputs.snapshots),
        score: score(&average_snapshot, inputs.targets),
        averages,
        availability,
        uptime: inputs.snapshots.last().and_then(|last| last.get(Metric::Uptime)),
        active_alerts: inputs.active_alerts,
        alerts_fired: inputs.alerts_fired,
        recommendations: inputs.recommendations,
        slowest_routes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Heading;
    use perfkit_core::{BusinessSeries, SeriesAggregation, SeriesKind};

    #[test]
    fn averages_skip_missing_values() {
        let mut a = MetricsSnapshot::empty(Timestamp::from_unix_millis(0));
        a.p95 = Some(100.0);
        a.cpu_usage = Some(0.2);
        let mut b = MetricsSnapshot::empty(Timestamp::from_unix_millis(30_000));
        b.p95 = Some(300.0);
        let averages = averages(&[a, b]);
        assert_eq!(averages[&Metric::P95], 200.0);
        assert_eq!(averages[&Metric::CpuUsage], 0.2);
        assert!(!averages.contains_key(&Metric::ErrorRate));
    }

    #[test]
    fn trends_cover_the_business_series() {
        let snapshots: Vec<MetricsSnapshot> = (0..6_i32)
            .map(|i| {
                let mut snapshot =
                    MetricsSnapshot::empty(Timestamp::from_unix_millis(i64::from(i) * 30_000));
                snapshot.business = vec![BusinessSeries {
                    name: "orders_placed".to_owned(),
                    labels: BTreeMap::from([("region".to_owned(), "eu".to_owned())]),
                    kind: SeriesKind::Counter,
                    value: f64::from(i) * 60.0,
                    increase: Some(60.0),
                    rate_per_second: Some(2.0 + f64::from(i)),
                    sum: None,
                    p50: None,
                    p95: None,
                    p99: None,
                }];
                snapshot
            })
            .collect();
        let report = build(ReportInputs {
            now: Timestamp::from_unix_millis(180_000),
            snapshots: &snapshots,
            targets: &ScoreTargets::default(),
            active_alerts: Vec::new(),
            alerts_fired: 0,
            recommendations: Vec::new(),
            slowest_routes: Vec::new(),
        });
        let [trend] = report.business_trends.as_slice() else {
            panic!("one business trend expected: {:?}", report.business_trends);
        };
        assert_eq!(trend.series, r#"orders_placed{region="eu"}"#);
        assert_eq!(trend.aggregation, SeriesAggregation::RatePerSecond);
        assert_eq!(trend.heading, Heading::Rising);
        assert_eq!(trend.points, 6);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["businessTrends"][0]["series"], trend.series.as_str());
        // A report without business series says nothing of them.
        let plain = build(ReportInputs {
            now: Timestamp::from_unix_millis(180_000),
            snapshots: &[],
            targets: &ScoreTargets::default(),
            active_alerts: Vec::new(),
            alerts_fired: 0,
            recommendations: Vec::new(),
            slowest_routes: Vec::new(),
        });
        assert!(serde_json::to_value(&plain).unwrap().get("businessTrends").is_none());
    }
}
