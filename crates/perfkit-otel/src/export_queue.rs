//! The bounded export path: a span processor that never blocks the thread ending a span,
//! and an export thread of its own that sends batches over OTLP.
//!
//! **Why not the SDK's batch processor.** Ending a span must cost the same whatever the
//! collector does, and exports must not depend on the host's runtime: the SDK's processors
//! have hung or deadlocked on `current_thread` and one-worker runtimes for others, and they
//! count their drops nowhere a scrape can read. Here `on_end` is a counter and a channel send:
//! past [`TraceSettings::queue_capacity`] spans waiting, a span is dropped and counted.
//!
//! **No wake-up per span.** The export thread waits on a control channel, not on the spans:
//! a span sent while it sleeps wakes nothing (a wake-up is a system call, dearer than the rest
//! of a span's end). It drains the spans every [`TraceSettings::export_interval`], or sooner
//! when a producer sees a batch's worth queued and sends one `Wake` (one at a time: a flag
//! says one is on its way).
//!
//! **Exports** run on a `current_thread` tokio runtime the thread owns, used only while an
//! export runs; each is cut off at [`TraceSettings::export_timeout`] and its spans counted as
//! dropped, as are those of an export that fails or panics. A collector that is down, slow,
//! hanging or answering 500 therefore costs the service nothing but the spans.
//!
//! **Flush and shutdown** drain the queue in batches until a deadline (a shutdown's deadline
//! also bounds the export running when it is asked); what is left then is counted, and the
//! caller gets its answer by the deadline whatever the collector does.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

use crate::figures::ExportFigures;
use crate::{OtelError, TraceSettings};

/// What the processor tells the export thread, beside the spans themselves.
enum Control {
    /// A batch's worth is queued.
    Wake,
    /// Export everything queued, then answer; stop trying at the deadline.
    Flush { deadline: Instant, done: SyncSender<()> },
    /// Like `Flush`, then end the thread.
    Shutdown { deadline: Instant, done: SyncSender<()> },
}

/// The span processor of a [`TracePipeline`](crate::TracePipeline).
#[derive(Debug)]
pub(crate) struct BoundedExport {
    spans: Sender<SpanData>,
    control: Sender<Control>,
    shared: Arc<Shared>,
    flush_timeout: Duration,
}

/// What the processor and the export thread share.
#[derive(Debug)]
struct Shared {
    figures: Arc<ExportFigures>,
    max_batch: usize,
    /// A `Wake` is on its way: producers send no other until the thread has woken.
    wake_sent: AtomicBool,
    stop_by: StopBy,
}

