//! What a connection is doing, for its two timeouts: reading a request head (since it was
//! accepted, or since the first byte of a later request), serving requests (from the
//! handler's call until the answer's body is dropped, so a long stream counts as busy), or
//! idle between requests. The stream notes the first byte of a head, the service marks a
//! request busy, and [`Activity::expired`] says when the phase has lasted too long.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::figures::{CloseReason, OpenSlot};
use super::limits::ConnectionLimits;

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request head to end, since this instant.
    Head(Instant),
    /// This many requests in flight.
    Busy(usize),
    /// No request in flight, nothing read, since this instant.
    Idle(Instant),
}

/// One connection's phase, shared by its stream, its service and its watchdog.
#[derive(Debug)]
pub(crate) struct Activity {
    phase: Mutex<Phase>,
    /// Whether the phase is `Idle`: the stream reads it on every read, without the lock.
    idle: AtomicBool,
    /// Woken when a deadline may have moved earlier or the connection left `Busy`.
    changed: Notify,
}

impl Activity {
    /// A connection accepted now: waiting for its first head.
    pub(crate) fn accepted() -> Arc<Activity> {
        Arc::new(Activity {
            phase: Mutex::new(Phase::Head(Instant::now())),
            idle: AtomicBool::new(false),
            changed: Notify::new(),
        })
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        // The phase is a plain value, whole after any panic.
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived: an idle connection has begun its next head.
    fn read_some(&self) {
        if !self.idle.load(Ordering::Relaxed) {
            return;
        }
        let mut phase = self.phase();
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(Instant::now());
            self.idle.store(false, Ordering::Relaxed);
            self.changed.notify_one();
        }
    }

    /// A request was handed to the service; busy until the guard is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        let mut phase = self.phase();
        *phase = match *phase {
            Phase::Busy(count) => Phase::Busy(count + 1),
            Phase::Head(_) | Phase::Idle(_) => Phase::Busy(1),
        };
        self.idle.store(false, Ordering::Relaxed);
        Busy(Arc::clone(self))
    }

    fn end(&self) {
        let mut phase = self.phase();
        *phase = match *phase {
            Phase::Busy(count) if count > 1 => Phase::Busy(count - 1),
            _ => {
                self.idle.store(true, Ordering::Relaxed);
                self.changed.notify_one();
                Phase::Idle(Instant::now())
            }
        };
    }

    /// Resolves when the connection has waited for a head, or idled, longer than `limits`
    /// allow; never while a request is in flight.
    pub(crate) async fn expired(&self, limits: ConnectionLimits) -> CloseReason {
        loop {
            let changed = self.changed.notified();
            let deadline = match *self.phase() {
                Phase::Busy(_) => None,
                Phase::Head(since) => {
                    Some((since + limits.header_read_timeout, CloseReason::HeaderTimeout))
                }
                Phase::Idle(since) => {
                    Some((since + limits.keep_alive_timeout, CloseReason::IdleTimeout))
                }
            };
            match deadline {
                None => changed.await,
                Some((at, reason)) if at <= Instant::now() => return reason,
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = changed => {}
                    }
                }
            }
        }
    }
}

/// A request in flight; dropping it (with the answer's body) ends it.
#[derive(Debug)]
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// An answer's body that keeps its request in flight until hyper has finished with it.
#[derive(Debug)]
pub(crate) struct BusyBody<B> {
    body: B,
    _busy: Busy,
}

impl<B> BusyBody<B> {
    pub(crate) fn new(body: B, busy: Busy) -> Self {
        BusyBody { body, _busy: busy }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for BusyBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's stream that notes when bytes arrive on an idle connection, and holds the
/// connection's slot under the cap for as long as the socket lives (an upgraded WebSocket
/// included).
#[derive(Debug)]
pub(crate) struct WatchedStream<S> {
    stream: S,
    activity: Arc<Activity>,
    _slot: OpenSlot,
}

impl<S> WatchedStream<S> {
    pub(crate) fn new(stream: S, activity: Arc<Activity>, slot: OpenSlot) -> Self {
        WatchedStream { stream, activity, _slot: slot }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WatchedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read_some();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WatchedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const LIMITS: ConnectionLimits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(60),
        keep_alive_timeout: Duration::from_secs(75),
        max_connections: 10,
    };

    #[tokio::test(start_paused = true)]
    async fn a_head_not_finished_in_time_expires_as_a_header_timeout() {
        let activity = Activity::accepted();
        let started = Instant::now();
        assert_eq!(activity.expired(LIMITS).await, CloseReason::HeaderTimeout);
        assert_eq!(started.elapsed(), LIMITS.header_read_timeout);
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_never_expires_and_idles_from_its_last_answer() {
        let activity = Activity::accepted();
        let busy = activity.begin();
        let waiting = tokio::time::timeout(Duration::from_secs(3600), activity.expired(LIMITS));
        assert!(waiting.await.is_err(), "a request in flight for an hour is not closed");
        let idle_from = Instant::now();
        drop(busy);
        assert_eq!(activity.expired(LIMITS).await, CloseReason::IdleTimeout);
        assert_eq!(idle_from.elapsed(), LIMITS.keep_alive_timeout);
    }

    #[tokio::test(start_paused = true)]
    async fn a_byte_on_an_idle_connection_starts_the_head_timeout_from_then() {
        let activity = Activity::accepted();
        drop(activity.begin());
        tokio::time::advance(Duration::from_secs(30)).await;
        activity.read_some();
        let head_from = Instant::now();
        assert_eq!(activity.expired(LIMITS).await, CloseReason::HeaderTimeout);
        assert_eq!(head_from.elapsed(), LIMITS.header_read_timeout);
    }
}
