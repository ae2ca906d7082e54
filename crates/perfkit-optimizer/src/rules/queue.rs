//! The queue rule: workers follow the queue length as a Kubernetes HPA follows its metric, with a
//! tolerance, a stabilization window for scaling down, and a clamp on each step.

use perfkit_core::{Metric, MetricsSnapshot, Severity, Timestamp};

use crate::config::QueueScalingConfig;
use crate::{ActionKind, CheckHistory, Figures, OptimizerConfig, Recommendation, WorkerScale};

/// Most workers a scale-up may add in one run, when doubling would add fewer.
const MIN_UP_STEP: u32 = 4;

/// The queue rule: a recommendation when the worker count should change, and the desired
/// count for the check history (`None` without data).
pub(super) fn recommend(
    snapshot: &MetricsSnapshot,
    history: &CheckHistory,
    config: &OptimizerConfig,
    now: Timestamp,
) -> (Option<Recommendation>, Option<u32>) {
    let cfg = &config.queue_scaling;
    let (Some(queue), Some(current)) =
        (snapshot.get(Metric::QueueLength), history.observed.workers)
    else {
        return (None, None);
    };
    let queue = queue.max(0.0);
    let desired = desired_workers(queue, current, cfg);
    if desired == current {
        return (None, Some(desired));
    }
    let up = desired > current;
    let wants_same_way = |d: u32| if up { d > current } else { d < current };
    let held_before =
        history.checks().take_while(|c| c.desired_workers.is_some_and(wants_same_way)).count();
    let held_for_checks = 1 + u32::try_from(held_before).unwrap_or(u32::MAX);

    let wanted = if up {
        desired
    } else {
        // Kubernetes' scale-down stabilization: the highest count asked for over the window.
        // A check without data, or a window not yet full, counts as "keep what we have".
        let window = config.guardrails.stabilization_checks.saturating_sub(1) as usize;
        let past: Vec<u32> =
            history.checks().take(window).map(|c| c.desired_workers.unwrap_or(current)).collect();
        let short = if past.len() < window { current } else { 0 };
        past.into_iter().chain([desired, short]).max().unwrap_or(current)
    };
    let target = clamp_step(current, wanted, cfg.min_workers, cfg.max_workers);

    #[allow(clippy::cast_precision_loss)]
    let per_worker = if current == 0 { queue } else { queue / f64::from(current) };
    let ratio = per_worker / cfg.target_per_worker;
    let priority = match (up, ratio >= 2.0) {
        (true, true) => Severity::High,
        (true, false) => Severity::Medium,
        (false, _) => Severity::Low,
    };
    let reason = format!(
        "queue of {queue:.0} jobs is {per_worker:.1} per worker over {current} workers, {} the \
         target of {} per worker by more than the {:.0}% tolerance",
        if up { "above" } else { "below" },
        cfg.target_per_worker,
        cfg.tolerance * 100.0
    );
    let rec = Recommendation {
        action: ActionKind::ScaleWorkers,
        reason,
        figures: Figures::new()
            .with("queueLength", queue)
            .with("workers", f64::from(current))
            .with("queuePerWorker", per_worker)
            .with("targetPerWorker", cfg.target_per_worker),
        expected_effect: format!(
            "scale workers from {current} to {target} (asked for {desired}) to bring the queue \
             near {} per worker",
            cfg.target_per_worker
        ),
        priority,
        at: now,
        held_for_checks,
        stable: target != current,
        scale: Some(WorkerScale { current, desired, target }),
        details: Vec::new(),
    };
    (Some(rec), Some(desired))
}

/// A forced scaling: straight to the HPA count, without tolerance or window, inside the bounds.
pub(super) fn forced(
    snapshot: &MetricsSnapshot,
    history: &CheckHistory,
    config: &OptimizerConfig,
    now: Timestamp,
) -> Option<Recommendation> {
    let cfg = &config.queue_scaling;
    if !cfg.enabled {
        return None;
    }
    let queue = snapshot.get(Metric::QueueLength)?.max(0.0);
    let current = history.observed.workers?;
    let desired = hpa_count(queue, cfg).clamp(cfg.min_workers, cfg.max_workers);
    let target = clamp_step(current, desired, cfg.min_workers, cfg.max_workers);
    if target == current {
        return None;
    }
    Some(Recommendation {
        action: ActionKind::ScaleWorkers,
        reason: format!("forced run: queue of {queue:.0} jobs asks for {desired} workers"),
        figures: Figures::new().with("queueLength", queue).with("workers", f64::from(current)),
        expected_effect: format!("scale workers from {current} to {target}"),
        priority: Severity::Low,
        at: now,
        held_for_checks: 0,
        stable: true,
        scale: Some(WorkerScale { current, desired, target }),
        details: Vec::new(),
    })
}

/// `ceil(current * (queue per worker) / target)`, as the HPA computes it, left at `current`
/// within the tolerance, and kept inside min/max.
pub(crate) fn desired_workers(queue: f64, current: u32, cfg: &QueueScalingConfig) -> u32 {
    let desired = if current == 0 {
        hpa_count(queue, cfg)
    } else {
        let ratio = queue / (f64::from(current) * cfg.target_per_worker);
        if (ratio - 1.0).abs() <= cfg.tolerance { current } else { hpa_count(queue, cfg) }
    };
    desired.clamp(cfg.min_workers, cfg.max_workers)
}

