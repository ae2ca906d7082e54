//! The tokio runtime that serves the scrape, in the exposition: tasks alive and worker
//! threads, read at scrape time. A leak of tasks (a spawned loop per connection that never
//! ends, say) shows here long before it shows in memory; the soak test watches it.

use perfkit_metrics::{FamilyBuilder, family_desc};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use crate::PerfkitError;

const ALIVE_TASKS: (&str, &str) =
    ("tokio_alive_tasks", "Tasks alive in the tokio runtime serving this scrape.");
const WORKERS: (&str, &str) = ("tokio_workers", "Worker threads of that runtime.");

pub(crate) struct RuntimeCollector {
    descs: Vec<Desc>,
}

impl RuntimeCollector {
    pub(crate) fn new() -> Result<Self, PerfkitError> {
        let descs = [ALIVE_TASKS, WORKERS]
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
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return Vec::new() };
        let metrics = handle.metrics();
        let mut families = Vec::with_capacity(2);
        for ((name, help), value) in
            [(ALIVE_TASKS, metrics.num_alive_tasks()), (WORKERS, metrics.num_workers())]
        {
            let mut family = FamilyBuilder::gauge(name, help);
            family.value(&[], value as f64);
            families.push(family.finish());
        }
        families
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tasks_and_workers_are_read_from_the_running_runtime() {
        let collector = RuntimeCollector::new().unwrap();
        let (release, held) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = held.await;
        });
        let families = collector.collect();
        let value = |name: &str| {
            let family = families.iter().find(|f| f.name() == name).unwrap();
            family.get_metric()[0].get_gauge().value()
        };
        assert!(value("tokio_alive_tasks") >= 1.0);
        assert_eq!(value("tokio_workers"), 2.0);
        release.send(()).unwrap();
        task.await.unwrap();
    }

    #[test]
    fn outside_a_runtime_nothing_is_reported() {
        assert!(RuntimeCollector::new().unwrap().collect().is_empty());
    }
}
