//! The work besides the demo's reads: Prometheus scrapes, pattern deletes, live-stream
//! clients connecting, reading their first message and leaving, and optimizer config
//! updates, in turn, four times a second, until the soak ends.

use std::fmt;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::loadtest::http::{get_text, open_stream, request_json};

/// The pause between two actions.
const PACE: Duration = Duration::from_millis(250);

/// What the soak did, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Demo reads by wrk, and its socket errors and error answers.
    pub(crate) reads: u64,
    pub(crate) read_errors: u64,
    pub(crate) scrapes: u64,
    pub(crate) pattern_deletes: u64,
    pub(crate) stream_clients: u64,
    pub(crate) config_updates: u64,
    /// Side actions that failed.
    pub(crate) failures: u64,
}

impl Counts {
    /// Adds another stretch's counts to these.
    pub(crate) fn add(&mut self, other: &Counts) {
        self.reads += other.reads;
        self.read_errors += other.read_errors;
        self.scrapes += other.scrapes;
        self.pattern_deletes += other.pattern_deletes;
        self.stream_clients += other.stream_clients;
        self.config_updates += other.config_updates;
        self.failures += other.failures;
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} demo reads ({} errors), {} scrapes, {} pattern deletes, {} stream clients \
             connected and gone, {} config updates, {} failed side actions",
            self.reads,
            self.read_errors,
            self.scrapes,
            self.pattern_deletes,
            self.stream_clients,
            self.config_updates,
            self.failures
        )
    }
}

/// Cycles through the side actions until `done`.
pub(crate) fn cycle(base: &str, done: &AtomicBool) -> Result<Counts> {
    let mut counts = Counts::default();
    let mut turn = 0_u64;
    while !done.load(Ordering::Relaxed) {
        let outcome = match turn % 4 {
            0 => get_text(base, "/api/performance/metrics/prometheus").map(|_| counts.scrapes += 1),
            1 => {
                // A page prefix in turn: the demo refills what is deleted.
                let pattern = format!("demo:posts:page:{}", turn % 50 + 1);
                request_json(
                    "DELETE",
                    base,
                    "/api/performance/cache/pattern",
                    Some(&serde_json::json!({ "pattern": pattern })),
                )
                .map(|_| counts.pattern_deletes += 1)
            }
            2 => stream_client(base).map(|()| counts.stream_clients += 1),
            _ => update_config(base).map(|()| counts.config_updates += 1),
        };
        if let Err(error) = outcome {
            counts.failures += 1;
            if counts.failures <= 3 {
                eprintln!("soak: a side action failed: {error:#}");
            }
        }
        turn += 1;
        std::thread::sleep(PACE);
    }
    Ok(counts)
}

/// The optimizer's config read and written back unchanged: the update path, every time.
fn update_config(base: &str) -> Result<()> {
    let path = "/api/performance/optimization/config";
    let config = request_json("GET", base, path, None)?;
    request_json("PUT", base, path, Some(&config)).map(drop)
}

/// A WebSocket client of the live stream: upgrades, reads the first frame's header, leaves.
fn stream_client(base: &str) -> Result<()> {
    let (stream, mut reader) = open_stream(base)?;
    let mut frame_header = [0_u8; 2];
    reader.read_exact(&mut frame_header).context("the stream's first frame")?;
    // Leave without a close frame, as a browser tab that is shut does.
    stream.shutdown(std::net::Shutdown::Both).ok();
    Ok(())
}
