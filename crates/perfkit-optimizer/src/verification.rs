//! Judging an action at the next check: did its goal metric move the right way?

use perfkit_core::{Metric, MetricsSnapshot, Timestamp};

use crate::{ActionKind, OptimizerConfig, Recommendation, Verdict};

/// An action awaiting its verdict.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pending {
    pub(crate) action: ActionKind,
    pub(crate) taken_at: Timestamp,
    pub(crate) goal: Metric,
    pub(crate) before: f64,
    /// For scaling: the worker counts before and after.
    pub(crate) workers: Option<(u32, u32)>,
}

impl Pending {
    /// What to verify after `rec` was performed; `None` for actions without a measurable goal.
    pub(crate) fn after(
        rec: &Recommendation,
        snapshot: &MetricsSnapshot,
        workers_after: Option<u32>,
        now: Timestamp,
    ) -> Option<Pending> {
        let goal = match rec.action {
            // Rotation does not shorten the replica's lag; the reads it moves are the gain.
            ActionKind::ReportSlowQueries | ActionKind::RotateOutLaggingReplicas => return None,
            // The cache's goal is the figure that triggered it: memory when memory did.
            ActionKind::OptimizeCache if rec.figures.get("memoryUsage").is_some() => {
                Metric::MemoryUsage
            }
            ActionKind::OptimizeCache => Metric::CacheHitRate,
            ActionKind::CloseIdleConnections => Metric::ActiveConnections,
            ActionKind::ReleaseMemory => Metric::MemoryUsage,
            ActionKind::ScaleWorkers => Metric::QueueLength,
            // Called only when the pool was resized (a report changed nothing to verify).
            ActionKind::ResizeDatabasePool => Metric::DbPoolAcquireP95,
        };
        let before = snapshot.get(goal)?;
        let workers = rec.scale.zip(workers_after).map(|(scale, after)| (scale.current, after));
        Some(Pending { action: rec.action, taken_at: now, goal, before, workers })
    }

    /// The verdict on the new snapshot, and the goal figure read from it.
    pub(crate) fn judge(
        &self,
        snapshot: &MetricsSnapshot,
        config: &OptimizerConfig,
    ) -> (Verdict, Option<f64>) {
        let Some(after) = snapshot.get(self.goal) else { return (Verdict::Inconclusive, None) };
        let margin = config.guardrails.worsening_margin;
        let worse = match self.workers {
            Some((from, to)) if to > from => {
                // More workers and a longer queue beyond the margin (and a worker's worth of
                // jobs, so an empty queue gaining two jobs is not a failure): contention.
                after > self.before * (1.0 + margin) + config.queue_scaling.target_per_worker
            }
            Some((_, to)) => {
                // Fewer workers and the queue outgrew them: the scale-down starved the queue.
                let per_worker = after / f64::from(to.max(1));
                let tolerance = config.queue_scaling.tolerance;
                per_worker > config.queue_scaling.target_per_worker * (1.0 + tolerance)
                    && after > self.before * (1.0 + margin)
            }
            None if self.goal.higher_is_better() => after < self.before * (1.0 - margin),
            None => after > self.before * (1.0 + margin),
        };
        (if worse { Verdict::Worse } else { Verdict::Held }, Some(after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(goal: Metric, before: f64, workers: Option<(u32, u32)>) -> Pending {
        Pending {
            action: ActionKind::ScaleWorkers,
            taken_at: Timestamp::UNIX_EPOCH,
            goal,
            before,
            workers,
        }
    }

    #[test]
    fn judges_each_goal_the_right_way_round() {
        let config = OptimizerConfig::default(); // margin 0.2, target 10 per worker
        // (pending, goal value now, verdict)
        let table = [
            (pending(Metric::CacheHitRate, 0.5, None), Some(0.6), Verdict::Held),
            (pending(Metric::CacheHitRate, 0.5, None), Some(0.45), Verdict::Held),
            (pending(Metric::CacheHitRate, 0.5, None), Some(0.3), Verdict::Worse),
            (pending(Metric::MemoryUsage, 0.85, None), Some(0.8), Verdict::Held),
            (pending(Metric::MemoryUsage, 0.5, None), Some(0.9), Verdict::Worse),
            (pending(Metric::MemoryUsage, 0.85, None), None, Verdict::Inconclusive),
            // scale-up 4 -> 8 at queue 80: worse only when the queue grew well beyond
            (pending(Metric::QueueLength, 80.0, Some((4, 8))), Some(100.0), Verdict::Held),
            (pending(Metric::QueueLength, 80.0, Some((4, 8))), Some(120.0), Verdict::Worse),
            (pending(Metric::QueueLength, 0.0, Some((1, 2))), Some(5.0), Verdict::Held),
            // scale-down 8 -> 4 at queue 10: worse when 4 workers no longer keep up
            (pending(Metric::QueueLength, 10.0, Some((8, 4))), Some(40.0), Verdict::Held),
            (pending(Metric::QueueLength, 10.0, Some((8, 4))), Some(60.0), Verdict::Worse),
        ];
        for (pending, now, verdict) in table {
            let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
            snapshot.set(pending.goal, now);
            assert_eq!(pending.judge(&snapshot, &config).0, verdict, "{pending:?} -> {now:?}");
        }
    }
}
