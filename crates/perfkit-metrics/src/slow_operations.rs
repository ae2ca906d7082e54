//! The general "log slow operations" aid: a guard (or a wrapped future) times a named
//! operation; one that took longer than its threshold is counted and logged, at most once per
//! log interval per name. Counts are exported in the Prometheus exposition. The line names
//! the trace the operation ran in (`trace_id`) where a sampled one is current, through
//! perfkit-core's [`current_sampled_span`](perfkit_core::current_sampled_span): this crate does not
//! know OpenTelemetry.
//!
//! Operation names are `&'static str`: the set is fixed by the program's code, never by its
//! input, and is capped besides (names past the cap count as `other`).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use perfkit_core::{Clock, Timestamp};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use serde::{Deserialize, Serialize};

use crate::MetricsError;
use crate::exposition::families::{Family, desc};
use crate::slow_log::SlowLog;

/// The name operations beyond [`SlowOperationsConfig::max_operations`] count under.
pub const OTHER_OPERATION: &str = "other";

const TOTAL: (&str, &str) =
    ("perfkit_operations_total", "Operations timed by perfkit's slow-operation helper.");
const SLOW: (&str, &str) = (
    "perfkit_slow_operations_total",
    "Operations that took longer than their slow-operation threshold.",
);

/// Settings of [`SlowOperations`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SlowOperationsConfig {
    /// An operation taking longer than this is slow (default 1 s); a call may set its own.
    #[serde(with = "perfkit_core::duration")]
    pub threshold: Duration,
    /// At most one log line per operation name per this interval (default 10 s); the
    /// lines left out are counted and said in the next one.
    #[serde(with = "perfkit_core::duration")]
    pub log_interval: Duration,
    /// Most operation names tracked (default 256); more count as `other`.
    pub max_operations: usize,
}

perfkit_core::maps_only!(SlowOperationsConfig);

impl Default for SlowOperationsConfig {
    fn default() -> Self {
        SlowOperationsConfig {
            threshold: Duration::from_secs(1),
            log_interval: Duration::from_secs(10),
            max_operations: 256,
        }
    }
}

impl SlowOperationsConfig {
    /// Every problem with the settings.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.threshold.is_zero() {
            problems.push("slowOperations.threshold must be more than 0s".to_owned());
        }
        if !(1..=4096).contains(&self.max_operations) {
            problems.push("slowOperations.maxOperations must be in 1..=4096".to_owned());
        }
        problems
    }
}

#[derive(Debug)]
struct OperationStats {
    count: u64,
    slow: u64,
    log: SlowLog,
}

/// One operation's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationFigures {
    /// The operation's name.
    pub operation: String,
    /// Times it was timed.
    pub count: u64,
    /// Times it was slow.
    pub slow: u64,
}

/// Times named operations, counts and logs the slow ones. Share it with `Arc`.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use perfkit_core::{ManualClock, Timestamp};
/// use perfkit_metrics::{SlowOperations, SlowOperationsConfig};
///
/// let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(0)));
/// let slow = Arc::new(SlowOperations::new(SlowOperationsConfig::default(), clock.clone())?);
/// {
///     let _timed = slow.start("load_user");
///     clock.advance(Duration::from_millis(1500)); // the work
/// } // dropped: 1.5 s is over the 1 s threshold, so it is counted and logged
/// let figures = slow.figures();
/// assert_eq!((figures[0].count, figures[0].slow), (1, 1));
/// # Ok::<(), perfkit_metrics::MetricsError>(())
/// ```
#[derive(Debug)]
pub struct SlowOperations {
    config: SlowOperationsConfig,
    clock: Arc<dyn Clock>,
    operations: Mutex<BTreeMap<&'static str, OperationStats>>,
    descs: Vec<Desc>,
}

