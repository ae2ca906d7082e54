//! The guide's targets, each judged on a snapshot: which are met, with the value and the
//! line it was held to. The dashboard's target table and its words read this, never their
//! own arithmetic.

use perfkit_core::{Metric, MetricsSnapshot};
use serde::Serialize;

use super::ScoreTargets;

/// Which side of its line a figure must stay on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TargetSide {
    /// Met when the value is below the target.
    Below,
    /// Met when the value is above the target.
    Above,
}

/// One of the guide's targets, judged on one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TargetCheck {
    /// The figure.
    pub metric: Metric,
    /// Its value in the snapshot; `None` when it was not measured.
    pub value: Option<f64>,
    /// The line (the score's target for this figure).
    pub target: f64,
    /// Which side of the line is good.
    pub side: TargetSide,
    /// Whether the value is on the good side; `None` when it was not measured.
    pub met: Option<bool>,
}

/// The guide's six targets (P95 < 500 ms, error rate < 1 %, hit rate > 80 %, memory < 70 %,
/// CPU < 60 %, availability > 99.9 %, or as `targets` sets them), judged on `snapshot`.
///
/// ```
/// use perfkit::analysis::{ScoreTargets, targets_met};
/// use perfkit::core::{Metric, MetricsSnapshot, Timestamp};
///
/// let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
/// snapshot.p95 = Some(620.0);
/// snapshot.availability = Some(1.0);
/// let checks = targets_met(&snapshot, &ScoreTargets::default());
/// let p95 = checks.iter().find(|c| c.metric == Metric::P95).unwrap();
/// assert_eq!((p95.value, p95.target, p95.met), (Some(620.0), 500.0, Some(false)));
/// let cpu = checks.iter().find(|c| c.metric == Metric::CpuUsage).unwrap();
/// assert_eq!(cpu.met, None, "not measured is neither met nor missed");
/// ```
#[must_use]
pub fn targets_met(snapshot: &MetricsSnapshot, targets: &ScoreTargets) -> Vec<TargetCheck> {
    [
        (Metric::P95, targets.p95_ms, TargetSide::Below),
        (Metric::ErrorRate, targets.error_rate, TargetSide::Below),
        (Metric::CacheHitRate, targets.cache_hit_rate, TargetSide::Above),
        (Metric::MemoryUsage, targets.memory_usage, TargetSide::Below),
        (Metric::CpuUsage, targets.cpu_usage, TargetSide::Below),
        (Metric::Availability, targets.availability, TargetSide::Above),
    ]
    .into_iter()
    .map(|(metric, target, side)| {
        let value = snapshot.get(metric);
        let met = value.map(|value| match side {
            TargetSide::Below => value < target,
            TargetSide::Above => value > target,
        });
        TargetCheck { metric, value, target, side, met }
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfkit_core::Timestamp;

    #[test]
    fn each_target_is_judged_on_its_own_side_of_the_line() {
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        snapshot.p95 = Some(499.0);
        snapshot.error_rate = Some(0.01);
        snapshot.cache_hit_rate = Some(0.45);
        snapshot.memory_usage = Some(0.2);
        snapshot.availability = Some(0.9995);
        let checks = targets_met(&snapshot, &ScoreTargets::default());
        let met: Vec<(Metric, Option<bool>)> = checks.iter().map(|c| (c.metric, c.met)).collect();
        assert_eq!(
            met,
            vec![
                (Metric::P95, Some(true)),
                (Metric::ErrorRate, Some(false)),
                (Metric::CacheHitRate, Some(false)),
                (Metric::MemoryUsage, Some(true)),
                (Metric::CpuUsage, None),
                (Metric::Availability, Some(true)),
            ]
        );
    }
}
