//! The POST both HTTP notifiers share: a timeout per attempt and bounded retries with backoff, so a
//! dead receiver costs a bounded time per notification. A 4xx answer is not retried.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::error::AlertingError;

/// Time limits of an HTTP notifier: a dead receiver costs at most
/// `max_attempts x timeout + backoffs` per notification, and the outbox bounds how many wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct HttpDeliverySettings {
    /// Limit on one attempt, connection included.
    #[serde(with = "perfkit_core::duration")]
    pub timeout: Duration,
    /// Attempts per notification (at least 1).
    pub max_attempts: u32,
    /// Pause after the first failed attempt; doubled after each further one.
    #[serde(with = "perfkit_core::duration")]
    pub backoff: Duration,
}

perfkit_core::maps_only!(HttpDeliverySettings);

impl Default for HttpDeliverySettings {
    fn default() -> Self {
        HttpDeliverySettings {
            timeout: Duration::from_secs(10),
            max_attempts: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// POSTs JSON bodies with the settings' timeout and bounded retries.
#[derive(Debug)]
pub(crate) struct HttpDelivery {
    notifier: String,
    client: reqwest::Client,
    settings: HttpDeliverySettings,
    /// `Bearer <token>`, marked sensitive so `Debug` never shows it.
    authorization: Option<HeaderValue>,
}

impl HttpDelivery {
    pub(crate) fn new(
        notifier: &str,
        settings: HttpDeliverySettings,
    ) -> Result<Self, AlertingError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // Receivers are addressed explicitly; a proxy from the environment would only
            // add a hop that can fail.
            .no_proxy()
            .user_agent(concat!("perfkit-alerting/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AlertingError::NotifierSetup {
                notifier: notifier.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(HttpDelivery { notifier: notifier.to_owned(), client, settings, authorization: None })
    }

    /// Sends `Authorization: Bearer <token>` with every request.
    pub(crate) fn set_bearer_token(&mut self, token: &str) -> Result<(), AlertingError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            AlertingError::NotifierSetup {
                notifier: self.notifier.clone(),
                reason: "the bearer token holds characters a header cannot carry".to_owned(),
            }
        })?;
        value.set_sensitive(true);
        self.authorization = Some(value);
        Ok(())
    }

    fn failure(&self, reason: String) -> AlertingError {
        AlertingError::Delivery { notifier: self.notifier.clone(), reason }
    }

    /// Posts `body`; retries connection errors, timeouts and 5xx answers, not 4xx ones
    /// (the receiver refused the body, and will again).
    pub(crate) async fn post_json(&self, url: &str, body: Vec<u8>) -> Result<(), AlertingError> {
        let attempts = self.settings.max_attempts.max(1);
        let mut pause = self.settings.backoff;
        let mut last_failure = String::new();
        for attempt in 1..=attempts {
            let mut request =
                self.client.post(url).header(CONTENT_TYPE, "application/json").body(body.clone());
            if let Some(authorization) = &self.authorization {
                request = request.header(AUTHORIZATION, authorization.clone());
            }
            let sent = request.send().await;
            match sent {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) if response.status().is_client_error() => {
                    return Err(self.failure(format!(
                        "{url} refused the notification with {}",
                        response.status()
                    )));
                }
                Ok(response) => last_failure = format!("{url} answered {}", response.status()),
                Err(error) if error.is_timeout() => {
                    last_failure = format!(
                        "{url} did not answer within {}",
                        humantime::format_duration(self.settings.timeout)
                    );
                }
                Err(error) => last_failure = format!("cannot reach {url}: {error}"),
            }
            if attempt < attempts {
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
            }
        }
        Err(self.failure(format!("{last_failure} (after {attempts} attempts)")))
    }
}
