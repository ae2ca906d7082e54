//! The accept loop and each connection's life: a connection past the cap is accepted and
//! closed at once; every other one is served by hyper's HTTP/1 server with upgrades (the
//! stream's WebSockets), carries its peer address as `ConnectInfo`, and is closed when it
//! waits too long for a request head or idles too long between requests. When told to stop,
//! the loop stops accepting, asks every connection to finish its request in flight, and
//! waits for them all.
//!
//! A connection past the cap is closed rather than answered 503: a 503 means reading the
//! request first (or racing the client's write, which turns the close into a reset that
//! loses the answer), holding the very descriptor the cap protects, while a close frees it at
//! once and tells any HTTP client to retry, as a load balancer does on a refused backend.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tower::ServiceExt;

use super::activity::{Activity, BusyBody, WatchedStream};
use super::figures::{ConnectionFigures, OpenSlot};
use super::limits::ConnectionLimits;

/// How the listener treats connections: their limits, and the figures it counts into.
#[derive(Debug, Clone)]
pub(crate) struct Serving {
    pub(crate) limits: ConnectionLimits,
    pub(crate) figures: Arc<ConnectionFigures>,
}

/// Serves `router` on `listener` until `stop` resolves, then lets every open connection
/// finish what it is doing and returns once all are closed.
pub(crate) async fn serve<L>(
    mut listener: L,
    router: Router,
    serving: Serving,
    stop: impl Future<Output = ()>,
) where
    L: Listener<Addr = SocketAddr>,
{
    let Serving { limits, figures } = serving;
    // `true` once connections are asked to finish; each holds a receiver of `open` until it
    // closes, so `closed()` on the sender says when the last one has.
    let (finish, finishing) = watch::channel(false);
    let (open, held) = watch::channel(());
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let Some(slot) = figures.open(limits.max_connections) else {
            tracing::debug!(%peer, max = limits.max_connections, "connection refused: at the cap");
            drop(stream);
            continue;
        };
        let connection = Connection {
            router: router.clone(),
            peer,
            limits,
            figures: Arc::clone(&figures),
            finishing: finishing.clone(),
            _held: held.clone(),
        };
        tokio::spawn(connection.serve(stream, slot));
    }
    drop(listener);
    let _ = finish.send(true);
    drop(held);
    open.closed().await;
}

/// What one connection's task holds.
struct Connection {
    router: Router,
    peer: SocketAddr,
    limits: ConnectionLimits,
    figures: Arc<ConnectionFigures>,
    finishing: watch::Receiver<bool>,
    /// Dropped with the task: the accept loop waits for every one.
    _held: watch::Receiver<()>,
}

impl Connection {
    async fn serve<S>(mut self, stream: S, slot: OpenSlot)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Activity::accepted();
        let io = TokioIo::new(WatchedStream::new(stream, Arc::clone(&activity), slot));
        let (router, peer, busy) = (self.router.clone(), self.peer, Arc::clone(&activity));
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            let in_flight = busy.begin();
            // For the per-address limit on failed logins and the audit lines, as
            // `into_make_service_with_connect_info` would give.
            request.extensions_mut().insert(ConnectInfo(peer));
            let answer = router.clone().oneshot(request.map(Body::new));
            async move {
                let response: Response<Body> = answer.await?;
                Ok::<_, Infallible>(response.map(|body| BusyBody::new(body, in_flight)))
            }
        });
        let connection = http1::Builder::new().serve_connection(io, service).with_upgrades();
        tokio::pin!(connection);
        let expired = activity.expired(self.limits);
        tokio::pin!(expired);
        let mut finish_asked = *self.finishing.borrow();
        if finish_asked {
            connection.as_mut().graceful_shutdown();
        }
        loop {
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        tracing::trace!(%error, peer = %self.peer, "connection ended with an error");
                    }
                    return;
                }
                reason = &mut expired => {
                    // Nothing is in flight: dropping the connection closes the socket and
                    // loses no answer.
                    self.figures.closed(reason);
                    tracing::debug!(peer = %self.peer, ?reason, "connection closed unused");
                    return;
                }
                _ = self.finishing.changed(), if !finish_asked => {
                    finish_asked = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
