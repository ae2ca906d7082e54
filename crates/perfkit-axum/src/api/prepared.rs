//! `/summary` and `/dashboard` served from prepared bytes.
//!
//! Each answer is built (score, alerts, the optimizer's rules, serialization) once and kept
//! as JSON bytes behind an `ArcSwap`, with the key it was built for: the service's
//! [`generation`](perfkit::PerformanceService::generation) (a collection, an alert
//! transition, an optimizer run, a report, a reset) and the count of admin requests served
//! here (every write through the API: rules, alert clear, optimizer config and runs, cache
//! clear). A request loads the prepared answer without a lock, and serves it when its key
//! is current and it is younger than one collect interval; otherwise it rebuilds it. So an
//! answer is never behind a change the service or the API made before the request, and
//! figures read "now" (the cache's counters, the system probe, health's ages, a change a
//! host made to a part directly) are at most one collect interval old.
//!
//! Rebuilds are single-flight: one request rebuilds while the others that found the
//! answer out of date wait for it (a tokio mutex, taken only on that path), then serve
//! the new bytes.
//!
//! A rebuild also prepares the gzip form of a large answer, so a browser's request is
//! served compressed without compressing per request: these routes are served outside the
//! layer stack (see `routes::unlayered`) and set its headers themselves.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
use perfkit::PerformanceService;
use serde::Serialize;
use tokio::time::Instant;

use crate::api::dashboard_config::DashboardConfig;
use crate::api::respond::stack_headers;
use crate::api::views::{Dashboard, Summary};
use crate::error::ApiError;

/// Responses smaller than this are sent as they are: gzip would save little. The router's
/// compression layer uses the same threshold, so a prepared answer and a computed one of
/// the same size are treated alike.
pub(crate) const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// The prepared answers and what says they are out of date.
pub(crate) struct PreparedAnswers {
    summary: Slot,
    dashboard: Slot,
    /// Admin requests served (every `Admin` extractor counts one when it drops): each may have changed a part.
    writes: AtomicU64,
    /// The oldest an answer may be: the service's collect interval.
    max_age: Duration,
}

/// One prepared answer.
#[derive(Default)]
struct Slot {
    current: ArcSwapOption<Prepared>,
    rebuild: tokio::sync::Mutex<()>,
}

struct Prepared {
    key: Key,
    built_at: Instant,
    body: Bytes,
    /// `body` gzipped, when it is large enough for that to pay.
    gzip: Option<Bytes>,
}

/// What an answer was built from: the service's generation and the admin writes served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    generation: u64,
    writes: u64,
}

impl PreparedAnswers {
    pub(crate) fn new(max_age: Duration) -> Self {
        PreparedAnswers {
            summary: Slot::default(),
            dashboard: Slot::default(),
            writes: AtomicU64::new(0),
            max_age,
        }
    }

    /// Marks every prepared answer out of date: an admin request has been served.
    pub(crate) fn written(&self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
    }

    /// The `/summary` answer, gzipped when `gzip` (the client accepts it) and it pays.
    pub(crate) async fn summary(&self, service: &PerformanceService, gzip: bool) -> Response {
        self.serve(&self.summary, service, gzip, || Summary::of(service)).await
    }

    /// The `/dashboard` answer, gzipped when `gzip` (the client accepts it) and it pays.
    /// `config` is the router's, fixed when it was built, so it needs no part in the key.
    pub(crate) async fn dashboard(
        &self,
        service: &PerformanceService,
        config: &DashboardConfig,
        gzip: bool,
    ) -> Response {
        self.serve(&self.dashboard, service, gzip, || Dashboard::of(service, config)).await
    }

    fn key(&self, service: &PerformanceService) -> Key {
        Key { generation: service.generation(), writes: self.writes.load(Ordering::Acquire) }
    }

