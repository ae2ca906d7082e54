//! One computation per key among concurrent callers, for cache-aside misses. Errors are never
//! shared: when the computing caller fails or is cancelled, the next waiter computes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tokio::sync::OnceCell;

use crate::CacheError;

/// A flight's value is shared bytes: every caller that joins gets it without a copy.
type Flight = Arc<OnceCell<Bytes>>;

/// Shares one computation per key among concurrent callers.
///
/// The first caller's `init` runs; the others wait for its value. When it fails (or its caller
/// is cancelled) the next waiter runs its own `init`, so errors are never shared or cached.
#[derive(Debug, Default)]
pub(crate) struct SingleFlight {
    flights: Mutex<HashMap<String, Flight>>,
}

impl SingleFlight {
    pub(crate) async fn run<F, Fut>(&self, key: &str, init: F) -> Result<Bytes, CacheError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, CacheError>>,
    {
        let flight = self.lock().entry(key.to_owned()).or_default().clone();
        let _landing = Landing { flights: self, key, flight: &flight };
        flight.get_or_try_init(init).await.cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Flight>> {
        self.flights.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.lock().len()
    }
}

/// Removes a finished flight from the map (also when its caller is cancelled), so the map only
/// holds keys being computed right now. Late callers that still hold the flight get its value.
struct Landing<'a> {
    flights: &'a SingleFlight,
    key: &'a str,
    flight: &'a Flight,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut flights = self.flights.lock();
        if flights.get(self.key).is_some_and(|f| Arc::ptr_eq(f, self.flight)) {
            flights.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_computation() {
        let flights = Arc::new(SingleFlight::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (flights, runs) = (flights.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                flights
                    .run("k", || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        Ok(Bytes::from_static(b"v"))
                    })
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), &b"v"[..]);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_failed_computation_is_not_shared_and_the_flight_is_dropped() {
        let flights = SingleFlight::default();
        let failed = flights.run("k", || async { Err(CacheError::CircuitOpen) }).await;
        assert!(failed.is_err());
        assert_eq!(flights.in_flight(), 0);
        assert_eq!(
            flights.run("k", || async { Ok(Bytes::from_static(b"v")) }).await.unwrap(),
            &b"v"[..]
        );
    }
}
