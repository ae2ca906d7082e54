//! The tokio runtime's own figures, read from the runtime that asks, when it asks: the one
//! source of the exposition's `tokio_*` families and of `/metrics/system`'s `runtime`
//! section. Only what tokio exposes without `tokio_unstable`.

use serde::Serialize;

/// What the tokio runtime says about itself now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RuntimeFigures {
    /// Worker threads (1 on a current-thread runtime).
    pub workers: usize,
    /// Tasks spawned and not yet finished. A count that only grows is a task leak.
    pub alive_tasks: usize,
    /// Tasks waiting in the runtime's global (injection) queue: work that arrived from
    /// outside the workers faster than they take it.
    pub global_queue_depth: usize,
    /// Seconds the workers have spent busy since the runtime started, added over every
    /// worker; its rate over a window, divided by `workers`, is the busy ratio. `None`
    /// where the target has no 64-bit atomics (tokio does not count it there).
    pub worker_busy_seconds_total: Option<f64>,
}

impl RuntimeFigures {
    /// The figures of the runtime this is called on; `None` outside one.
    ///
    /// ```
    /// use perfkit::RuntimeFigures;
    ///
    /// // Outside a runtime there is nothing to read.
    /// assert!(RuntimeFigures::read().is_none());
    ///
    /// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let figures = runtime.block_on(async { RuntimeFigures::read() }).unwrap();
    /// assert_eq!(figures.workers, 1);
    /// ```
    #[must_use]
    pub fn read() -> Option<RuntimeFigures> {
        let handle = tokio::runtime::Handle::try_current().ok()?;
        let metrics = handle.metrics();
        let workers = metrics.num_workers();
        Some(RuntimeFigures {
            workers,
            alive_tasks: metrics.num_alive_tasks(),
            global_queue_depth: metrics.global_queue_depth(),
            worker_busy_seconds_total: busy_seconds(&metrics, workers),
        })
    }
}

#[cfg(target_has_atomic = "64")]
fn busy_seconds(metrics: &tokio::runtime::RuntimeMetrics, workers: usize) -> Option<f64> {
    // Indices below `num_workers()` are exactly the ones tokio accepts.
    Some((0..workers).map(|worker| metrics.worker_total_busy_duration(worker).as_secs_f64()).sum())
}

#[cfg(not(target_has_atomic = "64"))]
fn busy_seconds(_: &tokio::runtime::RuntimeMetrics, _: usize) -> Option<f64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 3)]
    async fn every_worker_is_counted_and_busy_time_only_grows() {
        let first = RuntimeFigures::read().unwrap();
        assert_eq!(first.workers, 3);
        // A task that keeps its worker busy for a moment, without sleeping on a timer.
        let spin = tokio::spawn(async {
            let mut sum = 0_u64;
            for i in 0..2_000_000_u64 {
                sum = sum.wrapping_add(std::hint::black_box(i));
            }
            sum
        });
        spin.await.unwrap();
        let second = RuntimeFigures::read().unwrap();
        let (before, after) =
            (first.worker_busy_seconds_total.unwrap(), second.worker_busy_seconds_total.unwrap());
        assert!(after >= before, "{before} -> {after}");
    }

    #[test]
    fn the_json_names_are_camel_case() {
        let figures = RuntimeFigures {
            workers: 2,
            alive_tasks: 5,
            global_queue_depth: 0,
            worker_busy_seconds_total: Some(1.5),
        };
        let json = serde_json::to_value(figures).unwrap();
        assert_eq!(json["aliveTasks"], 5);
        assert_eq!(json["globalQueueDepth"], 0);
        assert_eq!(json["workerBusySecondsTotal"], 1.5);
    }
}
