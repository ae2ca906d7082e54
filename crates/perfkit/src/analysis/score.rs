//! The performance score: each headline metric scored on a smooth curve, then weighted.
//!
//! # Formula
//!
//! Each metric is turned into a "badness" `x` where lower is better: P95 latency in ms, error
//! rate, cache *miss* rate (1 - hit rate), memory usage, CPU usage. Its score is the
//! complement of a log-normal CDF, as Lighthouse scores page metrics:
//!
//! ```text
//! score(x) = 1 - Φ((ln x - ln median) / σ),   σ = (ln median - ln good) / Φ⁻¹(0.9)
//! ```
//!
//! so a metric exactly at its target (`good`) scores 0.9, one at `median` scores 0.5, and the
//! score falls smoothly on either side: no cliff at the threshold. The guide's targets give the
//! `good` points; `median` is where users clearly suffer:
//!
//! | metric | good (0.9) | median (0.5) | weight |
//! |---|---|---|---|
//! | P95 latency | 500 ms | 1500 ms | 30 |
//! | error rate | 1 % | 5 % | 25 |
//! | cache miss rate | 20 % (hit rate 80 %) | 40 % | 15 |
//! | memory usage | 70 % | 85 % | 15 |
//! | CPU usage | 60 % | 80 % | 15 |
//! | unavailability (1 - availability) | 0.1 % (availability 99.9 %) | 1 % | 10 |
//!
//! The overall score is `100 × Σ wᵢ·scoreᵢ / Σ wᵢ` over the metrics that were measured (a
//! missing metric neither helps nor hurts), rounded to one decimal, and the status follows
//! from it: excellent ≥ 90,
//! good ≥ 75, fair ≥ 50, poor ≥ 25, critical below.

use perfkit_core::{Metric, MetricsSnapshot};
use serde::{Deserialize, Serialize};

/// The guide's targets: the value of each metric that scores 0.9.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ScoreTargets {
    /// P95 latency target, ms.
    pub p95_ms: f64,
    /// Error rate target, 0..1.
    pub error_rate: f64,
    /// Cache hit rate target, 0..1 (higher is better).
    pub cache_hit_rate: f64,
    /// Memory usage target, 0..1.
    pub memory_usage: f64,
    /// CPU usage target, 0..1.
    pub cpu_usage: f64,
    /// Availability target, 0..1 (higher is better): the guide's uptime > 99.9 %.
    pub availability: f64,
}

perfkit_core::maps_only!(ScoreTargets);

impl Default for ScoreTargets {
    fn default() -> Self {
        ScoreTargets {
            p95_ms: 500.0,
            error_rate: 0.01,
            cache_hit_rate: 0.80,
            memory_usage: 0.70,
            cpu_usage: 0.60,
            availability: 0.999,
        }
    }
}

/// The overall state, from the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Score ≥ 90.
    Excellent,
    /// Score ≥ 75.
    Good,
    /// Score ≥ 50.
    Fair,
    /// Score ≥ 25.
    Poor,
    /// Score < 25.
    Critical,
    /// Nothing was measured yet.
    Unknown,
}

impl Status {
    /// The status of an overall score 0..=100.
    #[must_use]
    pub fn of(score: f64) -> Status {
        match score {
            s if s >= 90.0 => Status::Excellent,
            s if s >= 75.0 => Status::Good,
            s if s >= 50.0 => Status::Fair,
            s if s >= 25.0 => Status::Poor,
            _ => Status::Critical,
        }
    }
}

/// One metric's part of the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MetricScore {
    /// The metric.
    pub metric: Metric,
    /// Its value in the snapshot.
    pub value: f64,
    /// Its score, 0..1.
    pub score: f64,
    /// Its weight in the overall score.
    pub weight: f64,
}

/// The performance score of one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PerformanceScore {
    /// 0..=100, `None` when nothing was measured.
    pub score: Option<f64>,
    /// From the score.
    pub status: Status,
    /// Each measured metric's part.
    pub breakdown: Vec<MetricScore>,
}

/// Φ⁻¹(0.9): the standard normal quantile that puts the target at a score of 0.9.
const Z_90: f64 = 1.281_551_565_544_600_5;

/// `1 - Φ((ln x - ln median) / σ)` with σ set so `good` scores 0.9.
fn log_normal_score(x: f64, good: f64, median: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let sigma = (median.ln() - good.ln()) / Z_90;
    let standardized = (x.ln() - median.ln()) / sigma;
    (0.5 * erfc(standardized / std::f64::consts::SQRT_2)).clamp(0.0, 1.0)
}

/// Complementary error function (Abramowitz and Stegun 7.1.26, absolute error < 1.5e-7:
/// far below what a score shows).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let tail = poly * (-z * z).exp();
    if x >= 0.0 { tail } else { 2.0 - tail }
}

/// How one metric is scored: (metric, its "badness" from its value, the badness that scores
/// 0.9, the badness that scores 0.5, weight).
type ScoredMetric = (Metric, fn(f64) -> f64, f64, f64, f64);

