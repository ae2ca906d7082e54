//! One live-stream connection: forwards service events to the client through a bounded
//! outbox, answers the registry's pings and close orders, and drops clients that fall
//! behind instead of buffering for them.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{Sink, SinkExt, Stream, StreamExt};
use perfkit::LiveEvent;
use perfkit::core::MetricsSnapshot;
use perfkit::host::{CloseReason, ConnectionLease, ConnectionSignal};
use perfkit::metrics::Recorder;
use tokio::sync::{broadcast, mpsc};

/// Messages queued for one client; when the client lets this many pile up it is dropped.
pub(crate) const OUTBOX_CAPACITY: usize = 64;

/// Largest message a client may send (clients only need to send pongs and closes).
pub(crate) const MAX_INCOMING_MESSAGE: usize = 4 * 1024;

/// How long a closing connection may take to flush what is queued.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// WebSocket close code 1008 (policy violation) for a client too slow to keep up; 1001
/// (going away) when the server closes it.
const CLOSE_TOO_SLOW: u16 = 1008;
const CLOSE_GOING_AWAY: u16 = 1001;

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The client closed the connection or went away.
    ClientClosed,
    /// The client did not read fast enough: its outbox filled up.
    TooSlow,
    /// The registry told it to close (idle, heartbeat, shutdown).
    Closed(CloseReason),
    /// The service stopped publishing, or the registry is gone.
    ServiceGone,
}

/// A connection about to be served.
pub(crate) struct Session {
    pub(crate) events: broadcast::Receiver<LiveEvent>,
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) initial: Option<MetricsSnapshot>,
    pub(crate) lease: ConnectionLease,
}

impl Session {
    /// Serves `socket` until the client leaves, falls behind or is told to close.
    pub(crate) async fn serve(self, socket: WebSocket) {
        let Session { events, recorder, initial, mut lease } = self;
        // Its upgrade is counted as perfkit's own; the host's WebSocket figures are the host's.
        let (sink, incoming) = socket.split();
        let (outbox, queued) = mpsc::channel(OUTBOX_CAPACITY);
        let mut writer = tokio::spawn(write_queued(sink, queued, Arc::clone(&recorder)));
        if let Some(snapshot) = initial {
            // The outbox is empty: this cannot fill it.
            let _ = outbox.try_send(encode(&LiveEvent::Snapshot(Box::new(snapshot))));
        }
        let ended = forward(events, incoming, &outbox, &mut lease, &recorder).await;
        tracing::debug!(connection = %lease.id(), ?ended, "live stream ended");
        match ended {
            Ended::ClientClosed => writer.abort(),
            Ended::TooSlow => {
                // Its socket is not draining: do not wait for it.
                writer.abort();
            }
            Ended::Closed(_) | Ended::ServiceGone => {
                let _ =
                    outbox.try_send(close_message(CLOSE_GOING_AWAY, "server closed the stream"));
                drop(outbox);
                if tokio::time::timeout(FLUSH_TIMEOUT, &mut writer).await.is_err() {
                    writer.abort();
                }
            }
        }
        // The lease drops here: the connection leaves the registry.
    }
}

/// The loop of one connection, apart from the socket so it can be tested with channels.
pub(crate) async fn forward<In, E>(
    mut events: broadcast::Receiver<LiveEvent>,
    mut incoming: In,
    outbox: &mpsc::Sender<Message>,
    lease: &mut ConnectionLease,
    recorder: &Recorder,
) -> Ended
where
    In: Stream<Item = Result<Message, E>> + Unpin,
{
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => {
                    if !queue(outbox, encode(&event)) {
                        let _ = outbox.try_send(close_message(CLOSE_TOO_SLOW, "too slow"));
                        return Ended::TooSlow;
                    }
                }
                // This receiver fell behind the broadcast buffer: the missed events are
                // gone and it resumes at the oldest one still held.
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::debug!(connection = %lease.id(), skipped, "live stream skipped ahead");
                }
                Err(broadcast::error::RecvError::Closed) => return Ended::ServiceGone,
            },
            message = incoming.next() => match message {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Ended::ClientClosed,
                Some(Ok(_)) => {
                    // Pongs (and anything else) show the client is alive.
                    lease.touch();
                    recorder.record_own_stream_message();
                }
            },
            signal = lease.next_signal() => match signal {
                Some(ConnectionSignal::Ping) => {
                    if !queue(outbox, Message::Ping(Vec::new().into())) {
                        return Ended::TooSlow;
                    }
                }
                Some(ConnectionSignal::Close(reason)) => return Ended::Closed(reason),
                None => return Ended::ServiceGone,
            },
        }
    }
}