impl SlowOperations {
    /// A helper with `config`, timing with `clock`.
    ///
    /// # Errors
    /// [`MetricsError::InvalidSlowOperations`] when a setting is out of range.
    pub fn new(config: SlowOperationsConfig, clock: Arc<dyn Clock>) -> Result<Self, MetricsError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(MetricsError::InvalidSlowOperations(problems.join("; ")));
        }
        let descs = [TOTAL, SLOW]
            .iter()
            .map(|(name, help)| desc(name, help, &["operation"]))
            .collect::<Result<_, _>>()
            .map_err(MetricsError::Exposition)?;
        Ok(SlowOperations { config, clock, operations: Mutex::new(BTreeMap::new()), descs })
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &SlowOperationsConfig {
        &self.config
    }

    fn operations(&self) -> MutexGuard<'_, BTreeMap<&'static str, OperationStats>> {
        // Each critical section leaves the map consistent: poisoning carries no meaning.
        self.operations.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts timing `name` with the configured threshold; the guard ends it when dropped.
    #[must_use = "the operation is timed until the guard is dropped"]
    pub fn start(self: &Arc<Self>, name: &'static str) -> SlowOperationGuard {
        self.start_with_threshold(name, self.config.threshold)
    }

    /// Starts timing `name` with its own threshold.
    #[must_use = "the operation is timed until the guard is dropped"]
    pub fn start_with_threshold(
        self: &Arc<Self>,
        name: &'static str,
        threshold: Duration,
    ) -> SlowOperationGuard {
        SlowOperationGuard { owner: Arc::clone(self), name, threshold, started: self.clock.now() }
    }

    /// Times `operation` to its end under `name`.
    pub async fn time<F: Future>(self: &Arc<Self>, name: &'static str, operation: F) -> F::Output {
        let _timed = self.start(name);
        operation.await
    }

    /// Every operation's counts, by name.
    #[must_use]
    pub fn figures(&self) -> Vec<OperationFigures> {
        self.operations()
            .iter()
            .map(|(name, stats)| OperationFigures {
                operation: (*name).to_owned(),
                count: stats.count,
                slow: stats.slow,
            })
            .collect()
    }

    /// How many operation names are tracked (bounded by `maxOperations` + 1).
    #[must_use]
    pub fn tracked(&self) -> usize {
        self.operations().len()
    }

    fn finish(&self, name: &'static str, threshold: Duration, started: Timestamp) {
        let elapsed = self.clock.now().duration_since(started);
        let slow = elapsed > threshold;
        let permit = {
            let mut operations = self.operations();
            let key =
                if operations.contains_key(name) || operations.len() < self.config.max_operations {
                    name
                } else {
                    OTHER_OPERATION
                };
            let stats = operations.entry(key).or_insert_with(|| OperationStats {
                count: 0,
                slow: 0,
                log: SlowLog::new(self.config.log_interval),
            });
            stats.count += 1;
            if slow {
                stats.slow += 1;
                stats.log.permit(&*self.clock)
            } else {
                None
            }
        };
        if let Some(suppressed) = permit {
            // The trace the operation ran in, where one is current and sampled: a line in
            // the log leads to the spans. Asked only for a line that is written.
            let trace_id =
                perfkit_core::current_sampled_span().map(|span| span.trace_id.to_string());
            tracing::warn!(
                target: "perfkit::slow",
                operation = name,
                elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                threshold_ms = u64::try_from(threshold.as_millis()).unwrap_or(u64::MAX),
                suppressed,
                trace_id = trace_id.as_deref(),
                "slow operation"
            );
        }
    }
}

impl Collector for SlowOperations {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    #[allow(clippy::cast_precision_loss)] // counts, exact to 2^53
    fn collect(&self) -> Vec<MetricFamily> {
        let figures = self.figures();
        let mut total = Family::counter(TOTAL.0, TOTAL.1);
        let mut slow = Family::counter(SLOW.0, SLOW.1);
        for figure in &figures {
            total.value(&[("operation", &figure.operation)], figure.count as f64);
            slow.value(&[("operation", &figure.operation)], figure.slow as f64);
        }
        if figures.is_empty() {
            return Vec::new();
        }
        vec![total.finish(), slow.finish()]
    }
}

/// Times one operation of a [`SlowOperations`] until it is dropped.
#[derive(Debug)]
pub struct SlowOperationGuard {
    owner: Arc<SlowOperations>,
    name: &'static str,
    threshold: Duration,
    started: Timestamp,
}

impl Drop for SlowOperationGuard {
    fn drop(&mut self) {
        self.owner.finish(self.name, self.threshold, self.started);
    }
}

#[cfg(test)]
mod tests {
    use perfkit_core::ManualClock;

    use super::*;

    fn helper(max_operations: usize) -> (Arc<SlowOperations>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_000_000)));
        let config = SlowOperationsConfig { max_operations, ..SlowOperationsConfig::default() };
        (Arc::new(SlowOperations::new(config, clock.clone()).unwrap()), clock)
    }

    #[test]
    fn counts_every_operation_and_the_slow_ones() {
        let (slow, clock) = helper(8);
        for millis in [10, 1001, 999, 5000] {
            let _timed = slow.start("query");
            clock.advance(Duration::from_millis(millis));
        }
        {
            let _timed = slow.start_with_threshold("ping", Duration::from_millis(5));
            clock.advance(Duration::from_millis(6));
        }
        let figures = slow.figures();
        assert_eq!(figures[0], OperationFigures { operation: "ping".into(), count: 1, slow: 1 });
        assert_eq!(figures[1], OperationFigures { operation: "query".into(), count: 4, slow: 2 });
    }

    #[test]
    fn names_past_the_cap_count_as_other() {
        let (slow, _clock) = helper(2);
        for name in ["a", "b", "c", "d", "a"] {
            drop(slow.start(name));
        }
        let names: Vec<_> = slow.figures().into_iter().map(|f| (f.operation, f.count)).collect();
        assert_eq!(names, [("a".into(), 2), ("b".into(), 1), ("other".into(), 2)]);
    }

    #[tokio::test]
    async fn a_wrapped_future_is_timed_and_exported() {
        let (slow, clock) = helper(8);
        let value = slow
            .time("collect", async {
                clock.advance(Duration::from_secs(2));
                7
            })
            .await;
        assert_eq!(value, 7);
        let families = slow.collect();
        let names: Vec<_> = families.iter().map(|f| f.name().to_owned()).collect();
        assert_eq!(names, ["perfkit_operations_total", "perfkit_slow_operations_total"]);
        assert_eq!(families[1].get_metric()[0].get_counter().value(), 1.0);
    }

    #[test]
    fn refuses_a_zero_threshold() {
        let config =
            SlowOperationsConfig { threshold: Duration::ZERO, ..SlowOperationsConfig::default() };
        assert!(SlowOperations::new(config, Arc::new(perfkit_core::SystemClock)).is_err());
    }
}
