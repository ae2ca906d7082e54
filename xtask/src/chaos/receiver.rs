//! A receiver the chaos run controls, for the alert webhook and the trace collector: an HTTP
//! endpoint on a free loopback port that answers 200, or hangs (accepts and never answers),
//! or drops every connection, or reads each request and answers 500; and that can be killed (its port closed) and started again on
//! the same port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};

/// Largest request body the receiver reads (a notification is a few KiB).
const MAX_BODY: usize = 1 << 20;
/// Most connections held open while hanging; beyond it, new ones are dropped.
const MAX_HELD: usize = 1024;

/// How the receiver treats a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Behaviour {
    Answer = 0,
    Hang = 1,
    Drop = 2,
    /// Reads the request and answers 500, as a collector failing inside would.
    Fail = 3,
}

/// The running receiver; stopped when dropped.
pub(crate) struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// `http://127.0.0.1:PORT/alerts`.
    pub(crate) url: String,
    port: u16,
    behaviour: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    pub(crate) fn start() -> Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").context("bind the receiver")?;
        let port = listener.local_addr()?.port();
        let base = format!("http://127.0.0.1:{port}");
        let mut receiver = Receiver {
            url: format!("{base}/alerts"),
            base,
            port,
            behaviour: Arc::new(AtomicU8::new(Behaviour::Answer as u8)),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        receiver.serve_on(listener)?;
        Ok(receiver)
    }

    fn serve_on(&mut self, listener: TcpListener) -> Result<()> {
        listener.set_nonblocking(true)?;
        self.stop = Arc::new(AtomicBool::new(false));
        let (behaviour, stop) = (Arc::clone(&self.behaviour), Arc::clone(&self.stop));
        self.thread = Some(std::thread::spawn(move || serve(&listener, &behaviour, &stop)));
        Ok(())
    }

    pub(crate) fn set(&self, behaviour: Behaviour) {
        self.behaviour.store(behaviour as u8, Ordering::Relaxed);
    }

    /// Closes the port and every connection, as a killed process would.
    pub(crate) fn kill(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Listens on the same port again, answering.
    pub(crate) fn revive(&mut self) -> Result<()> {
        self.kill();
        self.set(Behaviour::Answer);
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .with_context(|| format!("bind the receiver's port {} again", self.port))?;
        self.serve_on(listener)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.kill();
    }
}

fn serve(listener: &TcpListener, behaviour: &AtomicU8, stop: &AtomicBool) {
    let mut held = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let Ok((stream, _)) = listener.accept() else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        match behaviour.load(Ordering::Relaxed) {
            0 => {
                let _ = answer(&stream, "200 OK");
            }
            3 => {
                let _ = answer(&stream, "500 Internal Server Error");
            }
            1 if held.len() < MAX_HELD => held.push(stream),
            _ => drop(stream),
        }
        if behaviour.load(Ordering::Relaxed) != Behaviour::Hang as u8 {
            held.clear();
        }
    }
}

/// Reads one request (headers, then the body its length names) and answers `status`.
fn answer(stream: &TcpStream, status: &str) -> Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length.min(MAX_BODY)];
    reader.read_exact(&mut body)?;
    let mut writer = stream;
    let head = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    writer.write_all(head.as_bytes())?;
    Ok(())
}
