//! A listener that, at shutdown, accepts every connection the kernel has already queued
//! before it stops: a client whose handshake completed and whose request was sent has been
//! accepted as far as it can tell, and closing the listener over a full backlog would reset
//! it. Once the queue is empty, it stops accepting and says so.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use super::unread::{TrackedStream, Unread};

/// The listening socket twice: tokio's, for serving, and a duplicate of the same socket
/// (same backlog) whose non-blocking `accept` says for certain when the queue is empty.
pub(crate) struct DrainingListener {
    listener: TcpListener,
    queue: std::net::TcpListener,
    draining: watch::Receiver<bool>,
    drained: Arc<Notify>,
    /// Every connection it hands out, until the server first reads from it.
    unread: Unread,
}

/// The shutdown side of a [`DrainingListener`].
pub(crate) struct DrainHandle {
    begin: watch::Sender<bool>,
    drained: Arc<Notify>,
    /// The accepted connections not read from yet.
    pub(crate) unread: Unread,
}

impl DrainingListener {
    pub(crate) fn new(listener: TcpListener) -> io::Result<(DrainingListener, DrainHandle)> {
        let socket = listener.into_std()?;
        let queue = socket.try_clone()?;
        queue.set_nonblocking(true)?;
        let listener = TcpListener::from_std(socket)?;
        let (begin, draining) = watch::channel(false);
        let drained = Arc::new(Notify::new());
        let unread = Unread::default();
        let handle = DrainHandle { begin, drained: Arc::clone(&drained), unread: unread.clone() };
        Ok((DrainingListener { listener, queue, draining, drained, unread }, handle))
    }

    /// The next queued connection, without waiting; `None` once the queue is empty.
    fn next_queued(&self) -> Option<(TcpStream, SocketAddr)> {
        loop {
            match self.queue.accept() {
                Ok((stream, peer)) => {
                    let stream =
                        stream.set_nonblocking(true).and_then(|()| TcpStream::from_std(stream));
                    match stream {
                        Ok(stream) => return Some((stream, peer)),
                        Err(error) => {
                            tracing::warn!(%error, "a queued connection was lost at shutdown");
                        }
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return None,
                // The peer gave up (ECONNABORTED and the like): on to the next one.
                Err(error) if is_connection_error(&error) => {}
                Err(error) => {
                    tracing::warn!(%error, "cannot drain the accept queue at shutdown");
                    return None;
                }
            }
        }
    }
}

impl DrainHandle {
    /// Asks the listener to accept what is queued, then waits until it has.
    pub(crate) async fn drain(&self) {
        let _ = self.begin.send(true);
        self.drained.notified().await;
    }
}

impl Listener for DrainingListener {
    type Io = TrackedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TrackedStream, SocketAddr) {
        let (stream, peer) = self.accept_untracked().await;
        (self.unread.track(stream), peer)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl DrainingListener {
    async fn accept_untracked(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            if *self.draining.borrow() {
                if let Some(queued) = self.next_queued() {
                    return queued;
                }
                self.drained.notify_one();
                // Serving stops accepting once told to; until then, accept nothing more.
                std::future::pending::<()>().await;
            }
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(connection) => return connection,
                    Err(error) if is_connection_error(&error) => {}
                    Err(error) => {
                        // Out of descriptors and the like: wait rather than spin (as axum does).
                        tracing::error!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
                changed = self.draining.changed() => {
                    if changed.is_err() {
                        // The handle is gone: no drain will be asked; serve as before.
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }
}

/// Errors that concern one connection, not the listener.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_queued_before_the_drain_are_accepted_then_it_says_drained() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (mut draining, handle) = DrainingListener::new(listener).unwrap();
        // Three clients in the kernel's queue, none accepted yet.
        let clients: Vec<std::net::TcpStream> =
            (0..3).map(|_| std::net::TcpStream::connect(address).unwrap()).collect();
        let drained = tokio::spawn(async move { handle.drain().await });
        let mut accepted = Vec::new();
        for _ in 0..3 {
            accepted.push(draining.accept().await);
        }
        assert_eq!(accepted.len(), clients.len());
        // The queue is empty now: the next accept says so and waits for ever.
        let next = tokio::time::timeout(Duration::from_millis(100), draining.accept()).await;
        assert!(next.is_err(), "nothing more is accepted once drained");
        drained.await.unwrap();
    }
}
