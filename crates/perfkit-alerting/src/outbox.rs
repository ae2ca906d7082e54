//! The bounded queue between the engine and one notifier, and the worker that drains it. Pushing
//! never blocks: when the queue is full, the oldest notification is dropped and counted.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use perfkit_core::{Clock, SystemClock, Timestamp};
use serde::Serialize;
use tokio::sync::Notify;

use crate::notification::Notification;
use crate::notifier::Notifier;

/// A bounded queue of notifications for one notifier. Pushing never blocks and never fails:
/// when full, the oldest notification is dropped and counted.
#[derive(Debug)]
pub(crate) struct Outbox {
    queue: Mutex<VecDeque<Notification>>,
    capacity: usize,
    wake: Notify,
    closed: AtomicBool,
    dropped: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    last: Mutex<Option<LastDelivery>>,
}

/// Longest error text kept for [`LastDelivery::error`]: a receiver's answer is not ours to
/// hold in full.
const MAX_ERROR_LEN: usize = 512;

/// How the latest delivery attempt of one notifier ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LastDelivery {
    /// When the attempt ended (its retries included).
    pub at: Timestamp,
    /// Whether the notification was delivered.
    pub ok: bool,
    /// Why not, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Counters of one notifier's outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryStats {
    /// The notifier's name.
    pub notifier: String,
    /// Notifications waiting.
    pub queued: usize,
    /// Notifications dropped because the outbox was full.
    pub dropped: u64,
    /// Notifications delivered.
    pub delivered: u64,
    /// Notifications the notifier gave up on.
    pub failed: u64,
    /// The latest delivery, `None` before the first.
    pub last_delivery: Option<LastDelivery>,
}

impl Outbox {
    pub(crate) fn new(capacity: usize) -> Self {
        Outbox {
            queue: Mutex::new(VecDeque::with_capacity(capacity.min(64))),
            capacity: capacity.max(1),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Notification>> {
        // A panic while holding this lock cannot leave the queue inconsistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn push(&self, notification: Notification) {
        {
            let mut queue = self.queue();
            if queue.len() >= self.capacity {
                queue.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            queue.push_back(notification);
        }
        self.wake.notify_one();
    }

    fn pop(&self) -> Option<Notification> {
        self.queue().pop_front()
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub(crate) fn stats(&self, notifier: &str) -> DeliveryStats {
        DeliveryStats {
            notifier: notifier.to_owned(),
            queued: self.queue().len(),
            dropped: self.dropped.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            last_delivery: self.last.lock().unwrap_or_else(PoisonError::into_inner).clone(),
        }
    }

    fn record_attempt(&self, at: Timestamp, error: Option<String>) {
        let counter = if error.is_none() { &self.delivered } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        let error = error.map(|mut text| {
            if text.len() > MAX_ERROR_LEN {
                let mut end = MAX_ERROR_LEN;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.truncate(end);
            }
            text
        });
        let last = LastDelivery { at, ok: error.is_none(), error };
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(last);
    }
}

/// Drains one notifier's outbox: spawn [`DeliveryWorker::run`] on a tokio runtime. It ends
/// when the engine that made it is dropped.
#[derive(Debug)]
#[must_use = "a delivery worker does nothing until it is spawned"]
pub struct DeliveryWorker {
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl DeliveryWorker {
    pub(crate) fn new(outbox: Arc<Outbox>, notifier: Arc<dyn Notifier>) -> Self {
        DeliveryWorker { outbox, notifier, clock: Arc::new(SystemClock) }
    }

    /// Stamps each delivery's [`LastDelivery::at`] with `clock` (default: the system clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Delivers queued notifications one at a time, in order, until the engine is dropped.
    pub async fn run(self) {
        loop {
            if let Some(notification) = self.outbox.pop() {
                let sent = self.notifier.notify(&notification).await;
                let error = sent.err().map(|error| {
                    tracing::warn!(notifier = self.notifier.name(), %error, "alert notification not delivered");
                    error.to_string()
                });
                self.outbox.record_attempt(self.clock.now(), error);
                continue;
            }
            if self.outbox.closed.load(Ordering::Acquire) {
                return;
            }
            self.outbox.wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use perfkit_core::Timestamp;

    use super::*;
    use crate::error::AlertingError;
    use crate::labels::Labels;
    use crate::notifier::MockNotifier;

    fn notification(key: &str) -> Notification {
        Notification::new("r", key, &Labels::new(), Vec::new(), Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn full_outbox_drops_oldest_and_counts() {
        let outbox = Outbox::new(2);
        for key in ["a", "b", "c"] {
            outbox.push(notification(key));
        }
        assert_eq!(outbox.stats("r").dropped, 1);
        assert_eq!(outbox.pop().unwrap().group_key, "b");
    }

    #[tokio::test]
    async fn worker_delivers_in_order_counts_failures_and_stops_when_closed() {
        let mut notifier = MockNotifier::new();
        let mut sequence = mockall::Sequence::new();
        notifier.expect_name().return_const("mock".to_owned());
        notifier
            .expect_notify()
            .withf(|n| n.group_key == "a")
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(()));
        notifier
            .expect_notify()
            .withf(|n| n.group_key == "b")
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| {
                Err(AlertingError::Delivery { notifier: "mock".into(), reason: "down".into() })
            });
        let outbox = Arc::new(Outbox::new(8));
        outbox.push(notification("a"));
        outbox.push(notification("b"));
        outbox.close();
        let clock = Arc::new(perfkit_core::ManualClock::new(Timestamp::from_unix_millis(5_000)));
        DeliveryWorker::new(Arc::clone(&outbox), Arc::new(notifier)).with_clock(clock).run().await;
        let stats = outbox.stats("mock");
        assert_eq!((stats.delivered, stats.failed, stats.queued), (1, 1, 0));
        let last = stats.last_delivery.unwrap();
        assert_eq!((last.at, last.ok), (Timestamp::from_unix_millis(5_000), false));
        assert!(last.error.unwrap().contains("down"));
    }
}
