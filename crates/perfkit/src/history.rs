//! The ring of recent snapshots.

use std::collections::VecDeque;

use perfkit_core::MetricsSnapshot;

/// The last `capacity` snapshots, oldest first. Pushing onto a full ring drops the oldest,
/// so memory stays flat however long the service runs.
#[derive(Debug, Clone)]
pub struct SnapshotHistory {
    snapshots: VecDeque<MetricsSnapshot>,
    capacity: usize,
}

impl SnapshotHistory {
    /// An empty ring holding at most `capacity` snapshots (at least one).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        SnapshotHistory { snapshots: VecDeque::with_capacity(capacity), capacity }
    }

    /// Adds `snapshot` as the newest, dropping the oldest when full.
    pub fn push(&mut self, snapshot: MetricsSnapshot) {
        if self.snapshots.len() == self.capacity {
            self.snapshots.pop_front();
        }
        self.snapshots.push_back(snapshot);
    }

    /// The newest snapshot.
    #[must_use]
    pub fn latest(&self) -> Option<&MetricsSnapshot> {
        self.snapshots.back()
    }

    /// The newest `limit` snapshots, oldest first.
    #[must_use]
    pub fn last(&self, limit: usize) -> Vec<MetricsSnapshot> {
        let skip = self.snapshots.len().saturating_sub(limit);
        self.snapshots.iter().skip(skip).cloned().collect()
    }

    /// Every snapshot, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &MetricsSnapshot> + ExactSizeIterator {
        self.snapshots.iter()
    }

    /// Number of snapshots held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.snapshots.len()
    }

    /// Whether the ring is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.snapshots.is_empty()
    }

    /// The most it holds.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Drops every snapshot.
    pub fn clear(&mut self) {
        self.snapshots.clear();
    }

    /// Replaces the contents with `snapshots` (oldest first), keeping the newest that fit.
    pub fn restore(&mut self, snapshots: impl IntoIterator<Item = MetricsSnapshot>) {
        self.snapshots.clear();
        for snapshot in snapshots {
            self.push(snapshot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfkit_core::Timestamp;

    fn at(millis: i64) -> MetricsSnapshot {
        MetricsSnapshot::empty(Timestamp::from_unix_millis(millis))
    }

    #[test]
    fn keeps_exactly_the_last_capacity_snapshots() {
        let mut history = SnapshotHistory::new(1000);
        for i in 0..2500 {
            history.push(at(i));
        }
        assert_eq!(history.len(), 1000);
        assert_eq!(history.iter().next().unwrap().timestamp.as_unix_millis(), 1500);
        assert_eq!(history.latest().unwrap().timestamp.as_unix_millis(), 2499);
        let last = history.last(3);
        let times: Vec<i64> = last.iter().map(|s| s.timestamp.as_unix_millis()).collect();
        assert_eq!(times, [2497, 2498, 2499]);
        assert_eq!(history.last(5000).len(), 1000);
    }

    #[test]
    fn restore_keeps_the_newest_that_fit() {
        let mut history = SnapshotHistory::new(2);
        history.restore((0..5).map(at));
        let times: Vec<i64> = history.iter().map(|s| s.timestamp.as_unix_millis()).collect();
        assert_eq!(times, [3, 4]);
        history.clear();
        assert!(history.is_empty());
        assert_eq!(SnapshotHistory::new(0).capacity(), 1);
    }
}
