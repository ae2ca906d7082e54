//! The webhook notifier: posts Alertmanager's v4 webhook body byte for byte as Alertmanager would
//! write it, so existing receivers take perfkit's notifications unchanged.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::AlertingError;
use crate::go_json::{go_time, to_go_json};
use crate::http_delivery::{HttpDelivery, HttpDeliverySettings};
use crate::labels::Labels;
use crate::notification::{Notification, NotifiedAlert};
use crate::notifier::Notifier;

/// Alertmanager's webhook payload, version 4. Fields are in the order Alertmanager writes
/// them (its `template.Data` first, then `version`, `groupKey`, `truncatedAlerts`), so the
/// body is byte for byte what Alertmanager would send for the same group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    /// The receiver's name.
    pub receiver: String,
    /// `firing` or `resolved`.
    pub status: String,
    /// The alerts.
    pub alerts: Vec<WebhookAlert>,
    /// The labels the group is keyed on.
    pub group_labels: Labels,
    /// Labels all alerts share.
    pub common_labels: Labels,
    /// Annotations all alerts share.
    pub common_annotations: Labels,
    /// Link back to the sender.
    #[serde(rename = "externalURL")]
    pub external_url: String,
    /// Always `"4"`.
    pub version: String,
    /// Identifies the group.
    pub group_key: String,
    /// Alerts left out for `max_alerts` (perfkit never truncates: always 0).
    pub truncated_alerts: u64,
}

/// One alert of a [`WebhookPayload`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Identity labels.
    pub labels: Labels,
    /// Annotations.
    pub annotations: Labels,
    /// RFC 3339 as Go writes it.
    pub starts_at: String,
    /// RFC 3339; `0001-01-01T00:00:00Z` while firing.
    pub ends_at: String,
    /// Link to the alert's source.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// Alertmanager's fingerprint of the labels.
    pub fingerprint: String,
}

impl WebhookPayload {
    /// The payload Alertmanager would send for `notification`.
    ///
    /// ```
    /// use perfkit_alerting::{Labels, Notification, WebhookPayload};
    ///
    /// let notification: Notification = serde_json::from_str(r#"{
    ///   "receiver": "ops", "groupKey": "{}:{}", "status": "resolved", "groupLabels": {},
    ///   "commonLabels": {}, "commonAnnotations": {}, "alerts": [],
    ///   "sentAt": "2024-01-01T00:00:00.000Z"
    /// }"#).unwrap();
    /// let body = WebhookPayload::from_notification(&notification, "http://perfkit").to_body().unwrap();
    /// assert!(body.starts_with(b"{\"receiver\":\"ops\",\"status\":\"resolved\",\"alerts\":[]"));
    /// assert!(body.ends_with(b"\"version\":\"4\",\"groupKey\":\"{}:{}\",\"truncatedAlerts\":0}\n"));
    /// ```
    #[must_use]
    pub fn from_notification(notification: &Notification, external_url: &str) -> Self {
        WebhookPayload {
            receiver: notification.receiver.clone(),
            status: notification.status.as_str().to_owned(),
            alerts: notification.alerts.iter().map(WebhookAlert::from_notified).collect(),
            group_labels: notification.group_labels.clone(),
            common_labels: notification.common_labels.clone(),
            common_annotations: notification.common_annotations.clone(),
            external_url: external_url.to_owned(),
            version: "4".to_owned(),
            group_key: notification.group_key.clone(),
            truncated_alerts: 0,
        }
    }

    /// The body as Alertmanager writes it (Go's JSON encoder: HTML-escaped, newline-ended).
    ///
    /// # Errors
    /// [`AlertingError::Serialize`] never in practice (every field is a string or a map).
    pub fn to_body(&self) -> Result<Vec<u8>, AlertingError> {
        to_go_json(self)
            .map_err(|e| AlertingError::Serialize { format: "json", reason: e.to_string() })
    }
}

impl WebhookAlert {
    fn from_notified(alert: &NotifiedAlert) -> Self {
        WebhookAlert {
            status: alert.status.as_str().to_owned(),
            labels: alert.labels.clone(),
            annotations: alert.annotations.clone(),
            starts_at: go_time(Some(alert.starts_at)),
            ends_at: go_time(alert.ends_at),
            generator_url: alert.generator_url.clone(),
            fingerprint: alert.fingerprint.clone(),
        }
    }
}

/// Posts each notification as an Alertmanager v4 webhook body, with a timeout per attempt
/// and a bounded number of retries (on connection errors and 5xx answers).
///
/// ```
/// use perfkit_alerting::{HttpDeliverySettings, Notifier, WebhookNotifier};
///
/// let notifier = WebhookNotifier::new("ops", "http://127.0.0.1:9/hook", "http://perfkit:8080",
///     HttpDeliverySettings::default()).unwrap();
/// assert_eq!(notifier.name(), "ops");
/// ```
#[derive(Debug)]
pub struct WebhookNotifier {
    name: String,
    url: String,
    external_url: String,
    http: HttpDelivery,
}

impl WebhookNotifier {
    /// A notifier named `name` posting to `url`; `external_url` goes into `externalURL`.
    ///
    /// # Errors
    /// [`AlertingError::NotifierSetup`] when the HTTP client cannot be built.
    pub fn new(
        name: &str,
        url: &str,
        external_url: &str,
        settings: HttpDeliverySettings,
    ) -> Result<Self, AlertingError> {
        Ok(WebhookNotifier {
            name: name.to_owned(),
            url: url.to_owned(),
            external_url: external_url.to_owned(),
            http: HttpDelivery::new(name, settings)?,
        })
    }
}

impl WebhookNotifier {
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
impl Notifier for WebhookNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    async fn notify(&self, notification: &Notification) -> Result<(), AlertingError> {
        let body = WebhookPayload::from_notification(notification, &self.external_url).to_body()?;
        self.http.post_json(&self.url, body).await
    }
}
