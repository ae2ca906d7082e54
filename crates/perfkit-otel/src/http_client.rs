//! The exporter's HTTP client: reqwest 0.12 (already in the tree) behind the OTLP exporter's
//! `HttpClient` trait, with its timeouts and a cap on the answer read back.

use std::time::Duration;

use async_trait::async_trait;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

/// Most bytes of a collector's answer read (an OTLP answer is a few bytes; a hostile or
/// broken one could be anything).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// reqwest, timing out each request as a whole and each connect alone.
#[derive(Debug, Clone)]
pub(crate) struct ExportClient {
    client: reqwest::Client,
}

impl ExportClient {
    pub(crate) fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(1)))
            .pool_max_idle_per_host(2)
            .build()?;
        Ok(ExportClient { client })
    }
}

#[async_trait]
impl HttpClient for ExportClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let mut answer = self.client.execute(request).await?;
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(
                    format!("the collector's answer is over {MAX_ANSWER_BYTES} bytes").into()
                );
            }
            body.extend_from_slice(&chunk);
        }
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = answer.status();
        *response.headers_mut() = std::mem::take(answer.headers_mut());
        Ok(response)
    }
}
