//! The invalidation channel: Redis server-assisted client-side caching in broadcast mode.
//!
//! Two connections of our own, apart from the pool. The *subscriber* (RESP3) listens on
//! `__redis__:invalidate`; the *writer* carries this process's writes and has
//! `CLIENT TRACKING ON REDIRECT <subscriber> BCAST PREFIX <namespace> NOLOOP`, so Redis sends
//! the subscriber the keys under the namespace that any *other* connection changes (writes,
//! deletes, expiry, eviction) and a null for a flushed database, and leaves out the writer's
//! own writes, which the front has already applied. (fred's RESP3 push path drops the null
//! message of a flush; its pub/sub path keeps it, hence the redirect.)
//!
//! The task keeps the front dark (neither serving nor filling) until tracking is set, and
//! makes it dark again, empty, on anything that may have lost a message: an error, a
//! reconnection or an unresponsive connection on either side, a failed heartbeat, or a
//! lagging receiver (a flush is enough there: the channel itself is intact). Then it sets
//! tracking up again from scratch.

use std::sync::Arc;
use std::time::Duration;

use fred::interfaces::{ClientInterface, EventInterface, PubsubInterface, TrackingInterface};
use fred::prelude::{Client, ClientLike, Error as FredError, ErrorKind, Value};
use fred::types::client::Invalidation;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use super::coherence::CoherentFront;
use crate::RESERVED_PREFIX;

/// Where Redis publishes invalidations for a redirected tracking client.
const INVALIDATION_CHANNEL: &str = "__redis__:invalidate";

/// The two connections and what the task needs to know.
pub(crate) struct Channel {
    pub(crate) subscriber: Client,
    pub(crate) writer: Client,
    /// The namespace: the tracked prefix, stripped from invalidated keys.
    pub(crate) namespace: String,
    pub(crate) heartbeat: Duration,
    /// The longest one setup step or ping may take.
    pub(crate) timeout: Duration,
}

/// Events after which messages may have been missed.
struct Losses {
    receivers: Vec<Receiver<()>>,
}

impl Channel {
    /// Runs until the clients are dropped: sets tracking up, applies invalidations, and starts
    /// over (dark and empty) whenever the channel may have lost a message.
    pub(crate) async fn run(self, front: Arc<CoherentFront>) {
        let mut invalidations = self.subscriber.invalidation_rx();
        let mut losses = Losses::watch(&[&self.subscriber, &self.writer]);
        let mut warned = false;
        loop {
            front.go_dark();
            losses.drain();
            match self.enable().await {
                Ok(id) => {
                    front.go_live(id);
                    if warned {
                        tracing::info!("near cache invalidations flow again; the front serves");
                    }
                    warned = false;
                }
                Err(error) => {
                    if !warned {
                        tracing::warn!(%error, "near cache bypassed: redis invalidations are unavailable");
                        warned = true;
                    }
                    tokio::select! {
                        lost = losses.next() => if !lost { return },
                        () = tokio::time::sleep(self.heartbeat) => {}
                    }
                    continue;
                }
            }
            let mut heartbeat = tokio::time::interval_at(
                tokio::time::Instant::now() + self.heartbeat,
                self.heartbeat,
            );
            loop {
                tokio::select! {
                    message = invalidations.recv() => match message {
                        Ok(invalidation) => self.apply(&front, &invalidation),
                        Err(RecvError::Lagged(missed)) => {
                            tracing::debug!(missed, "near cache missed invalidations; emptying the front");
                            front.flush();
                        }
                        Err(RecvError::Closed) => return,
                    },
                    lost = losses.next() => {
                        if !lost { return }
                        tracing::debug!("near cache invalidation channel lost; emptying the front");
                        break;
                    }
                    _ = heartbeat.tick() => if !self.alive().await {
                        tracing::debug!("near cache heartbeat failed; emptying the front");
                        break;
                    },
                }
            }
        }
    }

    /// Subscribes, points the writer's tracking at the subscriber, and returns the
    /// subscriber's `CLIENT ID`.
    async fn enable(&self) -> Result<i64, FredError> {
        let id: i64 = self.bounded(self.subscriber.client_id()).await?;
        self.bounded(self.subscriber.subscribe(INVALIDATION_CHANNEL)).await?;
        // Tracking on twice with the same prefix is refused as an overlap: off first.
        let off: Result<Value, _> = self
            .bounded(self.writer.client_tracking("off", None, None, false, false, false, false))
            .await;
        drop(off);
        let _: Value = self
            .bounded(self.writer.client_tracking(
                "on",
                Some(id),
                self.namespace.as_str(),
                true,
                false,
                false,
                true,
            ))
            .await?;
        Ok(id)
    }

    /// Whether both connections answer a PING in time.
    async fn alive(&self) -> bool {
        let subscriber = self.bounded(self.subscriber.ping::<Value>(None));
        let writer = self.bounded(self.writer.ping::<Value>(None));
        let (subscriber, writer) = tokio::join!(subscriber, writer);
        subscriber.is_ok() && writer.is_ok()
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, FredError>>,
    ) -> Result<T, FredError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| FredError::new(ErrorKind::Timeout, "no answer in time"))?
    }

    /// Drops the invalidated keys that are the application's; a null message (a flushed
    /// database) empties the front.
    fn apply(&self, front: &CoherentFront, invalidation: &Invalidation) {
        if invalidation.keys.is_empty() {
            front.flush();
            return;
        }
        for key in &invalidation.keys {
            let relative = key
                .as_bytes()
                .strip_prefix(self.namespace.as_bytes())
                .and_then(|relative| std::str::from_utf8(relative).ok());
            // Keys outside the namespace, perfkit's own keys, and keys that are not UTF-8 (no
            // key of ours) were never in the front.
            if let Some(relative) = relative.filter(|r| !r.starts_with(RESERVED_PREFIX)) {
                front.invalidate(relative);
            }
        }
    }
}

impl Losses {
    /// Errors, reconnections and unresponsive connections of each client.
    fn watch(clients: &[&Client]) -> Losses {
        let mut receivers = Vec::new();
        for client in clients {
            receivers.push(forward(client.error_rx()));
            receivers.push(forward(client.reconnect_rx()));
            receivers.push(forward(client.unresponsive_rx()));
        }
        Losses { receivers }
    }

    /// Forgets events from before now: the setup that follows starts after them.
    fn drain(&mut self) {
        for receiver in &mut self.receivers {
            while !matches!(
                receiver.try_recv(),
                Err(tokio::sync::broadcast::error::TryRecvError::Empty
                    | tokio::sync::broadcast::error::TryRecvError::Closed)
            ) {}
        }
    }

    /// Waits for the next loss; `false` once the clients are gone.
    async fn next(&mut self) -> bool {
        let waits = self.receivers.iter_mut().map(|receiver| Box::pin(receiver.recv()));
        let (result, _, _) = futures::future::select_all(waits).await;
        !matches!(result, Err(RecvError::Closed))
    }
}

/// fred's event receivers carry different payloads; the task only needs to know one came.
fn forward<T: Clone + Send + 'static>(mut events: Receiver<T>) -> Receiver<()> {
    let (sender, receiver) = tokio::sync::broadcast::channel(16);
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    if sender.send(()).is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    receiver
}
