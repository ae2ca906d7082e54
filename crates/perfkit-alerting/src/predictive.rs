//! The predictive condition: a least-squares line through the recent points of a metric or a
//! business series (as Prometheus' `predict_linear`), extended past now. The points kept per
//! rule are bounded by `MAX_POINTS`.

use std::collections::VecDeque;
use std::time::Duration;

use perfkit_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::rule::{Comparison, Verdict};
use crate::series_kinds::SeriesKinds;
use crate::watched::Watched;

/// Most points a predictive rule keeps, however long its lookback.
pub const MAX_POINTS: usize = 1024;

/// A metric (or a business series) predicted to cross a limit within a horizon ("memory full within 1 h", "queue
/// length doubling within 10 min").
///
/// The prediction is a least-squares line through the points of the lookback window (as
/// Prometheus' `predict_linear`), extended `horizon` past now. The limit is either an absolute
/// `threshold` or a `growth_factor` times the current value; exactly one must be given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct PredictiveCondition {
    /// The figure watched: `metric` or `series`, written inline.
    #[serde(flatten)]
    pub watched: Watched,
    /// Which side of the limit is bad.
    pub comparison: Comparison,
    /// Absolute limit the prediction must not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Relative limit: the prediction must not pass this multiple of the current value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub growth_factor: Option<f64>,
    /// How far ahead to predict.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::Any))]
    pub horizon: Duration,
    /// How far back the fitted points go.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::Any))]
    pub lookback: Duration,
    /// Fewest points for a prediction; with fewer the condition does not hold.
    #[cfg_attr(feature = "openapi", schema(minimum = 2, maximum = 1024))]
    pub min_points: usize,
}

perfkit_core::maps_only!(PredictiveCondition);

impl PredictiveCondition {
    /// Judges the points of `series` (which `current`, the watched figure now, has been
    /// recorded into).
    pub(crate) fn evaluate(
        &self,
        current: Option<f64>,
        series: &PointSeries,
        now: Timestamp,
    ) -> Verdict {
        let Some(current) = current else {
            return Verdict::Missing;
        };
        let points = series.since(now - self.lookback);
        if points.len() < self.min_points {
            return Verdict::Clear(None);
        }
        let Some(predicted) = predict(points, now, self.horizon) else {
            return Verdict::Clear(None);
        };
        let limit = match (self.threshold, self.growth_factor) {
            (Some(threshold), _) => threshold,
            (None, Some(factor)) => current * factor,
            (None, None) => return Verdict::Clear(Some(predicted)),
        };
        if self.comparison.is_past(predicted, limit) {
            Verdict::Breach(predicted)
        } else {
            Verdict::Clear(Some(predicted))
        }
    }

    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = self.watched.problems();
        match (self.threshold, self.growth_factor) {
            (Some(_), Some(_)) | (None, None) => problems.push((
                "threshold",
                "give exactly one of threshold (absolute limit) and growthFactor (relative limit)"
                    .to_owned(),
            )),
            (Some(t), None) if !t.is_finite() => {
                problems.push(("threshold", "threshold must be a finite number".to_owned()));
            }
            (None, Some(f)) if !(f.is_finite() && f > 0.0) => {
                problems
                    .push(("growthFactor", "growth factor must be a positive number".to_owned()));
            }
            _ => {}
        }
        if self.min_points < 2 || self.min_points > MAX_POINTS {
            problems.push((
                "minPoints",
                format!(
                    "min points {} must be between 2 and {MAX_POINTS}: a line needs two points",
                    self.min_points
                ),
            ));
        }
        if self.lookback.is_zero() || self.lookback > Duration::from_secs(6 * 3600) {
            problems.push(("lookback", "lookback must be between 1s and 6h".to_owned()));
        }
        if self.horizon.is_zero() || self.horizon > Duration::from_secs(7 * 24 * 3600) {
            problems.push(("horizon", "horizon must be between 1s and 7 days".to_owned()));
        }
        problems
    }

    pub(crate) fn kind_problems(&self, kinds: &SeriesKinds) -> Vec<(&'static str, String)> {
        self.watched.kind_problems(kinds)
    }
}

/// The least-squares line through `points`, evaluated `horizon` after `now`; `None` when the
/// points do not determine a line (fewer than two distinct times).
#[must_use]
pub(crate) fn predict(
    points: impl ExactSizeIterator<Item = (Timestamp, f64)> + Clone,
    now: Timestamp,
    horizon: Duration,
) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    let n = points.len() as f64;
    if n < 2.0 {
        return None;
    }
    // x in seconds relative to now keeps the sums small and precise.
    let x_of = |t: Timestamp| (t.as_unix_millis() - now.as_unix_millis()) as f64 / 1000.0;
    let (sum_x, sum_y) = points.clone().fold((0.0, 0.0), |(sx, sy), (t, y)| (sx + x_of(t), sy + y));
    let (mean_x, mean_y) = (sum_x / n, sum_y / n);
    let (sxy, sxx) = points.fold((0.0, 0.0), |(sxy, sxx), (t, y)| {
        let dx = x_of(t) - mean_x;
        (sxy + dx * (y - mean_y), sxx + dx * dx)
    });
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    Some(mean_y + slope * (horizon.as_secs_f64() - mean_x))
}

