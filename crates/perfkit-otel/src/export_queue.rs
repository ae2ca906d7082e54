//! The bounded export path: a span processor that never blocks the thread ending a span,
//! and an export thread of its own that sends batches over OTLP.
//!
//! **Why not the SDK's batch processor.** Ending a span must cost the same whatever the
//! collector does, and exports must not depend on the host's runtime: the SDK's processors
//! have hung or deadlocked on `current_thread` and one-worker runtimes for others. Here
//! `on_end` is a counter and a channel send: past [`TraceSettings::queue_capacity`] spans
//! waiting, a span is dropped and counted. The export thread owns a `current_thread` tokio
//! runtime of its own, used only while an export runs; each export is cut off at
//! [`TraceSettings::export_timeout`] and its spans counted as dropped. A collector that is
//! down, slow, hanging or answering 500 therefore costs the service nothing but the spans.
//!
//! **Flush and shutdown** drain the queue in batches until a deadline; what is left then is
//! counted, and the caller gets its answer by the deadline whatever the collector does.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

use crate::figures::ExportFigures;
use crate::{OtelError, TraceSettings};

/// What the processor tells the export thread.
enum Message {
    Span(Box<SpanData>),
    /// Export everything queued, then answer; stop trying at the deadline.
    Flush {
        deadline: Instant,
        done: SyncSender<()>,
    },
    /// Like `Flush`, then end the thread.
    Shutdown {
        deadline: Instant,
        done: SyncSender<()>,
    },
}

/// The span processor of a [`TracePipeline`](crate::TracePipeline).
#[derive(Debug)]
pub(crate) struct BoundedExport {
    sender: Sender<Message>,
    figures: Arc<ExportFigures>,
    flush_timeout: Duration,
    stop_by: Arc<StopBy>,
}

/// The shutdown's deadline, seen by the export thread before it reaches the shutdown
/// message: the spans queued ahead of it are sent by the deadline too, or counted.
#[derive(Debug)]
struct StopBy {
    epoch: Instant,
    /// Nanoseconds after `epoch`, plus one; zero: no shutdown asked.
    at: std::sync::atomic::AtomicU64,
}

impl StopBy {
    fn set(&self, deadline: Instant) {
        let nanos = deadline.saturating_duration_since(self.epoch).as_nanos();
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX - 1);
        self.at.store(nanos + 1, Ordering::Relaxed);
    }

    fn get(&self) -> Option<Instant> {
        match self.at.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(self.epoch + Duration::from_nanos(nanos - 1)),
        }
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Span(_) => "Span",
            Message::Flush { .. } => "Flush",
            Message::Shutdown { .. } => "Shutdown",
        })
    }
}

