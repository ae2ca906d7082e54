//! The notifier that needs no receiver: each notified alert becomes a `tracing` event, `warn`
//! when firing and `info` when resolved.

use async_trait::async_trait;

use crate::error::AlertingError;
use crate::notification::{AlertStatus, Notification};
use crate::notifier::Notifier;

/// Writes each notified alert as a `tracing` event: `warn` when firing, `info` when resolved.
///
/// ```
/// use perfkit_alerting::{LogNotifier, Notifier};
/// assert_eq!(LogNotifier::default().name(), "log");
/// ```
#[derive(Debug, Clone, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    fn name(&self) -> &str {
        "log"
    }

    async fn notify(&self, notification: &Notification) -> Result<(), AlertingError> {
        for alert in &notification.alerts {
            let name = alert.labels.get("alertname").map_or("", String::as_str);
            let severity = alert.labels.get("severity").map_or("", String::as_str);
            let summary = alert.annotations.get("summary").map_or("", String::as_str);
            match alert.status {
                AlertStatus::Firing => tracing::warn!(
                    alert = name,
                    severity,
                    fingerprint = %alert.fingerprint,
                    starts_at = %alert.starts_at,
                    group = %notification.group_key,
                    "alert firing: {summary}"
                ),
                AlertStatus::Resolved => tracing::info!(
                    alert = name,
                    severity,
                    fingerprint = %alert.fingerprint,
                    group = %notification.group_key,
                    "alert resolved: {summary}"
                ),
            }
        }
        Ok(())
    }
}
