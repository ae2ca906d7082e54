//! A TCP proxy that delays every byte by a fixed time each way: the network hop this kernel
//! cannot add with `tc netem`. Bytes keep their order and the link its throughput; only
//! their arrival moves later, as on a longer wire.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// A listening proxy in front of one address; it stops accepting when dropped (open
/// connections end when either side closes).
pub(crate) struct DelayProxy {
    pub(crate) port: u16,
    stopping: Arc<AtomicBool>,
}

impl DelayProxy {
    /// Listens on a free loopback port and forwards each connection to `target` with
    /// `delay` added in each direction.
    pub(crate) fn start(target: SocketAddr, delay: Duration) -> Result<DelayProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").context("delay proxy: bind")?;
        let port = listener.local_addr()?.port();
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stopping);
        thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::Acquire) {
                    return;
                }
                let Ok(client) = client else { continue };
                thread::spawn(move || {
                    if let Ok(server) = TcpStream::connect(target) {
                        join(client, server, delay);
                    }
                });
            }
        });
        Ok(DelayProxy { port, stopping })
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Both directions of one connection, until either side closes.
fn join(client: TcpStream, server: TcpStream, delay: Duration) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(client_read), Ok(server_read)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let upstream = thread::spawn(move || pump(client_read, server, delay));
    pump(server_read, client, delay);
    let _ = upstream.join();
}

/// Reads from `from`, and writes each chunk to `to` once `delay` has passed since it was
/// read. A second thread does the writing, so reading never waits for the delay.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (chunks, pending) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = thread::spawn(move || {
        for (due, chunk) in pending {
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
    let mut buffer = vec![0_u8; 64 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if chunks.send((Instant::now() + delay, buffer[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(chunks);
    let _ = writer.join();
    let _ = from.shutdown(Shutdown::Read);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echo_through_the_proxy_takes_twice_the_delay_and_keeps_its_bytes() {
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = echo.local_addr().unwrap();
        thread::spawn(move || {
            let (mut stream, _) = echo.accept().unwrap();
            let mut buffer = [0_u8; 1024];
            while let Ok(n) = stream.read(&mut buffer) {
                if n == 0 || stream.write_all(&buffer[..n]).is_err() {
                    return;
                }
            }
        });
        let proxy = DelayProxy::start(target, Duration::from_millis(20)).unwrap();
        let mut stream = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
        let started = Instant::now();
        stream.write_all(b"ping").unwrap();
        let mut reply = [0_u8; 4];
        stream.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"ping");
        let round_trip = started.elapsed();
        assert!(round_trip >= Duration::from_millis(40), "{round_trip:?}");
    }
}
