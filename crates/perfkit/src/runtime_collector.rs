//! The tokio runtime that serves the scrape, in the exposition: workers, tasks alive, the
//! global queue and the workers' busy time, read at scrape time through [`RuntimeFigures`].
//! A leak of tasks (a spawned loop per connection that never ends, say) shows here long
//! before it shows in memory; the soak test watches it. The busy time is a counter, so
//! Prometheus's `rate()` gives the busy ratio without this side keeping any state.

use perfkit_metrics::{FamilyBuilder, family_desc};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use crate::PerfkitError;
use crate::runtime_figures::RuntimeFigures;

const ALIVE_TASKS: (&str, &str) =
    ("tokio_alive_tasks", "Tasks alive in the tokio runtime serving this scrape.");
const WORKERS: (&str, &str) = ("tokio_workers", "Worker threads of that runtime.");
const GLOBAL_QUEUE: (&str, &str) = (
    "tokio_global_queue_depth",
    "Tasks waiting in that runtime's global queue, not yet taken by a worker.",
);
const BUSY: (&str, &str) = (
    "tokio_worker_busy_seconds_total",
    "Seconds that runtime's workers spent busy, added over every worker; rate() divided by tokio_workers is the busy ratio.",
);

pub(crate) struct RuntimeCollector {
    descs: Vec<Desc>,
}

impl RuntimeCollector {
    pub(crate) fn new() -> Result<Self, PerfkitError> {
        let descs = [ALIVE_TASKS, WORKERS, GLOBAL_QUEUE, BUSY]
            .iter()
            .map(|(name, help)| family_desc(name, help, &[]))
            .collect::<Result<_, _>>()
            .map_err(|e| PerfkitError::Setup {
                part: "prometheus exposition",
                message: e.to_string(),
            })?;
        Ok(RuntimeCollector { descs })
    }
}

impl Collector for RuntimeCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    #[allow(clippy::cast_precision_loss)] // counts far below 2^53
    fn collect(&self) -> Vec<MetricFamily> {
        // Outside a runtime (a scrape from a plain thread) there is nothing to report.
        let Some(figures) = RuntimeFigures::read() else { return Vec::new() };
        let mut families = Vec::with_capacity(4);
        for ((name, help), value) in [
            (ALIVE_TASKS, figures.alive_tasks),
            (WORKERS, figures.workers),
            (GLOBAL_QUEUE, figures.global_queue_depth),
        ] {
            let mut family = FamilyBuilder::gauge(name, help);
            family.value(&[], value as f64);
            families.push(family.finish());
        }
        if let Some(busy) = figures.worker_busy_seconds_total {
            let mut family = FamilyBuilder::counter(BUSY.0, BUSY.1);
            family.value(&[], busy);
            families.push(family.finish());
        }
        families
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_figures_are_read_from_the_running_runtime() {
        let collector = RuntimeCollector::new().unwrap();
        let (release, held) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = held.await;
        });
        let families = collector.collect();
        let family = |name: &str| families.iter().find(|f| f.name() == name).unwrap();
        let gauge = |name: &str| family(name).get_metric()[0].get_gauge().value();
        assert!(gauge("tokio_alive_tasks") >= 1.0);
        assert_eq!(gauge("tokio_workers"), 2.0);
        assert!(gauge("tokio_global_queue_depth") >= 0.0);
        let busy = family("tokio_worker_busy_seconds_total");
        assert_eq!(busy.get_field_type(), prometheus::proto::MetricType::COUNTER);
        assert!(busy.get_metric()[0].get_counter().value() >= 0.0);
        release.send(()).unwrap();
        task.await.unwrap();
    }

    #[test]
    fn outside_a_runtime_nothing_is_reported() {
        assert!(RuntimeCollector::new().unwrap().collect().is_empty());
    }
}
