//! Clients that hold the server's connections without using them: half a request head sent
//! and nothing more, or one request answered and then silence on a kept-alive connection.
//! The server must close both kinds within its header-read and keep-alive timeouts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Opens `count` connections that send half a head, and `count` that send one whole request,
/// read its answer's head and then stay silent.
pub(crate) fn open(base: &str, count: usize) -> Result<Vec<TcpStream>> {
    let address = base.strip_prefix("http://").context("base is http://host:port")?;
    let mut clients = Vec::with_capacity(2 * count);
    for _ in 0..count {
        let mut stream = TcpStream::connect(address).context("connect a half-head client")?;
        stream.write_all(b"GET /api/performance/health HTTP/1.1\r\nHost: chaos\r\nUser-Ag")?;
        clients.push(stream);
    }
    // Every request sent before any answer is read, so the clients open at the pace of the
    // server's answers in parallel, not one round trip after another.
    let mut kept_alive = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = TcpStream::connect(address).context("connect a keep-alive client")?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(b"GET /api/performance/health HTTP/1.1\r\nHost: chaos\r\n\r\n")?;
        kept_alive.push(stream);
    }
    for mut stream in kept_alive {
        // One read takes the answer's head (health answers 200 or 503, both kept alive);
        // whatever is left is read when the clients are checked.
        let mut answer = [0_u8; 512];
        let read = stream.read(&mut answer).context("read the keep-alive client's answer")?;
        if !answer[..read].starts_with(b"HTTP/1.1 ") {
            bail!(
                "a keep-alive client's request was not answered: {:?}",
                String::from_utf8_lossy(&answer[..read])
            );
        }
        clients.push(stream);
    }
    Ok(clients)
}

/// How many of `clients` the server has not closed by `deadline` (a close is an end of file
/// or a reset; anything else read, or a read still waiting, is a connection left open).
pub(crate) fn still_open(clients: Vec<TcpStream>, deadline: Instant) -> Result<usize> {
    let mut open = 0;
    let mut rest = [0_u8; 4096];
    for mut client in clients {
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        client.set_read_timeout(Some(left))?;
        let closed = loop {
            match client.read(&mut rest) {
                Ok(0) => break true,
                // The rest of an answer not read at open.
                Ok(_) => {}
                Err(error) if is_timeout(&error) => break false,
                Err(_) => break true,
            }
        };
        if !closed {
            open += 1;
        }
    }
    Ok(open)
}

fn is_timeout(error: &std::io::Error) -> bool {
    matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
}
