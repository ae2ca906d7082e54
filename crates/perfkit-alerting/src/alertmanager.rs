//! Delivery to a real Alertmanager through `POST /api/v2/alerts`, as Prometheus does it: a firing
//! alert carries an `endsAt` a few resend intervals ahead, so it resolves by itself if perfkit
//! stops confirming it.

use std::time::Duration;

use async_trait::async_trait;
use perfkit_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::AlertingError;
use crate::http_delivery::{HttpDelivery, HttpDeliverySettings};
use crate::labels::Labels;
use crate::notification::{AlertStatus, Notification};
use crate::notifier::Notifier;

/// One alert as Alertmanager's `POST /api/v2/alerts` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    /// Identity labels.
    pub labels: Labels,
    /// Annotations.
    pub annotations: Labels,
    /// When it fired.
    pub starts_at: Timestamp,
    /// For a firing alert, how long Alertmanager should keep it without hearing again; for a
    /// resolved one, when it resolved.
    pub ends_at: Timestamp,
    /// Link to the alert's source.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
}

/// Posts alerts to a real Alertmanager, as Prometheus does: every firing alert carries an
/// `endsAt` a few resend intervals ahead, and is re-sent before then, so the alerts resolve
/// by themselves if perfkit goes away. Use it with
/// [`NotificationPolicy::alertmanager_resend`](crate::NotificationPolicy::alertmanager_resend):
/// Alertmanager groups, silences and routes on its side.
///
/// ```
/// use std::time::Duration;
/// use perfkit_alerting::{AlertmanagerNotifier, HttpDeliverySettings, Notifier};
///
/// let notifier = AlertmanagerNotifier::new("alertmanager", "http://127.0.0.1:9093",
///     Duration::from_secs(240), HttpDeliverySettings::default()).unwrap();
/// assert_eq!(notifier.alerts_url(), "http://127.0.0.1:9093/api/v2/alerts");
/// ```
#[derive(Debug)]
pub struct AlertmanagerNotifier {
    name: String,
    alerts_url: String,
    validity: Duration,
    http: HttpDelivery,
}

impl AlertmanagerNotifier {
    /// A notifier posting to the Alertmanager at `base_url`. `validity` is how far ahead a
    /// firing alert's `endsAt` is set (Prometheus: four times the resend interval, 4 min).
    ///
    /// # Errors
    /// [`AlertingError::NotifierSetup`] when the HTTP client cannot be built.
    pub fn new(
        name: &str,
        base_url: &str,
        validity: Duration,
        settings: HttpDeliverySettings,
    ) -> Result<Self, AlertingError> {
        Ok(AlertmanagerNotifier {
            name: name.to_owned(),
            alerts_url: format!("{}/api/v2/alerts", base_url.trim_end_matches('/')),
            validity,
            http: HttpDelivery::new(name, settings)?,
        })
    }

    /// Where alerts are posted.
    #[must_use]
    pub fn alerts_url(&self) -> &str {
        &self.alerts_url
    }

    /// The body posted for `notification`.
    #[must_use]
    pub fn postable_alerts(&self, notification: &Notification) -> Vec<PostableAlert> {
        notification
            .alerts
            .iter()
            .map(|alert| PostableAlert {
                labels: alert.labels.clone(),
                annotations: alert.annotations.clone(),
                starts_at: alert.starts_at,
                ends_at: match (alert.status, alert.ends_at) {
                    (AlertStatus::Resolved, Some(ended)) => ended,
                    _ => notification.sent_at + self.validity,
                },
                generator_url: alert.generator_url.clone(),
            })
            .collect()
    }
}

impl AlertmanagerNotifier {
    /// Sends `Authorization: Bearer <token>` with every notification.
    ///
    /// # Errors
    /// [`AlertingError::NotifierSetup`] when the token cannot be sent in a header.
    pub fn with_bearer_token(mut self, token: &str) -> Result<Self, AlertingError> {
        self.http.set_bearer_token(token)?;
        Ok(self)
    }
}

#[async_trait]
impl Notifier for AlertmanagerNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    async fn notify(&self, notification: &Notification) -> Result<(), AlertingError> {
        let body = serde_json::to_vec(&self.postable_alerts(notification))
            .map_err(|e| AlertingError::Serialize { format: "json", reason: e.to_string() })?;
        self.http.post_json(&self.alerts_url, body).await
    }
}
