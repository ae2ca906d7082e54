//! Graceful shutdown: on SIGINT or SIGTERM accept what the kernel already queued, stop
//! accepting, let in-flight requests finish (up to a grace period), then return so the caller
//! can stop the service.

use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::connections::{self, Serving};
use super::draining_listener::DrainingListener;

/// Resolves on the first SIGINT or SIGTERM, naming it.
pub(crate) async fn signal() -> Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};

    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    Ok(tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    })
}

/// How serving ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drain {
    /// Every in-flight request finished.
    Complete,
    /// The grace period ran out with requests still open; they were dropped.
    TimedOut,
}

/// Longest time spent accepting the connections queued at shutdown; a flood of new ones
/// cannot hold the shutdown open.
const QUEUE_DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// Longest wait, once nothing more is accepted, for every accepted connection to be read
/// once (its request taken in) before connections are asked to finish.
const FIRST_READ_LIMIT: Duration = Duration::from_secs(5);

/// Serves `router` on `listener` until `stop` resolves, then drains for at most `grace`.
pub(crate) async fn serve_until(
    listener: TcpListener,
    router: Router,
    serving: Serving,
    stop: impl Future<Output = ()>,
    grace: Duration,
) -> Result<Drain> {
    let (listener, queue) =
        DrainingListener::new(listener).context("cannot prepare the listener for draining")?;
    let (begin_drain, draining) = oneshot::channel::<()>();
    let server = connections::serve(listener, router, serving, async {
        let _ = draining.await;
    });
    tokio::pin!(server);
    tokio::select! {
        () = &mut server => return Ok(Drain::Complete),
        () = stop => {}
    }
    // Connections the kernel accepted before the signal are served, not reset.
    tokio::select! {
        () = &mut server => return Ok(Drain::Complete),
        drained = tokio::time::timeout(QUEUE_DRAIN_LIMIT, queue.drain()) => {
            if drained.is_err() {
                tracing::warn!("connections kept arriving after the signal; no longer accepting them");
            }
        }
    }
    // hyper closes a connection it has read nothing from as idle, request or not.
    if !queue.unread.wait_until_read(FIRST_READ_LIMIT).await {
        tracing::warn!(
            unread = queue.unread.count(),
            "connections not read within {FIRST_READ_LIMIT:?} of the signal are closed unread"
        );
    }
    let _ = begin_drain.send(());
    match tokio::time::timeout(grace, server).await {
        Ok(()) => Ok(Drain::Complete),
        Err(_) => Ok(Drain::TimedOut),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::routing::get;
    use tokio::sync::Notify;

    use super::*;

    /// A server whose `/slow` handler waits for `release`, and a trigger for its `stop`.
    async fn start(
        grace: Duration,
    ) -> (String, Arc<Notify>, oneshot::Sender<()>, tokio::task::JoinHandle<Result<Drain>>) {
        let release = Arc::new(Notify::new());
        let held = Arc::clone(&release);
        let router = Router::new().route(
            "/slow",
            get(move || {
                let held = Arc::clone(&held);
                async move {
                    held.notified().await;
                    "done"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/slow", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(serve_until(
            listener,
            router,
            Serving { limits: crate::serve::ConnectionLimits::default(), figures: Arc::default() },
            async move {
                let _ = stopped.await;
            },
            grace,
        ));
        (url, release, stop, serving)
    }

    #[tokio::test]
    async fn an_in_flight_request_finishes_before_serving_ends() {
        let (url, release, stop, serving) = start(Duration::from_secs(60)).await;
        let request = tokio::spawn(reqwest::get(url));
        // Stop only once the request is inside the handler.
        while Arc::strong_count(&release) < 3 {
            tokio::task::yield_now().await;
        }
        stop.send(()).unwrap();
        tokio::task::yield_now().await;
        assert!(!serving.is_finished());
        release.notify_one();
        let response = request.await.unwrap().unwrap();
        assert_eq!(response.text().await.unwrap(), "done");
        assert_eq!(serving.await.unwrap().unwrap(), Drain::Complete);
    }

    #[tokio::test]
    async fn a_request_that_never_ends_is_dropped_after_the_grace_period() {
        let (url, release, stop, serving) = start(Duration::from_millis(20)).await;
        let request = tokio::spawn(reqwest::get(url));
        while Arc::strong_count(&release) < 3 {
            tokio::task::yield_now().await;
        }
        stop.send(()).unwrap();
        assert_eq!(serving.await.unwrap().unwrap(), Drain::TimedOut);
        drop(request);
    }
}
