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

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use perfkit::PerformanceService;
use serde::Serialize;
use tokio::time::Instant;

use crate::error::ApiError;
use crate::views::{Dashboard, Summary};

/// The prepared answers and what says they are out of date.
pub(crate) struct PreparedAnswers {
    summary: Slot,
    dashboard: Slot,
    /// Admin requests served (see [`crate::auth::Admin`]): each may have changed a part.
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

    /// The `/summary` answer.
    pub(crate) async fn summary(&self, service: &PerformanceService) -> Response {
        self.serve(&self.summary, service, || Summary::of(service)).await
    }

    /// The `/dashboard` answer.
    pub(crate) async fn dashboard(&self, service: &PerformanceService) -> Response {
        self.serve(&self.dashboard, service, || Dashboard::of(service)).await
    }

    fn key(&self, service: &PerformanceService) -> Key {
        Key { generation: service.generation(), writes: self.writes.load(Ordering::Acquire) }
    }

    /// The prepared bytes when current, else a fresh build (single-flight).
    async fn serve<T, F>(
        &self,
        slot: &Slot,
        service: &PerformanceService,
        build: impl FnOnce() -> F,
    ) -> Response
    where
        T: Serialize,
        F: Future<Output = T>,
    {
        if let Some(body) = self.current(slot, service) {
            return json(body);
        }
        let _rebuilding = slot.rebuild.lock().await;
        // Another request may have rebuilt it while this one waited.
        if let Some(body) = self.current(slot, service) {
            return json(body);
        }
        // The key is read before the build: a change during the build leaves the stored
        // answer out of date, so the next request rebuilds again.
        let key = self.key(service);
        let built_at = Instant::now();
        match serde_json::to_vec(&build().await) {
            Ok(body) => {
                let body = Bytes::from(body);
                slot.current.store(Some(Arc::new(Prepared { key, built_at, body: body.clone() })));
                json(body)
            }
            Err(error) => {
                ApiError::Internal(format!("the answer could not be serialized: {error}"))
                    .into_response()
            }
        }
    }

    /// The prepared bytes, when they were built for the current key and are young enough.
    /// Lock-free: an `ArcSwap` load, two atomic loads and a clock read.
    fn current(&self, slot: &Slot, service: &PerformanceService) -> Option<Bytes> {
        let prepared = slot.current.load();
        let prepared = prepared.as_ref()?;
        (prepared.key == self.key(service) && prepared.built_at.elapsed() < self.max_age)
            .then(|| prepared.body.clone())
    }
}

fn json(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}