/// The recent values of one metric, for a predictive rule. Bounded by [`MAX_POINTS`] and by
/// the lookback.
#[derive(Debug, Default)]
pub(crate) struct PointSeries {
    points: VecDeque<(Timestamp, f64)>,
}

impl PointSeries {
    pub(crate) fn record(&mut self, at: Timestamp, value: Option<f64>, lookback: Duration) {
        if let Some(value) = value
            && self.points.back().is_none_or(|(last, _)| *last < at)
        {
            self.points.push_back((at, value));
        }
        let oldest = at - lookback;
        while self.points.front().is_some_and(|(t, _)| *t < oldest)
            || self.points.len() > MAX_POINTS
        {
            self.points.pop_front();
        }
    }

    pub(crate) fn since(
        &self,
        start: Timestamp,
    ) -> impl ExactSizeIterator<Item = (Timestamp, f64)> + Clone + '_ {
        let skip = self.points.partition_point(|(t, _)| *t < start);
        self.points.range(skip..).copied()
    }
}

#[cfg(test)]
mod tests {
    use perfkit_core::{Metric, MetricsSnapshot};

    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(secs * 1000)
    }

    #[test]
    fn least_squares_extends_a_straight_line() {
        let points: Vec<_> = (0..10).map(|i| (at(i * 60), 0.5 + 0.01 * i as f64)).collect();
        let predicted =
            predict(points.iter().copied(), at(540), Duration::from_secs(3600)).unwrap();
        assert!((predicted - (0.59 + 0.6)).abs() < 1e-9, "{predicted}");
        assert_eq!(predict([(at(5), 1.0), (at(5), 2.0)].into_iter(), at(5), Duration::ZERO), None);
    }

    #[test]
    fn memory_full_within_an_hour() {
        let rule = PredictiveCondition {
            watched: Watched::Metric(Metric::MemoryUsage),
            comparison: Comparison::Above,
            threshold: Some(1.0),
            growth_factor: None,
            horizon: Duration::from_secs(3600),
            lookback: Duration::from_secs(1800),
            min_points: 5,
        };
        let mut series = PointSeries::default();
        let mut snapshot = MetricsSnapshot::empty(at(0));
        let mut verdicts = Vec::new();
        for i in 0..10 {
            // +1 % a minute: 0.5 now, full in 50 minutes.
            snapshot.timestamp = at(i * 60);
            snapshot.memory_usage = Some(0.41 + 0.01 * i as f64);
            series.record(snapshot.timestamp, snapshot.memory_usage, rule.lookback);
            verdicts.push(rule.evaluate(snapshot.memory_usage, &series, snapshot.timestamp));
        }
        assert!(verdicts[..4].iter().all(|v| *v == Verdict::Clear(None)), "{verdicts:?}");
        assert!(matches!(verdicts[9], Verdict::Breach(p) if p > 1.0));
    }

    #[test]
    fn queue_doubling_uses_growth_factor() {
        let rule = PredictiveCondition {
            watched: Watched::Metric(Metric::QueueLength),
            comparison: Comparison::Above,
            threshold: None,
            growth_factor: Some(2.0),
            horizon: Duration::from_secs(600),
            lookback: Duration::from_secs(600),
            min_points: 3,
        };
        let mut series = PointSeries::default();
        let mut snapshot = MetricsSnapshot::empty(at(0));
        for (i, q) in [100.0, 110.0, 120.0, 130.0].into_iter().enumerate() {
            snapshot.timestamp = at(i as i64 * 60);
            snapshot.queue_length = Some(q);
            series.record(snapshot.timestamp, Some(q), rule.lookback);
        }
        // +10/min: 230 in 10 min, short of 260.
        assert!(matches!(
            rule.evaluate(snapshot.queue_length, &series, snapshot.timestamp),
            Verdict::Clear(Some(_))
        ));
        snapshot.timestamp = at(240);
        snapshot.queue_length = Some(250.0);
        series.record(snapshot.timestamp, Some(250.0), rule.lookback);
        assert!(matches!(
            rule.evaluate(snapshot.queue_length, &series, snapshot.timestamp),
            Verdict::Breach(_)
        ));
    }

    #[test]
    fn series_is_bounded() {
        let mut series = PointSeries::default();
        for i in 0..5000 {
            series.record(at(i), Some(1.0), Duration::from_secs(100_000));
        }
        assert_eq!(series.since(at(0)).len(), MAX_POINTS);
    }
}
