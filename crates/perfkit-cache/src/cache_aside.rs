//! Cache-aside reads, written once over the [`Cache`] trait so every backend gets the same
//! single-flight and the same fail-open rule.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::single_flight::SingleFlight;
use crate::{Cache, CacheError};

/// The `tracing` target of [`CacheAside`]'s `cache.read` spans.
pub const READ_SPAN_TARGET: &str = "perfkit_cache::read";

/// How a [`CacheAside`] read was answered: a hit ([`Lookup::Hit`]), or a miss, computed by
/// this caller ([`Lookup::Computed`]) or shared from another's computation
/// ([`Lookup::Joined`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// The value was in the cache.
    Hit,
    /// This caller ran the computation (and stored its value, unless the write failed).
    Computed,
    /// Another caller was computing the value; this one waited for it and shares it.
    Joined,
}

impl Lookup {
    /// Whether the value came from the cache.
    #[must_use]
    pub fn is_hit(self) -> bool {
        self == Lookup::Hit
    }

    /// `"hit"`, `"computed"` or `"joined"`, for headers and logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Computed => "computed",
            Lookup::Joined => "joined",
        }
    }
}

/// Cache-aside over any [`Cache`]: read the value; on a miss compute it once, store it, and
/// hand it to every caller that asked meanwhile.
///
/// The single-flight state (the keys being computed now) lives here, not in the backend:
/// callers coalesce when they share one `CacheAside` or its clones (a clone shares the
/// state), whatever the backend.
///
/// **Fail-open rule.**
/// - A failed read (a corrupt value, an unreachable backend) counts as a miss and the value
///   is computed. A key the cache refuses ([`CacheError::ReservedKey`]) is returned as an
///   error at once: no write could succeed either.
/// - An error of the computation is returned; nothing is cached, and a caller that was
///   waiting for it runs its own computation rather than share the error.
/// - The computed value is always returned. A failed write after computing is logged
///   (`tracing`) and counted as an error by the backend, like any failed backend call; it is
///   not returned as an error.
///
/// **Spans.** Each read is a `cache.read` span at INFO (target [`READ_SPAN_TARGET`]) with
/// `cache.backend`, `cache.hit`, `cache.lookup` (hit, computed, joined) and, on the near
/// cache, `cache.front_hit`; a computation on a miss (a database statement, say) runs inside
/// it. Nothing is built when no subscriber wants it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use perfkit_cache::{CacheAside, Lookup, MemoryCache};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let loader = CacheAside::new(Arc::new(MemoryCache::default()));
/// let ttl = Some(Duration::from_secs(60));
/// let (value, lookup) = loader.get_or_compute("answer", ttl, || async { Ok(b"42".to_vec()) }).await?;
/// assert_eq!((&value[..], lookup), (&b"42"[..], Lookup::Computed));
/// let (_, lookup) = loader.get_or_compute("answer", ttl, || async { unreachable!() }).await?;
/// assert_eq!(lookup, Lookup::Hit);
/// # Ok::<_, perfkit_cache::CacheError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct CacheAside {
    cache: Arc<dyn Cache>,
    flights: Arc<SingleFlight>,
}

impl CacheAside {
    /// Cache-aside reads over `cache`, with single-flight state of its own.
    #[must_use]
    pub fn new(cache: Arc<dyn Cache>) -> Self {
        CacheAside { cache, flights: Arc::default() }
    }

    /// The cache underneath.
    #[must_use]
    pub fn cache(&self) -> &Arc<dyn Cache> {
        &self.cache
    }

    /// The value at `key` and how it was found; when missing, runs `compute`, stores its
    /// value for `ttl` and returns it. Concurrent callers of the same missing key share one
    /// computation. See the type's fail-open rule.
    ///
    /// The value is shared bytes: a hit on a cache in process memory (memory, or the near
    /// cache's front) is the stored value itself, read through
    /// [`Cache::get_shared`], and an HTTP handler can send it as the body without a copy.
    ///
    /// # Errors
    /// The error of `compute`, or [`CacheError::ReservedKey`] for a refused key.
    pub async fn get_or_compute<F, Fut>(
        &self,
        key: &str,
        ttl: Option<Duration>,
        compute: F,
    ) -> Result<(Bytes, Lookup), CacheError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, CacheError>>,
    {
        let span = tracing::info_span!(
            target: READ_SPAN_TARGET,
            "cache.read",
            cache.backend = Empty,
            cache.hit = Empty,
            cache.lookup = Empty,
            cache.front_hit = Empty,
        );
        if span.is_disabled() {
            return self.read_or_compute(key, ttl, compute).await;
        }
        span.record("cache.backend", self.cache.backend_name());
        let read = self.read_or_compute(key, ttl, compute).instrument(span.clone()).await;
        if let Ok((_, lookup)) = &read {
            span.record("cache.hit", lookup.is_hit());
            span.record("cache.lookup", lookup.as_str());
        }
        read
    }

    async fn read_or_compute<F, Fut>(
        &self,
        key: &str,
        ttl: Option<Duration>,
        compute: F,
    ) -> Result<(Bytes, Lookup), CacheError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, CacheError>>,
    {
        let read_failed = match self.cache.get_shared(key).await {
            Ok(Some(value)) => return Ok((value, Lookup::Hit)),
            Ok(None) => false,
            Err(error @ CacheError::ReservedKey { .. }) => return Err(error),
            Err(error) => {
                tracing::debug!(%error, key, "cache read failed; computing");
                true
            }
        };
        let mut lookup = Lookup::Joined;
        let led = &mut lookup;
        let value = self
            .flights
            .run(key, || async move {
                // A flight that landed between our read and now has stored the value. EXISTS
                // first: it is not counted as a read, so the usual miss is counted once. After
                // a failed read, a second look would only fail again.
                if !read_failed
                    && self.cache.exists(key).await.unwrap_or(false)
                    && let Ok(Some(value)) = self.cache.get_shared(key).await
                {
                    *led = Lookup::Hit;
                    return Ok(value);
                }
                *led = Lookup::Computed;
                let value = Bytes::from(compute().await?);
                self.store(key, &value, ttl).await;
                Ok(value)
            })
            .await?;
        Ok((value, lookup))
    }

    /// Writes a computed value; a failure is logged, never returned (the value is served).
    async fn store(&self, key: &str, value: &[u8], ttl: Option<Duration>) {
        match self.cache.set(key, value, ttl).await {
            Ok(()) => {}
            // The breaker already knows the backend is down: one warning per outage is its job.
            Err(error @ CacheError::CircuitOpen) => {
                tracing::debug!(%error, key, "computed value not cached");
            }
            Err(error) => tracing::warn!(%error, key, "computed value not cached"),
        }
    }
}
