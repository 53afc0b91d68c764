//! The bounded queue between the request workers and an exporter, one per signal (spans, and
//! the audit stream's log records): an item that finds it full is dropped and counted, never
//! waited for.
//!
//! Decisions:
//! - One mechanism for both signals: [`Queue`] is generic over what it carries and a [`Sink`]
//!   says how a batch is exported; it is the traces' `SpanProcessor` and the logs'
//!   `LogProcessor`, so the SDK's own batch processors (their threads, their uncounted drops)
//!   are not used.
//! - One bounded channel (`telemetry.queue_size`) and one export thread per signal with its own
//!   single-thread runtime: emitting is a `try_send`, whatever the collector does.
//! - Items of a batch the collector refused or never answered (after the exporter's own
//!   retries, bounded by `telemetry.export_timeout`) count as dropped too.
//! - Drops are counted in `deprecation_shim_telemetry_dropped_total{signal}` and logged at WARN
//!   at most once a minute, one clock for both signals (a collector down drops both, and would
//!   otherwise flood the log); the WARN gives both totals.

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use prometheus_client::metrics::counter::Counter;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Items sent in one export at most.
const MAX_BATCH: usize = 512;
/// How long a batch waits for more items before it leaves.
const BATCH_DELAY: Duration = Duration::from_millis(200);
/// At most one WARN about drops per this long.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// What a queue carries: the `signal` label of its drop counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Logs,
}

impl Signal {
    /// The `signal` label value.
    pub fn label(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Logs => "logs",
        }
    }
}

static DROPPED_TRACES: LazyLock<Counter> = LazyLock::new(Counter::default);
static DROPPED_LOGS: LazyLock<Counter> = LazyLock::new(Counter::default);
static STARTED: LazyLock<Instant> = LazyLock::new(Instant::now);
/// Milliseconds after [`STARTED`] of the last WARN, plus one (0: never).
static WARNED_AT: AtomicU64 = AtomicU64::new(0);

/// The process's count of `signal` items dropped (queue full, export failed), for `/metrics`.
pub fn dropped_counter(signal: Signal) -> Counter {
    match signal {
        Signal::Traces => DROPPED_TRACES.clone(),
        Signal::Logs => DROPPED_LOGS.clone(),
    }
}

fn dropped(signal: Signal, n: usize, why: &'static str) {
    if n == 0 {
        return;
    }
    dropped_counter(signal).inc_by(n as u64);
    let now = u64::try_from(STARTED.elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let last = WARNED_AT.load(Ordering::Relaxed);
    let due = last == 0 || now.saturating_sub(last) >= WARN_EVERY.as_millis() as u64;
    if due
        && WARNED_AT
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(
            signal = signal.label(),
            dropped = n,
            spans_total = DROPPED_TRACES.get(),
            logs_total = DROPPED_LOGS.get(),
            why,
            "telemetry: items dropped before export (next warning in a minute at the earliest; see deprecation_shim_telemetry_dropped_total)"
        );
    }
}

/// How the export thread sends one batch of a signal.
pub trait Sink: Send + 'static {
    type Item: Send + 'static;
    const SIGNAL: Signal;
    /// Run on the export thread's own runtime, so the future need not be `Send`.
    fn export(&self, batch: Vec<Self::Item>) -> impl Future<Output = OTelSdkResult>;
}

/// Spans to a `SpanExporter`.
#[derive(Debug)]
pub struct Spans<E>(pub E);

impl<E: SpanExporter + 'static> Sink for Spans<E> {
    type Item = SpanData;
    const SIGNAL: Signal = Signal::Traces;
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> {
        self.0.export(batch)
    }
}

/// A log record as the logger emitted it, with its scope.
pub type LogItem = (SdkLogRecord, InstrumentationScope);

/// Log records to a `LogExporter`.
#[derive(Debug)]
pub struct Logs<E>(pub E);

impl<E: LogExporter + 'static> Sink for Logs<E> {
    type Item = LogItem;
    const SIGNAL: Signal = Signal::Logs;
    async fn export(&self, batch: Vec<LogItem>) -> OTelSdkResult {
        let refs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            batch.iter().map(|(r, s)| (r, s)).collect();
        self.0.export(LogBatch::new(&refs)).await
    }
}

enum Msg<T> {
    Item(Box<T>),
    /// Export what is queued, then answer.
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// The processor of one signal: a bounded sender to its export thread.
pub struct Queue<T> {
    tx: mpsc::Sender<Msg<T>>,
    stopped: AtomicBool,
    signal: Signal,
}

impl<T> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("signal", &self.signal)
            .field("capacity", &self.tx.max_capacity())
            .finish()
    }
}

impl<T: Send + 'static> Queue<T> {
    /// Starts the export thread for `sink`, fed by a queue of `size` items.
    pub fn start<S: Sink<Item = T>>(
        sink: S,
        size: usize,
        timeout: Duration,
    ) -> Result<Queue<T>, String> {
        let (tx, rx) = mpsc::channel(size);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("telemetry: cannot start the export runtime: {e}"))?;
        std::thread::Builder::new()
            .name(format!("otel-export-{}", S::SIGNAL.label()))
            .spawn(move || rt.block_on(export_loop(sink, rx, timeout)))
            .map_err(|e| format!("telemetry: cannot start the export thread: {e}"))?;
        Ok(Queue {
            tx,
            stopped: AtomicBool::new(false),
            signal: S::SIGNAL,
        })
    }

    /// Queues `item`, or drops and counts it when the queue is full; never waits.
    fn offer(&self, item: T) {
        if self.stopped.load(Ordering::Relaxed) {
            return;
        }
        if self.tx.try_send(Msg::Item(Box::new(item))).is_err() {
            dropped(self.signal, 1, "queue full");
        }
    }

    fn flush_within(&self, wait: Duration) -> OTelSdkResult {
        let (ack, done) = std::sync::mpsc::sync_channel(1);
        self.tx
            .try_send(Msg::Flush(ack))
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        done.recv_timeout(wait)
            .map_err(|_| OTelSdkError::Timeout(wait))
    }

    fn stop_within(&self, wait: Duration) -> OTelSdkResult {
        if self.stopped.swap(true, Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.flush_within(wait)
    }
}

impl SpanProcessor for Queue<SpanData> {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.offer(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush_within(Duration::from_secs(5))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.stop_within(timeout)
    }
}

impl LogProcessor for Queue<LogItem> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        self.offer((record.clone(), scope.clone()));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush_within(Duration::from_secs(5))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.stop_within(timeout)
    }
}

async fn export_loop<S: Sink>(sink: S, mut rx: mpsc::Receiver<Msg<S::Item>>, timeout: Duration) {
    let mut batch: Vec<S::Item> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        let mut ack = None;
        match first {
            Msg::Item(s) => batch.push(*s),
            Msg::Flush(a) => ack = Some(a),
        }
        let deadline = tokio::time::Instant::now() + BATCH_DELAY;
        while ack.is_none() && batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Msg::Item(s))) => batch.push(*s),
                Ok(Some(Msg::Flush(a))) => ack = Some(a),
                Ok(None) | Err(_) => break,
            }
        }
        let items = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
        let n = items.len();
        if n > 0 {
            match tokio::time::timeout(timeout, sink.export(items)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => dropped(S::SIGNAL, n, "export failed"),
                Err(_) => dropped(S::SIGNAL, n, "export timed out"),
            }
        }
        if let Some(a) = ack {
            let _ = a.send(());
        }
    }
}
