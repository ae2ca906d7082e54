//! The worker pool's settings, their bounds, and its figures.

use serde::{Deserialize, Serialize};

use crate::HostError;

/// The pool's size and bounds.
///
/// Both the queue and the number of workers are bounded: a job beyond the queue's capacity
/// waits for room ([`submit`](crate::WorkerPool::submit)) or is refused
/// ([`try_submit`](crate::WorkerPool::try_submit)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkerPoolConfig {
    /// Jobs that may wait in the queue, 1 to [`MAX_QUEUE_CAPACITY`](Self::MAX_QUEUE_CAPACITY)
    /// (default 1024).
    pub queue_capacity: usize,
    /// Workers at start, 1 to `max_workers` (default 2).
    pub workers: u32,
    /// Never more workers than this, whatever `scale_to` asks, 1 to
    /// [`MAX_WORKERS`](Self::MAX_WORKERS) (default 64).
    pub max_workers: u32,
}

impl WorkerPoolConfig {
    /// The largest queue a pool accepts. Every waiting job is a boxed future held in memory;
    /// past a million of them, back-pressure on the producer is the answer, not more room.
    pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

    /// The most workers a pool accepts: each is a tokio task, and the optimizer's own
    /// ceiling for `queueScaling.maxWorkers` is far below this.
    pub const MAX_WORKERS: u32 = 4096;

    /// Checks every setting; lists every problem at once.
    ///
    /// ```
    /// use perfkit_host::{HostError, WorkerPoolConfig};
    ///
    /// assert!(WorkerPoolConfig::default().validate().is_ok());
    /// let config = WorkerPoolConfig { queue_capacity: 0, workers: 9, max_workers: 4 };
    /// let Err(HostError::InvalidPoolConfig(problems)) = config.validate() else { panic!() };
    /// assert_eq!(problems.len(), 2);
    /// ```
    ///
    /// # Errors
    /// [`HostError::InvalidPoolConfig`] naming each setting out of range.
    pub fn validate(&self) -> Result<(), HostError> {
        let mut problems = Vec::new();
        if !(1..=Self::MAX_QUEUE_CAPACITY).contains(&self.queue_capacity) {
            problems.push(format!(
                "queueCapacity must be 1 to {}, got {}",
                Self::MAX_QUEUE_CAPACITY,
                self.queue_capacity
            ));
        }
        if !(1..=Self::MAX_WORKERS).contains(&self.max_workers) {
            problems.push(format!(
                "maxWorkers must be 1 to {}, got {}",
                Self::MAX_WORKERS,
                self.max_workers
            ));
        }
        if self.workers == 0 || self.workers > self.max_workers {
            problems.push(format!(
                "workers must be 1 to maxWorkers ({}), got {}",
                self.max_workers, self.workers
            ));
        }
        if problems.is_empty() { Ok(()) } else { Err(HostError::InvalidPoolConfig(problems)) }
    }
}

impl Default for WorkerPoolConfig {
    fn default() -> Self {
        WorkerPoolConfig { queue_capacity: 1024, workers: 2, max_workers: 64 }
    }
}

/// The pool's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerPoolStats {
    /// Workers taking jobs.
    pub workers: u32,
    /// Jobs waiting.
    pub queued: usize,
    /// The queue's capacity.
    pub capacity: usize,
    /// Jobs run to the end (panicked ones included).
    pub completed: u64,
    /// Jobs that panicked; the worker carried on.
    pub panicked: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bounded() {
        let config = WorkerPoolConfig::default();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.queue_capacity, 1024);
    }

    #[test]
    fn refuses_an_empty_or_unbounded_queue_and_zero_workers() {
        for (config, field) in [
            (WorkerPoolConfig { queue_capacity: 0, ..Default::default() }, "queueCapacity"),
            (
                WorkerPoolConfig { queue_capacity: usize::MAX, ..Default::default() },
                "queueCapacity",
            ),
            (WorkerPoolConfig { max_workers: 0, workers: 0, ..Default::default() }, "maxWorkers"),
            (WorkerPoolConfig { max_workers: 5000, ..Default::default() }, "maxWorkers"),
            (WorkerPoolConfig { workers: 0, ..Default::default() }, "workers"),
            (WorkerPoolConfig { workers: 65, ..Default::default() }, "workers"),
        ] {
            let Err(HostError::InvalidPoolConfig(problems)) = config.validate() else {
                panic!("{config:?} was accepted");
            };
            assert!(problems.iter().any(|p| p.starts_with(field)), "{field}: {problems:?}");
        }
    }

    #[test]
    fn reads_camel_case_json_with_defaults_for_what_is_missing() {
        let config: WorkerPoolConfig = serde_json::from_str(r#"{"queueCapacity": 8}"#).unwrap();
        assert_eq!(config, WorkerPoolConfig { queue_capacity: 8, ..Default::default() });
    }
}