/// The shutdown's deadline, seen by the export thread before it reaches the shutdown
/// message: the export running then, and the spans queued ahead, end by the deadline too.
#[derive(Debug)]
struct StopBy {
    epoch: Instant,
    /// Nanoseconds after `epoch`, plus one; zero: no shutdown asked.
    at: AtomicU64,
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

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Control::Wake => "Wake",
            Control::Flush { .. } => "Flush",
            Control::Shutdown { .. } => "Shutdown",
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
        let (spans, span_receiver) = mpsc::channel();
        let (control, control_receiver) = mpsc::channel();
        let shared = Arc::new(Shared {
            figures,
            max_batch: settings.max_batch,
            wake_sent: AtomicBool::new(false),
            stop_by: StopBy { epoch: Instant::now(), at: AtomicU64::new(0) },
        });
        let worker = Worker {
            shared: Arc::clone(&shared),
            exporter,
            runtime,
            spans: span_receiver,
            control: control_receiver,
            interval: settings.export_interval,
            timeout: settings.export_timeout,
        };
        std::thread::Builder::new()
            .name("perfkit-otel-export".to_owned())
            .spawn(move || worker.run())
            .map_err(|error| OtelError::Exporter(format!("cannot start its thread: {error}")))?;
        Ok(BoundedExport { spans, control, shared, flush_timeout: settings.export_timeout })
    }

    /// Sends `make(deadline, done)` and waits for the answer until the deadline.
    fn ask(
        &self,
        timeout: Duration,
        make: impl FnOnce(Instant, SyncSender<()>) -> Control,
    ) -> OTelSdkResult {
        let deadline = Instant::now() + timeout;
        let (done, answered) = mpsc::sync_channel(1);
        if self.control.send(make(deadline, done)).is_err() {
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
        let shared = &*self.shared;
        let figures = &shared.figures;
        let queued = figures.queued.fetch_add(1, Ordering::Relaxed);
        if queued >= figures.capacity {
            figures.queued.fetch_sub(1, Ordering::Relaxed);
            ExportFigures::add(&figures.dropped_queue_full, 1);
            return;
        }
        if self.spans.send(span).is_err() {
            figures.queued.fetch_sub(1, Ordering::Relaxed);
            ExportFigures::add(&figures.dropped_at_shutdown, 1);
            return;
        }
        if queued + 1 >= shared.max_batch && !shared.wake_sent.swap(true, Ordering::AcqRel) {
            let _ = self.control.send(Control::Wake);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.ask(self.flush_timeout, |deadline, done| Control::Flush { deadline, done })
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shared.stop_by.set(Instant::now() + timeout);
        self.ask(timeout, |deadline, done| Control::Shutdown { deadline, done })
    }
}

/// The export thread's state.
struct Worker<E> {
    shared: Arc<Shared>,
    exporter: E,
    runtime: tokio::runtime::Runtime,
    spans: Receiver<SpanData>,
    control: Receiver<Control>,
    interval: Duration,
    timeout: Duration,
}

impl<E: SpanExporter> Worker<E> {
    fn run(mut self) {
        let mut next_round = Instant::now() + self.interval;
        loop {
            let wait = next_round.saturating_duration_since(Instant::now());
            match self.control.recv_timeout(wait) {
                Ok(Control::Wake) => self.drain(None),
                Err(RecvTimeoutError::Timeout) => {
                    self.drain(None);
                    next_round = Instant::now() + self.interval;
                }
                Ok(Control::Flush { deadline, done }) => {
                    self.drain(Some(deadline));
                    let _ = done.send(());
                }
                Ok(Control::Shutdown { deadline, done }) => {
                    self.drain(Some(deadline));
                    let _ = self.exporter.shutdown_with_timeout(Duration::ZERO);
                    let _ = done.send(());
                    return;
                }
                // Every processor handle is gone (the provider was dropped without a
                // shutdown): send what is here and stop.
                Err(RecvTimeoutError::Disconnected) => {
                    self.drain(Some(Instant::now() + self.timeout));
                    return;
                }
            }
        }
    }

    /// Exports what is queued now, batch by batch, at most a queue's worth (spans still
    /// arriving cannot hold the thread here); with a `deadline`, stops trying then and
    /// counts the rest as dropped at shutdown.
    fn drain(&mut self, deadline: Option<Instant>) {
        // Cleared first: a producer that queues more from now on may wake the thread again.
        self.shared.wake_sent.store(false, Ordering::Release);
        let figures = Arc::clone(&self.shared.figures);
        let mut left = figures.capacity;
        let mut batch = Vec::with_capacity(self.shared.max_batch);
        while left > 0 {
            let Ok(span) = self.spans.try_recv() else { break };
            left -= 1;
            figures.queued.fetch_sub(1, Ordering::Relaxed);
            batch.push(span);
            if batch.len() >= self.shared.max_batch {
                self.export(std::mem::take(&mut batch), deadline);
            }
        }
        if !batch.is_empty() {
            self.export(batch, deadline);
        }
    }

    /// One export of `batch`, cut off at the export timeout (or the deadline, or the
    /// shutdown's, if sooner); its spans are counted as exported or dropped either way.
    fn export(&mut self, batch: Vec<SpanData>, deadline: Option<Instant>) {
        let count = batch.len();
        let figures = &self.shared.figures;
        let deadline = match (deadline, self.shared.stop_by.get()) {
            (Some(one), Some(other)) => Some(one.min(other)),
            (one, other) => one.or(other),
        };
        let mut limit = self.timeout;
        if let Some(deadline) = deadline {
            limit = limit.min(deadline.saturating_duration_since(Instant::now()));
            if limit.is_zero() {
                ExportFigures::add(&figures.dropped_at_shutdown, count);
                return;
            }
        }
        let exporter = &self.exporter;
        let runtime = &self.runtime;
        // A panic in the exporter costs its batch, not the thread (and with it every later
        // span).
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(async { tokio::time::timeout(limit, exporter.export(batch)).await })
        }));
        match outcome {
            Ok(Ok(Ok(()))) => ExportFigures::add(&figures.exported, count),
            Ok(Ok(Err(_)) | Err(_)) | Err(_) => {
                ExportFigures::add(&figures.dropped_export_failed, count);
                ExportFigures::add(&figures.failed_exports, 1);
            }
        }
    }
}
