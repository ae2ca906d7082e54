//! The trait every receiver implements. The engine never calls it: delivery workers do, from
//! bounded outboxes, so a slow or dead receiver never delays evaluation.

use std::fmt;

use async_trait::async_trait;

use crate::error::AlertingError;
use crate::notification::Notification;

/// Delivers notifications somewhere: a log, a webhook, an Alertmanager.
///
/// The engine never calls a notifier itself: it queues notifications in a bounded outbox per
/// notifier, and a [`DeliveryWorker`](crate::DeliveryWorker) task calls `notify`, so a slow or
/// dead receiver never delays evaluation. Implementations bound their own time (timeouts,
/// limited retries) and return an error when they give up.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync + fmt::Debug {
    /// A short name; the receiver name in notifications and logs.
    fn name(&self) -> &str;

    /// Delivers one notification.
    ///
    /// # Errors
    /// [`AlertingError::Delivery`] when it could not be delivered after the notifier's retries.
    async fn notify(&self, notification: &Notification) -> Result<(), AlertingError>;
}
