//! What a connection is doing, for its two timeouts: reading a request head (since it was
//! accepted, or since the first byte of a later request), serving requests (from the
//! handler's call until the answer's body is dropped, so a long stream counts as busy), or
//! idle between requests. The stream notes the first byte of a head, the service marks a
//! request busy, and [`Activity::expired`] says when the phase has lasted too long.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::figures::{CloseReason, OpenSlot};
use super::limits::ConnectionLimits;

/// One connection's phase, shared by its stream, its service and its watchdog.
///
/// All three run in the connection's own task (hyper polls the stream and calls the service
/// there, and the watchdog is polled beside the connection), so the phase is a few relaxed
/// atomics, and a change wakes nobody: the watchdog sleeps to the earliest moment a deadline
/// could fall and looks again then. A request therefore costs two clock reads and no timer
/// of its own.
#[derive(Debug)]
pub(crate) struct Activity {
    /// Requests in flight; while there is one, no timeout runs.
    busy: AtomicUsize,
    /// With nothing in flight: idle between requests (`true`) or reading a head (`false`).
    idle: AtomicBool,
    /// When the head or idle phase began, in nanoseconds after `accepted`.
    since_nanos: AtomicU64,
    accepted: Instant,
}

impl Activity {
    /// A connection accepted now: waiting for its first head.
    pub(crate) fn accepted() -> Arc<Activity> {
        Arc::new(Activity {
            busy: AtomicUsize::new(0),
            idle: AtomicBool::new(false),
            since_nanos: AtomicU64::new(0),
            accepted: Instant::now(),
        })
    }

    fn mark_since_now(&self) {
        // u64 nanoseconds last 584 years: a connection does not.
        let nanos = u64::try_from(self.accepted.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.since_nanos.store(nanos, Ordering::Relaxed);
    }

    fn since(&self) -> Instant {
        self.accepted + Duration::from_nanos(self.since_nanos.load(Ordering::Relaxed))
    }

    /// Bytes arrived: an idle connection has begun its next head.
    fn read_some(&self) {
        if self.idle.load(Ordering::Relaxed) {
            self.idle.store(false, Ordering::Relaxed);
            self.mark_since_now();
        }
    }

    /// A request was handed to the service; busy until the guard is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::Relaxed);
        self.idle.store(false, Ordering::Relaxed);
        Busy(Arc::clone(self))
    }

    fn end(&self) {
        if self.busy.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.mark_since_now();
            self.idle.store(true, Ordering::Relaxed);
        }
    }

    /// Resolves when the connection has waited for a head, or idled, longer than `limits`
    /// allow; never while a request is in flight.
    pub(crate) async fn expired(&self, limits: ConnectionLimits) -> CloseReason {
        loop {
            let now = Instant::now();
            // The next moment a deadline could fall, given what the connection may do
            // meanwhile: a busy one may finish now and idle, an idle one may start a head now.
            let look_again = if self.busy.load(Ordering::Relaxed) > 0 {
                now + limits.header_read_timeout.min(limits.keep_alive_timeout)
            } else if self.idle.load(Ordering::Relaxed) {
                let deadline = self.since() + limits.keep_alive_timeout;
                if deadline <= now {
                    return CloseReason::IdleTimeout;
                }
                deadline.min(now + limits.header_read_timeout)
            } else {
                let deadline = self.since() + limits.header_read_timeout;
                if deadline <= now {
                    return CloseReason::HeaderTimeout;
                }
                deadline
            };
            tokio::time::sleep_until(look_again).await;
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