impl BoundedExport {
    /// Starts the export thread over `exporter`.
    pub(crate) fn start<E>(
        exporter: E,
        settings: &TraceSettings,
        figures: Arc<ExportFigures>,
    ) -> Result<Self, OtelError>
    where
        E: SpanExporter + 'static,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| OtelError::Exporter(format!("cannot build its runtime: {error}")))?;
        let (sender, receiver) = mpsc::channel();
        let stop_by = Arc::new(StopBy { epoch: Instant::now(), at: 0.into() });
        let worker = Worker {
            stop_by: Arc::clone(&stop_by),
            exporter,
            runtime,
            receiver,
            figures: Arc::clone(&figures),
            max_batch: settings.max_batch,
            interval: settings.export_interval,
            timeout: settings.export_timeout,
        };
        std::thread::Builder::new()
            .name("perfkit-otel-export".to_owned())
            .spawn(move || worker.run())
            .map_err(|error| OtelError::Exporter(format!("cannot start its thread: {error}")))?;
        Ok(BoundedExport { sender, figures, flush_timeout: settings.export_timeout, stop_by })
    }

    /// Sends `make(deadline, done)` and waits for the answer until the deadline.
    fn ask(
        &self,
        timeout: Duration,
        make: impl FnOnce(Instant, SyncSender<()>) -> Message,
    ) -> OTelSdkResult {
        let deadline = Instant::now() + timeout;
        let (done, answered) = mpsc::sync_channel(1);
        if self.sender.send(make(deadline, done)).is_err() {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        // A little past the deadline: the thread stops at it, then answers.
        match answered.recv_timeout(timeout + Duration::from_millis(100)) {
            Ok(()) => Ok(()),
            Err(RecvTimeoutError::Timeout) => Err(OTelSdkError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(OTelSdkError::AlreadyShutdown),
        }
    }
}

impl SpanProcessor for BoundedExport {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let figures = &self.figures;
        if figures.queued.fetch_add(1, Ordering::Relaxed) >= figures.capacity {
            figures.queued.fetch_sub(1, Ordering::Relaxed);
            ExportFigures::add(&figures.dropped_queue_full, 1);
            return;
        }
        if self.sender.send(Message::Span(Box::new(span))).is_err() {
            figures.queued.fetch_sub(1, Ordering::Relaxed);
            ExportFigures::add(&figures.dropped_at_shutdown, 1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.ask(self.flush_timeout, |deadline, done| Message::Flush { deadline, done })
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.stop_by.set(Instant::now() + timeout);
        self.ask(timeout, |deadline, done| Message::Shutdown { deadline, done })
    }
}

/// The export thread's state.
struct Worker<E> {
    stop_by: Arc<StopBy>,
    exporter: E,
    runtime: tokio::runtime::Runtime,
    receiver: Receiver<Message>,
    figures: Arc<ExportFigures>,
    max_batch: usize,
    interval: Duration,
    timeout: Duration,
}

impl<E: SpanExporter> Worker<E> {
    fn run(mut self) {
        let mut batch = Vec::with_capacity(self.max_batch);
        let mut send_by = Instant::now() + self.interval;
        loop {
            let wait = send_by.saturating_duration_since(Instant::now());
            match self.receiver.recv_timeout(wait) {
                Ok(Message::Span(span)) => {
                    self.figures.queued.fetch_sub(1, Ordering::Relaxed);
                    if batch.is_empty() {
                        send_by = Instant::now() + self.interval;
                    }
                    batch.push(*span);
                    if batch.len() >= self.max_batch {
                        self.export(&mut batch, None);
                    }
                }
                Ok(Message::Flush { deadline, done }) => {
                    self.drain(&mut batch, deadline);
                    let _ = done.send(());
                }
                Ok(Message::Shutdown { deadline, done }) => {
                    self.drain(&mut batch, deadline);
                    let _ = self.exporter.shutdown_with_timeout(Duration::ZERO);
                    let _ = done.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if !batch.is_empty() {
                        self.export(&mut batch, None);
                    }
                    send_by = Instant::now() + self.interval;
                }
                // Every processor handle is gone (the provider was dropped without a
                // shutdown): send what is here and stop.
                Err(RecvTimeoutError::Disconnected) => {
                    let deadline = Instant::now() + self.timeout;
                    self.drain(&mut batch, deadline);
                    return;
                }
            }
        }
    }

    /// Exports everything queued now, batch by batch, until `deadline`; counts the rest as
    /// dropped at shutdown. Another flush or shutdown asked meanwhile is answered too.
    fn drain(&mut self, batch: &mut Vec<SpanData>, deadline: Instant) {
        let mut answers = Vec::new();
        // At most a queue's worth: spans still arriving cannot keep a shutdown draining.
        let mut budget = self.figures.capacity;
        while budget > 0 {
            budget -= 1;
            match self.receiver.try_recv() {
                Ok(Message::Span(span)) => {
                    self.figures.queued.fetch_sub(1, Ordering::Relaxed);
                    batch.push(*span);
                    if batch.len() >= self.max_batch {
                        self.export(batch, Some(deadline));
                    }
                }
                Ok(Message::Flush { done, .. } | Message::Shutdown { done, .. }) => {
                    answers.push(done);
                }
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            self.export(batch, Some(deadline));
        }
        for done in answers {
            let _ = done.send(());
        }
    }

    /// One export of `batch`, cut off at the export timeout (or `deadline`, if sooner); its
    /// spans are counted as exported or dropped either way.
    fn export(&mut self, batch: &mut Vec<SpanData>, deadline: Option<Instant>) {
        let spans = std::mem::take(batch);
        let count = spans.len();
        let mut limit = self.timeout;
        let deadline = match (deadline, self.stop_by.get()) {
            (Some(one), Some(other)) => Some(one.min(other)),
            (one, other) => one.or(other),
        };
        if let Some(deadline) = deadline {
            limit = limit.min(deadline.saturating_duration_since(Instant::now()));
            if limit.is_zero() {
                ExportFigures::add(&self.figures.dropped_at_shutdown, count);
                return;
            }
        }
        let exporter = &self.exporter;
        let runtime = &self.runtime;
        // A panic in the exporter costs its batch, not the thread (and with it every later
        // span).
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(async { tokio::time::timeout(limit, exporter.export(spans)).await })
        }));
        match outcome {
            Ok(Ok(Ok(()))) => ExportFigures::add(&self.figures.exported, count),
            Ok(Ok(Err(_)) | Err(_)) | Err(_) => {
                ExportFigures::add(&self.figures.dropped_export_failed, count);
                ExportFigures::add(&self.figures.failed_exports, 1);
            }
        }
    }
}
