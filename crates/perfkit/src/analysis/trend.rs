//! Trends by least squares, as Prometheus' `deriv()` computes them.

use perfkit_core::{Metric, MetricsSnapshot};
use serde::{Deserialize, Serialize};

/// Which way a metric is heading, judged by whether higher is better for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Moving the good way.
    Improving,
    /// Changing by less than the stability band over the window.
    Stable,
    /// Moving the bad way.
    Degrading,
}

/// The trend of one metric over a window of snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Trend {
    /// The metric.
    pub metric: Metric,
    /// Improving, stable or degrading.
    pub direction: Direction,
    /// Least-squares slope, in the metric's unit per hour.
    pub slope_per_hour: f64,
    /// Predicted change over the window relative to the window's mean level.
    pub relative_change: f64,
    /// How well a straight line explains the points: R², 0..1.
    pub confidence: f64,
    /// Points the trend was fitted on.
    pub points: usize,
}

/// Fewer points than this make no trend.
pub const MIN_POINTS: usize = 3;
/// A predicted change smaller than this share of the mean level counts as stable.
const STABLE_BAND: f64 = 0.05;

/// The trend of `metric` over `snapshots` (oldest first), skipping snapshots where it was not
/// measured; `None` with fewer than [`MIN_POINTS`] measured points or no time spread.
#[must_use]
pub fn trend(metric: Metric, snapshots: &[MetricsSnapshot]) -> Option<Trend> {
    let points: Vec<(f64, f64)> = snapshots
        .iter()
        .filter_map(|s| s.get(metric).map(|value| (s.timestamp.as_secs_f64(), value)))
        .collect();
    let fit = Fit::through(&points)?;
    let direction = if fit.is_stable() {
        Direction::Stable
    } else if (fit.relative_change > 0.0) == metric.higher_is_better() {
        Direction::Improving
    } else {
        Direction::Degrading
    };
    Some(Trend {
        metric,
        direction,
        slope_per_hour: fit.slope_per_hour,
        relative_change: fit.relative_change,
        confidence: fit.confidence,
        points: fit.points,
    })
}

/// A least-squares line through (seconds, value) points, as Prometheus' `deriv()` fits it:
/// what every trend (a [`Metric`]'s, a business series') is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fit {
    /// Slope in the value's unit per hour.
    pub(crate) slope_per_hour: f64,
    /// Predicted change over the points' span relative to their mean level.
    pub(crate) relative_change: f64,
    /// R², 0..1.
    pub(crate) confidence: f64,
    /// Points fitted.
    pub(crate) points: usize,
}

impl Fit {
    /// The line through `points` (x in seconds, oldest first); `None` with fewer than
    /// [`MIN_POINTS`] points or no time spread.
    pub(crate) fn through(points: &[(f64, f64)]) -> Option<Fit> {
        if points.len() < MIN_POINTS {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let n = points.len() as f64;
        // Centre x on its mean: epoch seconds squared would lose precision in f64.
        let mean_x = points.iter().map(|(x, _)| x).sum::<f64>() / n;
        let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / n;
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        for (x, y) in points {
            let (dx, dy) = (x - mean_x, y - mean_y);
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
        }
        if sxx <= 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        let span = points.last().map_or(0.0, |(x, _)| *x) - points.first().map_or(0.0, |(x, _)| *x);
        let level = mean_y.abs().max(f64::EPSILON);
        let confidence = if syy <= 0.0 { 1.0 } else { (sxy * sxy / (sxx * syy)).clamp(0.0, 1.0) };
        Some(Fit {
            slope_per_hour: slope * 3600.0,
            relative_change: slope * span / level,
            confidence,
            points: points.len(),
        })
    }

    /// Whether the predicted change is within the stability band.
    pub(crate) fn is_stable(&self) -> bool {
        self.relative_change.abs() < STABLE_BAND
    }
}

/// Trends of the metrics that have enough points, in [`Metric::ALL`] order. Uptime has
/// none: it rises by construction, so its slope says nothing.
#[must_use]
pub fn trends(snapshots: &[MetricsSnapshot]) -> Vec<Trend> {
    Metric::ALL
        .into_iter()
        .filter(|metric| *metric != Metric::Uptime)
        .filter_map(|metric| trend(metric, snapshots))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfkit_core::Timestamp;

    fn series(metric: Metric, values: &[f64]) -> Vec<MetricsSnapshot> {
        values
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let mut s = MetricsSnapshot::empty(Timestamp::from_unix_millis(
                    1_700_000_000_000 + i as i64 * 30_000,
                ));
                s.set(metric, Some(*value));
                s
            })
            .collect()
    }

    #[test]
    fn a_straight_line_has_its_exact_slope_and_full_confidence() {
        // +10 ms every 30 s = +1200 ms per hour.
        let values: Vec<f64> = (0..20).map(|i| 100.0 + 10.0 * f64::from(i)).collect();
        let trend = trend(Metric::P95, &series(Metric::P95, &values)).unwrap();
        assert!((trend.slope_per_hour - 1200.0).abs() < 1e-6, "{}", trend.slope_per_hour);
        assert!((trend.confidence - 1.0).abs() < 1e-9);
        assert_eq!(trend.direction, Direction::Degrading, "rising latency is bad");
        assert_eq!(trend.points, 20);
    }

    #[test]
    fn direction_follows_whether_higher_is_better() {
        let rising: Vec<f64> = (0..10).map(|i| 0.5 + 0.04 * f64::from(i)).collect();
        let hit_rate = trend(Metric::CacheHitRate, &series(Metric::CacheHitRate, &rising)).unwrap();
        assert_eq!(hit_rate.direction, Direction::Improving);
        let falling: Vec<f64> = rising.iter().rev().copied().collect();
        let memory = trend(Metric::MemoryUsage, &series(Metric::MemoryUsage, &falling)).unwrap();
        assert_eq!(memory.direction, Direction::Improving);
    }

    #[test]
    fn noise_around_a_level_is_stable_with_low_confidence() {
        let values: Vec<f64> = (0..40).map(|i| if i % 2 == 0 { 101.0 } else { 99.0 }).collect();
        let trend = trend(Metric::P95, &series(Metric::P95, &values)).unwrap();
        assert_eq!(trend.direction, Direction::Stable);
        assert!(trend.confidence < 0.1, "{}", trend.confidence);
    }

    #[test]
    fn too_few_points_or_missing_values_make_no_trend() {
        assert!(trend(Metric::P95, &series(Metric::P95, &[1.0, 2.0])).is_none());
        let mut snapshots = series(Metric::P95, &[1.0, 2.0, 3.0]);
        snapshots[1].p95 = None;
        assert!(trend(Metric::P95, &snapshots).is_none());
        assert!(trends(&snapshots).is_empty());
    }

    #[test]
    fn a_flat_series_is_stable_with_zero_slope() {
        let trend = trend(Metric::CpuUsage, &series(Metric::CpuUsage, &[0.4; 5])).unwrap();
        assert_eq!(trend.direction, Direction::Stable);
        assert_eq!(trend.slope_per_hour, 0.0);
    }
}