/// `current * ratio` simplifies to `queue / target`: computed that way to avoid rounding up
/// a product like 4 * 1.2500000001.
fn hpa_count(queue: f64, cfg: &QueueScalingConfig) -> u32 {
    let count = (queue / cfg.target_per_worker).ceil();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped just above
    let count = count.clamp(0.0, f64::from(u32::MAX)) as u32;
    count
}

/// One run changes workers by at most max(100 %, 4) up and 50 % down, always inside min/max.
pub(crate) fn clamp_step(current: u32, wanted: u32, min: u32, max: u32) -> u32 {
    let up_limit = current.saturating_add(current.max(MIN_UP_STEP));
    let down_limit = current - current / 2;
    wanted.clamp(down_limit, up_limit).clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Observed, PastCheck};

    fn config(min: u32, max: u32) -> OptimizerConfig {
        let mut config = OptimizerConfig::default();
        config.queue_scaling.min_workers = min;
        config.queue_scaling.max_workers = max;
        config.queue_scaling.target_per_worker = 10.0;
        config
    }

    fn history(workers: u32, past_desired: &[Option<u32>]) -> CheckHistory {
        let mut history = CheckHistory::new();
        for (i, desired) in past_desired.iter().rev().enumerate() {
            history.push(PastCheck {
                at: Timestamp::from_unix_millis(i as i64),
                triggered: Vec::new(),
                desired_workers: *desired,
            });
        }
        history.observed = Observed { workers: Some(workers), ..Observed::default() };
        history
    }

    #[test]
    fn desired_follows_the_hpa_formula_with_tolerance() {
        // (queue, current, min, max, desired)
        let table = [
            (40.0, 4, 1, 16, 4), // exactly on target
            (43.0, 4, 1, 16, 4), // ratio 1.075: inside the tolerance
            (45.0, 4, 1, 16, 5), // ratio 1.125: ceil(4 * 1.125) = 5
            (35.0, 4, 1, 16, 4), // ratio 0.875 is outside the tolerance, but ceil(3.5) = 4
            (30.0, 4, 1, 16, 3), // ratio 0.75
            (0.0, 4, 1, 16, 1),  // empty queue: down to min
            (0.0, 4, 2, 16, 2),
            (1000.0, 4, 1, 16, 16), // capped at max
            (25.0, 0, 0, 16, 3),    // from zero workers
        ];
        for (queue, current, min, max, expected) in table {
            let cfg = config(min, max).queue_scaling;
            assert_eq!(
                desired_workers(queue, current, &cfg),
                expected,
                "queue {queue} at {current}"
            );
        }
    }

    #[test]
    fn step_is_clamped_to_double_or_four_up_and_half_down_inside_bounds() {
        // (current, wanted, min, max, result)
        let table = [
            (1, 100, 1, 100, 5),   // +4 beats +100 %
            (10, 100, 1, 100, 20), // +100 %
            (10, 1, 1, 100, 5),    // -50 %
            (3, 1, 1, 100, 2),     // ceil(3 / 2)
            (10, 30, 1, 12, 12),   // max wins
            (10, 1, 8, 100, 8),    // min wins
            (20, 20, 1, 16, 16),   // outside the bounds: back inside them
        ];
        for (current, wanted, min, max, expected) in table {
            assert_eq!(clamp_step(current, wanted, min, max), expected, "{current} -> {wanted}");
        }
    }

    #[test]
    fn scale_up_acts_at_once_and_is_step_clamped() {
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        snapshot.queue_length = Some(400.0);
        let (rec, desired) =
            recommend(&snapshot, &history(2, &[]), &config(1, 32), Timestamp::UNIX_EPOCH);
        let rec = rec.unwrap();
        assert_eq!(desired, Some(32));
        assert_eq!(rec.scale, Some(WorkerScale { current: 2, desired: 32, target: 6 }));
        assert!(rec.stable);
        assert_eq!(rec.priority, Severity::High);
    }

    #[test]
    fn scale_down_waits_for_the_window_and_takes_its_highest_count() {
        let config = config(1, 32); // stabilization_checks = 3
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        snapshot.queue_length = Some(10.0); // asks for 1 of 8 workers
        let now = Timestamp::UNIX_EPOCH;
        // (past desired counts, newest last; expected target; stable)
        let table: [(&[Option<u32>], u32, bool); 5] = [
            (&[], 8, false),                // first check: the window is not full
            (&[Some(3)], 8, false),         // still short of three checks
            (&[Some(2), Some(6)], 6, true), // highest of 2, 6, 1
            (&[Some(6), None], 8, false),   // a check without data keeps 8
            (&[Some(2), Some(1)], 4, true), // highest is 2, but at most -50 % a run
        ];
        for (past, target, stable) in table {
            let (rec, _) = recommend(&snapshot, &history(8, past), &config, now);
            let rec = rec.unwrap();
            assert_eq!(rec.scale.unwrap().target, target, "{past:?}");
            assert_eq!(rec.stable, stable, "{past:?}");
            assert_eq!(rec.scale.unwrap().desired, 1);
        }
    }

    #[test]
    fn missing_queue_or_worker_count_means_no_action() {
        let config = config(1, 32);
        let now = Timestamp::UNIX_EPOCH;
        let snapshot = MetricsSnapshot::empty(now);
        assert_eq!(recommend(&snapshot, &history(4, &[]), &config, now), (None, None));
        let mut snapshot = MetricsSnapshot::empty(now);
        snapshot.queue_length = Some(500.0);
        assert_eq!(recommend(&snapshot, &CheckHistory::new(), &config, now), (None, None));
    }
}