    /// The prepared bytes when current, else a fresh build (single-flight).
    async fn serve<T, F>(
        &self,
        slot: &Slot,
        service: &PerformanceService,
        gzip: bool,
        build: impl FnOnce() -> F,
    ) -> Response
    where
        T: Serialize,
        F: Future<Output = T>,
    {
        if let Some(response) = self.current(slot, service, gzip) {
            return response;
        }
        let _rebuilding = slot.rebuild.lock().await;
        // Another request may have rebuilt it while this one waited.
        if let Some(response) = self.current(slot, service, gzip) {
            return response;
        }
        // The key is read before the build: a change during the build leaves the stored
        // answer out of date, so the next request rebuilds again.
        let key = self.key(service);
        let built_at = Instant::now();
        match serde_json::to_vec(&build().await) {
            Ok(body) => {
                let prepared = Prepared { key, built_at, gzip: gzipped(&body), body: body.into() };
                let response = prepared.response(gzip);
                slot.current.store(Some(Arc::new(prepared)));
                response
            }
            Err(error) => (
                stack_headers(),
                ApiError::Internal(format!("the answer could not be serialized: {error}")),
            )
                .into_response(),
        }
    }

    /// The prepared answer, when it was built for the current key and is young enough.
    /// Lock-free: an `ArcSwap` load, two atomic loads and a clock read.
    fn current(&self, slot: &Slot, service: &PerformanceService, gzip: bool) -> Option<Response> {
        let prepared = slot.current.load();
        let prepared = prepared.as_ref()?;
        (prepared.key == self.key(service) && prepared.built_at.elapsed() < self.max_age)
            .then(|| prepared.response(gzip))
    }
}

impl Prepared {
    /// The answer with the layer stack's headers; gzipped when asked and prepared.
    fn response(&self, gzip: bool) -> Response {
        let json = [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::VARY, HeaderValue::from_static("accept-encoding")),
        ];
        match (&self.gzip, gzip) {
            (Some(compressed), true) => {
                let encoding = [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))];
                (stack_headers(), json, encoding, compressed.clone()).into_response()
            }
            _ => (stack_headers(), json, self.body.clone()).into_response(),
        }
    }
}

/// `body` gzipped, when it is large enough and gzip makes it smaller.
fn gzipped(body: &[u8]) -> Option<Bytes> {
    if body.len() <= usize::from(COMPRESS_ABOVE_BYTES) {
        return None;
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
    let compressed = encoder.write_all(body).and_then(|()| encoder.finish());
    match compressed {
        Ok(compressed) if compressed.len() < body.len() => Some(compressed.into()),
        Ok(_) => None,
        Err(error) => {
            // Writing to a Vec does not fail; were it to, the answer goes uncompressed.
            tracing::warn!(%error, "a prepared answer could not be gzipped");
            None
        }
    }
}

/// Whether the request accepts a gzipped answer: an extractor that reads the one header
/// in place (taking `HeaderMap` would copy every request header for each request).
pub(crate) struct AcceptsGzip(pub(crate) bool);

impl<S: Sync> FromRequestParts<S> for AcceptsGzip {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(AcceptsGzip(accepts_gzip(&parts.headers)))
    }
}

/// Whether the request's `Accept-Encoding` accepts gzip: `gzip` or `*` listed without
/// `q=0` (RFC 9110, section 12.5.3).
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|parameter| {
                parameter
                    .strip_prefix("q=")
                    .or_else(|| parameter.strip_prefix("Q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(values: &[&str]) -> bool {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        }
        accepts_gzip(&headers)
    }

    #[test]
    fn gzip_is_accepted_as_rfc_9110_says() {
        assert!(accept(&["gzip"]));
        assert!(accept(&["gzip, deflate, br"]));
        assert!(accept(&["br;q=1.0, GZIP;q=0.5"]));
        assert!(accept(&["*"]));
        assert!(accept(&["identity", "gzip"]), "every header line counts");
        assert!(!accept(&[]));
        assert!(!accept(&["br, deflate"]));
        assert!(!accept(&["gzip;q=0"]));
        assert!(!accept(&["gzip; q=0.000"]));
        assert!(!accept(&["x-gzip-ish"]));
    }

    #[test]
    fn only_large_answers_that_shrink_are_gzipped() {
        assert!(gzipped(b"{}").is_none());
        let large = serde_json::to_vec(&vec!["repeated text"; 500]).unwrap();
        let compressed = gzipped(&large).unwrap();
        assert!(compressed.len() < large.len() / 4);
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&compressed[..]),
            &mut decoded,
        )
        .unwrap();
        assert_eq!(decoded, large);
        // xorshift64: bytes with no pattern gzip could use.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        assert!(gzipped(&noise).is_none(), "incompressible bytes stay as they are");
    }
}