/// Queues `message`; `false` when the outbox is full or its writer is gone.
fn queue(outbox: &mpsc::Sender<Message>, message: Message) -> bool {
    outbox.try_send(message).is_ok()
}

fn encode(event: &LiveEvent) -> Message {
    match serde_json::to_string(event) {
        Ok(text) => Message::Text(text.into()),
        // Non-finite floats are the only way this fails; say so rather than drop silently.
        Err(error) => {
            tracing::warn!(%error, "live event could not be encoded");
            Message::Text(r#"{"type":"error","data":"event could not be encoded"}"#.into())
        }
    }
}

fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

/// Writes queued messages to the client until the outbox closes or the socket fails.
async fn write_queued<S>(mut sink: S, mut queued: mpsc::Receiver<Message>, recorder: Arc<Recorder>)
where
    S: Sink<Message> + Unpin,
{
    while let Some(message) = queued.recv().await {
        let closing = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() {
            return;
        }
        recorder.record_own_stream_message();
        if closing {
            break;
        }
    }
    let _ = sink.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unbounded receiver as a `Stream`, the shape `forward` reads a socket in.
    mod tokio_stream_shim {
        use std::pin::Pin;
        use std::task::{Context, Poll};

        pub(super) struct UnboundedStream<T>(pub(super) tokio::sync::mpsc::UnboundedReceiver<T>);

        impl<T> futures::Stream for UnboundedStream<T> {
            type Item = T;
            fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
                self.0.poll_recv(cx)
            }
        }
    }
    use perfkit::core::{ManualClock, Timestamp};
    use perfkit::host::{ConnectionRegistry, ConnectionRegistryConfig};

    type Incoming = futures::stream::Pending<Result<Message, std::convert::Infallible>>;

    fn silent() -> Incoming {
        futures::stream::pending()
    }

    fn registry() -> ConnectionRegistry {
        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(0)));
        ConnectionRegistry::new(ConnectionRegistryConfig::default(), clock)
    }

    fn snapshot_event(millis: i64) -> LiveEvent {
        LiveEvent::Snapshot(Box::new(MetricsSnapshot::empty(Timestamp::from_unix_millis(millis))))
    }

    #[tokio::test]
    async fn a_client_that_does_not_read_is_dropped_not_buffered() {
        let registry = registry();
        let mut lease = registry.register().unwrap();
        let (events, receiver) = broadcast::channel(16);
        let (outbox, _never_drained) = mpsc::channel(2);
        for millis in 0..3 {
            events.send(snapshot_event(millis)).unwrap();
        }
        let recorder = Recorder::default();
        let ended = forward(receiver, silent(), &outbox, &mut lease, &recorder).await;
        assert_eq!(ended, Ended::TooSlow);
        assert_eq!(outbox.capacity(), 0, "nothing beyond the outbox was held");
    }

    #[tokio::test]
    async fn a_lagging_receiver_skips_ahead_to_what_is_still_held() {
        let registry = registry();
        let mut lease = registry.register().unwrap();
        let (events, receiver) = broadcast::channel(2);
        for millis in 0..5 {
            events.send(snapshot_event(millis)).unwrap();
        }
        drop(events);
        let (outbox, mut queued) = mpsc::channel(16);
        let recorder = Recorder::default();
        let ended = forward(receiver, silent(), &outbox, &mut lease, &recorder).await;
        assert_eq!(ended, Ended::ServiceGone);
        let mut delivered = Vec::new();
        while let Ok(Message::Text(text)) = queued.try_recv() {
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(value["type"], "snapshot");
            delivered.push(value["data"]["timestamp"].as_str().unwrap().to_owned());
        }
        assert_eq!(delivered.len(), 2, "the two newest events: {delivered:?}");
    }

    #[tokio::test]
    async fn registry_orders_are_obeyed() {
        let registry = registry();
        let mut lease = registry.register().unwrap();
        let (_events, receiver) = broadcast::channel::<LiveEvent>(2);
        let (outbox, mut queued) = mpsc::channel(4);
        let recorder = Recorder::default();
        assert_eq!(registry.heartbeat().pinged, 1);
        registry.close_all();
        let ended = forward(receiver, silent(), &outbox, &mut lease, &recorder).await;
        assert_eq!(ended, Ended::Closed(CloseReason::Shutdown));
        drop(queued.try_recv());
    }

    /// A client of `forward` over channels: reads what the server queues and, when
    /// `answers`, sends a pong for every ping, as a browser does.
    fn client(
        mut queued: mpsc::Receiver<Message>,
        answers: bool,
    ) -> mpsc::UnboundedReceiver<Result<Message, std::convert::Infallible>> {
        let (pongs, incoming) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(message) = queued.recv().await {
                if answers && matches!(message, Message::Ping(_)) {
                    let _ = pongs.send(Ok(Message::Pong(Vec::new().into())));
                }
            }
        });
        incoming
    }

    #[tokio::test(start_paused = true)]
    async fn a_passive_subscriber_that_answers_pings_stays_for_an_hour_and_a_silent_one_goes() {
        use perfkit::PerformanceService;
        use tokio_stream_shim::UnboundedStream;

        let heartbeat = Duration::from_secs(30);
        let clock = Arc::new(perfkit::TokioClock::default());
        let config =
            ConnectionRegistryConfig { heartbeat_interval: heartbeat, ..Default::default() };
        let registry = ConnectionRegistry::new(config, clock.clone());
        let service = PerformanceService::builder()
            .clock(clock)
            .connections(registry.clone())
            .build()
            .unwrap();
        service.start();
        let started = tokio::time::Instant::now();
        let serve = |answers: bool| {
            let mut lease = registry.register().unwrap();
            let events = service.subscribe();
            let (outbox, queued) = mpsc::channel(OUTBOX_CAPACITY);
            let incoming = UnboundedStream(client(queued, answers));
            tokio::spawn(async move {
                let recorder = Recorder::default();
                let ended = forward(events, incoming, &outbox, &mut lease, &recorder).await;
                (ended, started.elapsed())
            })
        };
        // Passive: they never send anything of their own, only (for one) pongs.
        let answering = serve(true);
        let silent = serve(false);

        let (ended, after) = silent.await.unwrap();
        assert_eq!(ended, Ended::Closed(CloseReason::HeartbeatTimeout));
        assert!(after <= heartbeat * 2, "dropped after {after:?}");

        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(!answering.is_finished(), "the answering subscriber was dropped");
        assert_eq!(registry.len(), 1);
        assert_eq!(registry.counts(Duration::from_secs(60)).idle, 0, "never counted idle");
        service.shutdown().await;
        answering.abort();
    }

    #[tokio::test]
    async fn client_messages_touch_the_lease_and_a_close_ends() {
        let registry = registry();
        let mut lease = registry.register().unwrap();
        let (_events, receiver) = broadcast::channel::<LiveEvent>(2);
        let (outbox, _queued) = mpsc::channel(4);
        let recorder = Recorder::default();
        let incoming = futures::stream::iter(vec![
            Ok::<_, std::convert::Infallible>(Message::Pong(Vec::new().into())),
            Ok(Message::Close(None)),
        ]);
        let ended = forward(receiver, incoming, &outbox, &mut lease, &recorder).await;
        assert_eq!(ended, Ended::ClientClosed);
        let metrics = recorder.snapshot();
        // perfkit's own stream, not the host's WebSocket traffic.
        assert_eq!((metrics.own.stream_messages, metrics.websocket.messages), (1, 0));
    }
}
