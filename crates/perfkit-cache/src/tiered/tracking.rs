//! The invalidation channel: Redis server-assisted client-side caching in broadcast mode.
//!
//! Connections of our own, apart from the pool. A *subscriber* (RESP3) per Redis that holds
//! keys listens on `__redis__:invalidate`; the *writer* carries this process's writes, and
//! its connection to each of those Redis has `CLIENT TRACKING ON REDIRECT <subscriber there>
//! BCAST PREFIX <namespace> NOLOOP`, so Redis sends the subscriber the keys under the
//! namespace that any *other* connection changes (writes, deletes, expiry, eviction) and a
//! null for a flushed database, and leaves out the writer's own writes, which the front has
//! already applied. (fred's RESP3 push path drops the null message of a flush; its pub/sub
//! path keeps it, hence the redirect.) On a Redis Cluster that is one pair per primary
//! (`subscribers.rs`): broadcast tracking covers every key with the prefix on the node it is
//! set on, whatever its slot, so a resharding between known primaries loses nothing.
//!
//! The task keeps the front dark (neither serving nor filling) until tracking is set, and
//! makes it dark again, empty, on anything that may have lost a message: an error, a
//! reconnection or an unresponsive connection on any side, a failed heartbeat, a changed set
//! of primaries (a failover, a node added), or a lagging receiver (a flush is enough there:
//! the channel itself is intact). Then it sets tracking up again from scratch.

use std::sync::Arc;
use std::time::Duration;

use fred::clients::WithOptions;
use fred::interfaces::{ClientInterface, EventInterface, PubsubInterface, TrackingInterface};
use fred::prelude::{Client, ClientLike, Error as FredError, ErrorKind, Value};
use fred::types::client::Invalidation;
use fred::types::config::Options;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use super::coherence::CoherentFront;
use super::subscribers::{Link, Subscribers};
use crate::RESERVED_PREFIX;

/// Where Redis publishes invalidations for a redirected tracking client.
const INVALIDATION_CHANNEL: &str = "__redis__:invalidate";

/// The connections and what the task needs to know.
pub(crate) struct Channel {
    pub(crate) subscribers: Subscribers,
    pub(crate) writer: Client,
    /// The namespace: the tracked prefix, stripped from invalidated keys.
    pub(crate) namespace: String,
    pub(crate) heartbeat: Duration,
    /// The longest one setup step or ping may take.
    pub(crate) timeout: Duration,
}

/// Events after which messages may have been missed: the writer's for the channel's life,
/// the subscribers' for one setup.
struct Losses {
    writer: Vec<Receiver<()>>,
    subscribers: Vec<Receiver<()>>,
}

