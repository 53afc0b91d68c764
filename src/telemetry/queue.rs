//! The bounded queue between the spans that end on request workers and the exporter: a span
//! that finds it full is dropped and counted, never waited for.
//!
//! Decisions:
//! - One bounded channel (`telemetry.queue_size`) and one export thread with its own
//!   single-thread runtime: `on_end` is a `try_send`, whatever the collector does.
//! - Spans of a batch the collector refused or never answered (after the exporter's own
//!   retries, bounded by `telemetry.export_timeout`) count as dropped too.
//! - Drops are counted in `deprecation_shim_telemetry_dropped_total{signal="traces"}` and
//!   logged at WARN at most once a minute (a collector down would otherwise flood the log).

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use prometheus_client::metrics::counter::Counter;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Spans sent in one export at most.
const MAX_BATCH: usize = 512;
/// How long a batch waits for more spans before it leaves.
const BATCH_DELAY: Duration = Duration::from_millis(200);
/// At most one WARN about drops per this long.
const WARN_EVERY: Duration = Duration::from_secs(60);

static DROPPED: LazyLock<Counter> = LazyLock::new(Counter::default);
static STARTED: LazyLock<Instant> = LazyLock::new(Instant::now);
/// Milliseconds after [`STARTED`] of the last WARN, plus one (0: never).
static WARNED_AT: AtomicU64 = AtomicU64::new(0);

/// The process's count of spans dropped (queue full, export failed), for `/metrics`.
pub fn dropped_counter() -> Counter {
    DROPPED.clone()
}

fn dropped(n: usize, why: &'static str) {
    if n == 0 {
        return;
    }
    DROPPED.inc_by(n as u64);
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
            dropped = n,
            total = DROPPED.get(),
            why,
            "telemetry: spans dropped (next warning in a minute at the earliest; see deprecation_shim_telemetry_dropped_total)"
        );
    }
}

enum Msg {
    Span(Box<SpanData>),
    /// Export what is queued, then answer.
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// The span processor: a bounded sender to the export thread.
#[derive(Debug)]
pub struct Queue {
    tx: mpsc::Sender<Msg>,
    stopped: AtomicBool,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Span(_) => "Span",
            Msg::Flush(_) => "Flush",
        })
    }
}

impl Queue {
    /// Starts the export thread for `exporter`, fed by a queue of `size` spans.
    pub fn start<E: SpanExporter + 'static>(
        exporter: E,
        size: usize,
        timeout: Duration,
    ) -> Result<Queue, String> {
        let (tx, rx) = mpsc::channel(size);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("telemetry: cannot start the export runtime: {e}"))?;
        std::thread::Builder::new()
            .name("otel-export".into())
            .spawn(move || rt.block_on(export_loop(exporter, rx, timeout)))
            .map_err(|e| format!("telemetry: cannot start the export thread: {e}"))?;
        Ok(Queue {
            tx,
            stopped: AtomicBool::new(false),
        })
    }

    fn flush_within(&self, wait: Duration) -> OTelSdkResult {
        let (ack, done) = std::sync::mpsc::sync_channel(1);
        self.tx
            .try_send(Msg::Flush(ack))
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        done.recv_timeout(wait)
            .map_err(|_| OTelSdkError::Timeout(wait))
    }
}

impl SpanProcessor for Queue {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() || self.stopped.load(Ordering::Relaxed) {
            return;
        }
        if self.tx.try_send(Msg::Span(Box::new(span))).is_err() {
            dropped(1, "queue full");
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush_within(Duration::from_secs(5))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.stopped.swap(true, Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.flush_within(timeout)
    }
}

async fn export_loop<E: SpanExporter>(exporter: E, mut rx: mpsc::Receiver<Msg>, timeout: Duration) {
    let mut batch: Vec<SpanData> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        let mut ack = None;
        match first {
            Msg::Span(s) => batch.push(*s),
            Msg::Flush(a) => ack = Some(a),
        }
        let deadline = tokio::time::Instant::now() + BATCH_DELAY;
        while ack.is_none() && batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Msg::Span(s))) => batch.push(*s),
                Ok(Some(Msg::Flush(a))) => ack = Some(a),
                Ok(None) | Err(_) => break,
            }
        }
        let spans = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
        let n = spans.len();
        if n > 0 {
            match tokio::time::timeout(timeout, exporter.export(spans)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => dropped(n, "export failed"),
                Err(_) => dropped(n, "export timed out"),
            }
        }
        if let Some(a) = ack {
            let _ = a.send(());
        }
    }
}
