//! An alert receiver the chaos run controls: a webhook endpoint on a free loopback port that
//! answers 200, or hangs (accepts and never answers), or drops every connection.

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
}

/// The running receiver; stopped when dropped.
pub(crate) struct Receiver {
    /// `http://127.0.0.1:PORT/alerts`.
    pub(crate) url: String,
    behaviour: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    pub(crate) fn start() -> Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").context("bind the alert receiver")?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}/alerts", listener.local_addr()?);
        let behaviour = Arc::new(AtomicU8::new(Behaviour::Answer as u8));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (behaviour, stop) = (Arc::clone(&behaviour), Arc::clone(&stop));
            std::thread::spawn(move || serve(&listener, &behaviour, &stop))
        };
        Ok(Receiver { url, behaviour, stop, thread: Some(thread) })
    }

    pub(crate) fn set(&self, behaviour: Behaviour) {
        self.behaviour.store(behaviour as u8, Ordering::Relaxed);
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
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
                let _ = answer(&stream);
            }
            1 if held.len() < MAX_HELD => held.push(stream),
            _ => drop(stream),
        }
        if behaviour.load(Ordering::Relaxed) != Behaviour::Hang as u8 {
            held.clear();
        }
    }
}

/// Reads one request (headers, then the body its length names) and answers 200.
fn answer(stream: &TcpStream) -> Result<()> {
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
    writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")?;
    Ok(())
}