/// Scores `snapshot` against `targets` (see the module docs for the formula).
#[must_use]
pub fn score(snapshot: &MetricsSnapshot, targets: &ScoreTargets) -> PerformanceScore {
    let miss_target = 1.0 - targets.cache_hit_rate;
    let down_target = (1.0 - targets.availability).max(1e-6);
    let parts: [ScoredMetric; 6] = [
        (Metric::P95, |v| v, targets.p95_ms, targets.p95_ms * 3.0, 30.0),
        (Metric::ErrorRate, |v| v, targets.error_rate, targets.error_rate * 5.0, 25.0),
        (Metric::CacheHitRate, |v| 1.0 - v, miss_target, (miss_target * 2.0).min(0.99), 15.0),
        (
            Metric::MemoryUsage,
            |v| v,
            targets.memory_usage,
            median_between(targets.memory_usage),
            15.0,
        ),
        (Metric::CpuUsage, |v| v, targets.cpu_usage, median_between(targets.cpu_usage), 15.0),
        (Metric::Availability, |v| 1.0 - v, down_target, (down_target * 10.0).min(0.99), 10.0),
    ];
    let breakdown: Vec<MetricScore> = parts
        .iter()
        .filter_map(|(metric, badness, good, median, weight)| {
            let value = snapshot.get(*metric)?;
            Some(MetricScore {
                metric: *metric,
                value,
                score: log_normal_score(badness(value), *good, *median),
                weight: *weight,
            })
        })
        .collect();
    let total_weight: f64 = breakdown.iter().map(|part| part.weight).sum();
    if total_weight <= 0.0 {
        return PerformanceScore { score: None, status: Status::Unknown, breakdown };
    }
    let weighted =
        breakdown.iter().map(|part| part.weight * part.score).sum::<f64>() / total_weight;
    // One decimal: finer digits are noise, and a metric exactly on target must not fall
    // below a status boundary by a rounding error.
    let overall = (weighted * 1000.0).round() / 10.0;
    PerformanceScore { score: Some(overall), status: Status::of(overall), breakdown }
}

/// For a usage ratio target, the level where users clearly suffer: halfway from the target
/// to full (70 % -> 85 %, 60 % -> 80 %).
fn median_between(good: f64) -> f64 {
    (good + (1.0 - good) / 2.0).min(0.999)
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfkit_core::Timestamp;

    fn snapshot(p95: f64, errors: f64, hit: f64, memory: f64, cpu: f64) -> MetricsSnapshot {
        let mut s = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        s.p95 = Some(p95);
        s.error_rate = Some(errors);
        s.cache_hit_rate = Some(hit);
        s.memory_usage = Some(memory);
        s.cpu_usage = Some(cpu);
        s
    }

    #[test]
    fn the_curve_passes_its_control_points() {
        assert!((log_normal_score(500.0, 500.0, 1500.0) - 0.9).abs() < 1e-6);
        assert!((log_normal_score(1500.0, 500.0, 1500.0) - 0.5).abs() < 1e-6);
        assert!(log_normal_score(100.0, 500.0, 1500.0) > 0.99);
        assert!(log_normal_score(20_000.0, 500.0, 1500.0) < 0.01);
        assert_eq!(log_normal_score(0.0, 500.0, 1500.0), 1.0);
    }

    #[test]
    fn erfc_matches_known_values() {
        for (x, expected) in
            [(0.0, 1.0), (0.5, 0.479_500_122), (1.0, 0.157_299_207), (-1.0, 1.842_700_793)]
        {
            assert!((erfc(x) - expected).abs() < 2e-7, "erfc({x})");
        }
    }

    #[test]
    fn everything_exactly_on_target_scores_90() {
        let targets = ScoreTargets::default();
        let result = score(&snapshot(500.0, 0.01, 0.8, 0.7, 0.6), &targets);
        assert!((result.score.unwrap() - 90.0).abs() < 1e-3, "{:?}", result.score);
        assert_eq!(result.status, Status::Excellent);
    }

    #[test]
    fn a_healthy_service_is_excellent_and_a_failing_one_critical() {
        let targets = ScoreTargets::default();
        let healthy = score(&snapshot(80.0, 0.0005, 0.95, 0.4, 0.2), &targets);
        assert!(healthy.score.unwrap() > 95.0);
        let failing = score(&snapshot(5_000.0, 0.3, 0.2, 0.98, 0.99), &targets);
        assert!(failing.score.unwrap() < 25.0, "{:?}", failing.score);
        assert_eq!(failing.status, Status::Critical);
    }

    #[test]
    fn missing_metrics_are_left_out_of_the_weights() {
        let mut only_latency = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        only_latency.p95 = Some(1500.0);
        let result = score(&only_latency, &ScoreTargets::default());
        assert!((result.score.unwrap() - 50.0).abs() < 1e-3);
        assert_eq!(result.status, Status::Fair);
        assert_eq!(result.breakdown.len(), 1);

        let nothing =
            score(&MetricsSnapshot::empty(Timestamp::UNIX_EPOCH), &ScoreTargets::default());
        assert_eq!((nothing.score, nothing.status), (None, Status::Unknown));
    }

    #[test]
    fn the_score_falls_monotonically_with_latency() {
        let targets = ScoreTargets::default();
        let mut previous = f64::INFINITY;
        for p95 in [50.0, 200.0, 500.0, 800.0, 1500.0, 3000.0] {
            let mut s = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
            s.p95 = Some(p95);
            let now = score(&s, &targets).score.unwrap();
            assert!(now < previous, "{p95}: {now} !< {previous}");
            previous = now;
        }
    }
}
