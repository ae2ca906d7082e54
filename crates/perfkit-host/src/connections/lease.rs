//! `ConnectionLease`: a connection's side of the registry, held by the task serving it.

use std::sync::Weak;

use tokio::sync::watch;

use super::{ConnectionId, ConnectionSignal, Shared, Signals};

/// A connection's place in the registry, held by the task serving it; dropping it
/// unregisters the connection.
#[derive(Debug)]
pub struct ConnectionLease {
    pub(super) id: ConnectionId,
    pub(super) registry: Weak<Shared>,
    pub(super) signals: watch::Receiver<Signals>,
    /// Pings already handed out by `next_signal`.
    pub(super) pings_seen: u64,
}

impl ConnectionLease {
    /// The connection's id.
    #[must_use]
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// Records activity: a message received, or the pong to a ping.
    pub fn touch(&self) {
        if let Some(shared) = self.registry.upgrade() {
            shared.touch(self.id);
        }
    }

    /// Waits for the registry's next request: a ping to send, or the order to close. `None`
    /// once the registry itself is gone.
    pub async fn next_signal(&mut self) -> Option<ConnectionSignal> {
        loop {
            let signals = *self.signals.borrow_and_update();
            if let Some(reason) = signals.close {
                return Some(ConnectionSignal::Close(reason));
            }
            if signals.pings > self.pings_seen {
                self.pings_seen = signals.pings;
                return Some(ConnectionSignal::Ping);
            }
            if self.signals.changed().await.is_err() {
                return None;
            }
        }
    }
}

impl Drop for ConnectionLease {
    fn drop(&mut self) {
        if let Some(shared) = self.registry.upgrade() {
            shared.entries().remove(&self.id);
        }
    }
}
