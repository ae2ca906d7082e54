//! Connections accepted but not yet read from. hyper's graceful shutdown closes a connection
//! it has read nothing from as idle, even when the client's request is already in the socket;
//! so at shutdown the server first waits (bounded) until every accepted connection has been
//! read once, and only then asks connections to finish.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How many accepted connections have not been read from yet.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unread(Arc<AtomicUsize>);

impl Unread {
    /// `stream`, counted as unread until its first read.
    pub(crate) fn track(&self, stream: TcpStream) -> TrackedStream {
        self.0.fetch_add(1, Ordering::SeqCst);
        TrackedStream { stream, unread: Some(Arc::clone(&self.0)) }
    }

    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Waits until every tracked connection has been read once, or `limit` passes; true when
    /// they all were.
    pub(crate) async fn wait_until_read(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.count() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }
}

/// A connection that leaves the unread count at its first completed read (or when dropped).
#[derive(Debug)]
pub(crate) struct TrackedStream {
    stream: TcpStream,
    unread: Option<Arc<AtomicUsize>>,
}

impl TrackedStream {
    fn mark_read(&mut self) {
        if let Some(unread) = self.unread.take() {
            unread.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for TrackedStream {
    fn drop(&mut self) {
        self.mark_read();
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if polled.is_ready() {
            self.mark_read();
        }
        polled
    }
}

impl AsyncWrite for TrackedStream {
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    #[tokio::test]
    async fn a_connection_counts_as_unread_until_its_first_read() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let unread = Unread::default();
        let mut server = unread.track(listener.accept().await.unwrap().0);
        assert_eq!(unread.count(), 1);
        assert!(!unread.wait_until_read(Duration::from_millis(20)).await);
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut first = [0_u8; 4];
        server.read_exact(&mut first).await.unwrap();
        assert_eq!(unread.count(), 0);
        assert!(unread.wait_until_read(Duration::from_millis(20)).await);
        let dropped =
            unread.track(TcpStream::connect(listener.local_addr().unwrap()).await.unwrap());
        drop(dropped);
        assert_eq!(unread.count(), 0);
    }
}