impl Channel {
    /// Runs until the clients are dropped: sets tracking up, applies invalidations, and starts
    /// over (dark and empty) whenever the channel may have lost a message.
    pub(crate) async fn run(mut self, front: Arc<CoherentFront>) {
        let mut losses = Losses::watch(&self.writer);
        let mut warned = false;
        loop {
            front.go_dark();
            losses.drain();
            let setup = match self.enable().await {
                Ok(setup) => setup,
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
            };
            let Setup { links, mut invalidations, losses: lost_links, id } = setup;
            losses.subscribers = lost_links;
            front.go_live(id);
            if warned {
                tracing::info!("near cache invalidations flow again; the front serves");
            }
            warned = false;
            let mut heartbeat = tokio::time::interval_at(
                tokio::time::Instant::now() + self.heartbeat,
                self.heartbeat,
            );
            loop {
                tokio::select! {
                    message = next_invalidation(&mut invalidations) => match message {
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
                    _ = heartbeat.tick() => if !self.alive(&links).await {
                        tracing::debug!("near cache heartbeat failed or the primaries changed; emptying the front");
                        break;
                    },
                }
            }
        }
    }

    /// Connects the subscribers, subscribes each, and points the writer's tracking on each
    /// node at the subscriber there.
    async fn enable(&mut self) -> Result<Setup, FredError> {
        let timeout = self.timeout;
        let links = tokio::time::timeout(timeout, self.subscribers.links(&self.writer))
            .await
            .map_err(|_| FredError::new(ErrorKind::Timeout, "no answer in time"))??;
        // Listening before tracking is on, so that no message and no reconnection (which
        // would leave the redirect pointing at a closed id) falls between the two.
        let invalidations = links.iter().map(|link| link.subscriber.invalidation_rx()).collect();
        let losses = links.iter().flat_map(|link| events_of(&link.subscriber)).collect();
        let mut first_id = None;
        for link in &links {
            let id: i64 = self.bounded(link.subscriber.client_id()).await?;
            self.bounded(link.subscriber.subscribe(INVALIDATION_CHANNEL)).await?;
            let writer = self.writer_on(link);
            // Tracking on twice with the same prefix is refused as an overlap: off first.
            let off: Result<Value, _> = self
                .bounded(writer.client_tracking("off", None, None, false, false, false, false))
                .await;
            drop(off);
            let _: Value = self
                .bounded(writer.client_tracking(
                    "on",
                    Some(id),
                    self.namespace.as_str(),
                    true,
                    false,
                    false,
                    true,
                ))
                .await?;
            first_id.get_or_insert(id);
        }
        let id = first_id.ok_or_else(|| FredError::new(ErrorKind::Cluster, "no node to track"))?;
        Ok(Setup { links, invalidations, losses, id })
    }

    /// The writer's connection to `link`'s node (its only one on a single Redis).
    fn writer_on(&self, link: &Link) -> WithOptions<Client> {
        self.writer.with_options(&Options { cluster_node: link.node.clone(), ..Options::default() })
    }

    /// Whether every connection answers a PING in time and the primaries are the same.
    async fn alive(&self, links: &[Link]) -> bool {
        for link in links {
            let writer = self.writer_on(link);
            let subscriber = self.bounded(link.subscriber.ping::<Value>(None));
            let writer = self.bounded(writer.ping::<Value>(None));
            let (subscriber, writer) = tokio::join!(subscriber, writer);
            if subscriber.is_err() || writer.is_err() {
                return false;
            }
        }
        self.bounded(async { Ok(self.subscribers.same_topology(&self.writer, links).await) })
            .await
            .unwrap_or(false)
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

/// One setup's links, their invalidation and loss receivers, and the id the front reports.
struct Setup {
    links: Vec<Link>,
    invalidations: Vec<Receiver<Invalidation>>,
    losses: Vec<Receiver<()>>,
    id: i64,
}

/// The next message from any subscriber.
async fn next_invalidation(
    receivers: &mut [Receiver<Invalidation>],
) -> Result<Invalidation, RecvError> {
    if let [only] = receivers {
        return only.recv().await;
    }
    let waits = receivers.iter_mut().map(|receiver| Box::pin(receiver.recv()));
    let (result, _, _) = futures::future::select_all(waits).await;
    result
}

impl Losses {
    /// Errors, reconnections and unresponsive connections of the writer.
    fn watch(writer: &Client) -> Losses {
        Losses { writer: events_of(writer), subscribers: Vec::new() }
    }

    /// Forgets events from before now: the setup that follows starts after them.
    fn drain(&mut self) {
        self.subscribers.clear();
        for receiver in &mut self.writer {
            while !matches!(
                receiver.try_recv(),
                Err(tokio::sync::broadcast::error::TryRecvError::Empty
                    | tokio::sync::broadcast::error::TryRecvError::Closed)
            ) {}
        }
    }

    /// Waits for the next loss; `false` once the writer is gone.
    async fn next(&mut self) -> bool {
        let writer = self.writer.len();
        let waits = self
            .writer
            .iter_mut()
            .chain(self.subscribers.iter_mut())
            .map(|receiver| Box::pin(receiver.recv()));
        let (result, index, _) = futures::future::select_all(waits).await;
        // A closed subscriber's events mean a loss too; only the writer's closing ends it.
        !(index < writer && matches!(result, Err(RecvError::Closed)))
    }
}

fn events_of(client: &Client) -> Vec<Receiver<()>> {
    vec![
        forward(client.error_rx()),
        forward(client.reconnect_rx()),
        forward(client.unresponsive_rx()),
    ]
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
