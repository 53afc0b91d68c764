//! The migration audit trail: one JSON line per call of the deprecated route, written and
//! flushed before the reply leaves, so an operator can find every tool still using it.
//!
//! - [`record`]: what a line holds, and the helpers that fill it without secrets.
//! - [`AuditLog`] (here): the append-only writer, reopened for logrotate, with the failure policy.
//! - `out`: where its lines go (file, standard output, a writer) and how one is appended.
//! - [`report`]: aggregation per caller, for `deprecation-shim report` and `/deprecations`.
//!
//! A line is written by one `write_all` of the whole line under a mutex, on a file opened with
//! `O_APPEND`, so lines never interleave, also with another process appending to the same file.
//! With `telemetry.logs`, each line written is then also exported as an OTLP log record
//! ([`crate::telemetry::logs`]): after the write, never blocking it.

pub mod coalesce;
pub mod forwarded;
mod out;
pub mod record;
pub mod report;
mod windowed;

pub use record::{basic_auth_user, request_id, AuditRecord, ModuleChange, Outcome};

use crate::config::{self, AuditFailure};
use crate::error::{ApiError, Blame};
use crate::locks::lock;
use crate::metrics::Metrics;
use http::StatusCode;
use out::{open_out, Inner, Out};
use report::Summary;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The tracing target of audit problems.
pub const TARGET: &str = "audit";

/// Why a record was not written. `Display` says what failed; the cause is in `source()`.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open audit log {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write audit log {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot encode audit record")]
    Encode(#[source] serde_json::Error),
    #[error("audit writer task did not finish")]
    Task(#[source] tokio::task::JoinError),
}

/// The reply when a call is refused because its audit record cannot be written
/// (`audit.on_write_failure = "fail"`): 503 `audit_unavailable`, blamed on the shim.
pub fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "audit_unavailable",
        "the audit record of this call cannot be written, so the call is refused; retry later",
    )
    .blamed_on(Blame::Shim)
}

/// The audit log of the process. Cheap to share (`Arc`); [`write`](Self::write) is safe to call
/// from many tasks at once.
pub struct AuditLog {
    inner: Arc<Mutex<Inner>>,
    metrics: Arc<Metrics>,
    summary: Mutex<Summary>,
    last_failed: AtomicBool,
    /// Unverified callers' repeated failures, counted until their interval ends (issue 20).
    coalescer: Mutex<coalesce::Coalescer>,
    /// The statistics routes' calls, counted per caller until their window ends (R18).
    windows: Mutex<coalesce::Coalescer>,
    /// When the coalescer's due intervals were last written.
    swept: Mutex<Instant>,
}

/// How often a write also writes the coalesced records whose interval is over (a background
/// tick does it too, [`AuditLog::write_due`], for quiet times).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

impl AuditLog {
    /// Opens the log described by the configuration: no path → disabled (records still feed
    /// the live summary), `-` → standard output, else a file opened for appending (created
    /// when missing).
    pub fn open(cfg: &config::Audit, metrics: Arc<Metrics>) -> Result<AuditLog, AuditError> {
        let inner = Inner {
            out: open_out(cfg.path.as_deref(), cfg.file_mode)?,
            mode: cfg.file_mode,
            fsync: cfg.fsync,
            policy: cfg.on_write_failure,
            torn: false,
        };
        Ok(AuditLog::with_inner(inner, metrics))
    }

    /// A log whose lines go to `writer` (one `write_all` per record), under `policy`: for
    /// embedding the shim, and for tests that need a disk failing on cue.
    pub fn to_writer(
        writer: Box<dyn Write + Send>,
        policy: AuditFailure,
        metrics: Arc<Metrics>,
    ) -> AuditLog {
        AuditLog::with_inner(Inner::unconfigured(Out::Writer(writer), policy), metrics)
    }

    /// A disabled log (tests, and configurations without `[audit] path`).
    pub fn disabled(metrics: Arc<Metrics>) -> AuditLog {
        let inner = Inner::unconfigured(Out::Disabled, AuditFailure::Continue);
        AuditLog::with_inner(inner, metrics)
    }

    fn with_inner(inner: Inner, metrics: Arc<Metrics>) -> AuditLog {
        AuditLog {
            inner: Arc::new(Mutex::new(inner)),
            metrics,
            summary: Mutex::new(Summary::live()),
            last_failed: AtomicBool::new(false),
            coalescer: Mutex::new(coalesce::Coalescer::default()),
            windows: Mutex::new(coalesce::Coalescer::bounded(coalesce::MAX_WINDOW_KEYS)),
            swept: Mutex::new(Instant::now()),
        }
    }

    /// Writes one record as one line and returns once it is in the file (and on disk, with
    /// `fsync`). On failure the error is logged at ERROR on the `audit` target and counted;
    /// the caller then applies [`must_fail`](Self::must_fail).
    pub async fn write(&self, rec: &AuditRecord) -> Result<(), AuditError> {
        lock(&self.summary).record(rec);
        self.commit(rec, rec).await
    }

    /// Writes the outcome record of a deprecated call, or counts it into its caller's
    /// coalesced record when it is an unverified caller's failure and no intent was written
    /// for it (`intent`; see [`coalesce`]). The live summary counts it either way.
    pub async fn write_outcome(&self, rec: &AuditRecord, intent: bool) -> Result<(), AuditError> {
        self.write_counted(rec, intent, None).await
    }

    async fn write_counted(
        &self,
        rec: &AuditRecord,
        intent: bool,
        window: Option<Duration>,
    ) -> Result<(), AuditError> {
        lock(&self.summary).record(rec);
        let now = Instant::now();
        self.sweep_if_due(now).await;
        let counted = match window {
            Some(window) if !intent && rec.record.is_none() => {
                !lock(&self.windows).offer_for(rec, now, window)
            }
            Some(_) => false,
            None => {
                coalesce::Coalescer::applies(rec, intent) && !lock(&self.coalescer).offer(rec, now)
            }
        };
        if counted {
            self.metrics.audit_coalesced();
            return Ok(());
        }
        self.commit(rec, rec).await
    }

    /// Writes the coalesced records whose interval is over.
    pub async fn write_due(&self) {
        let now = Instant::now();
        let mut due = lock(&self.coalescer).due(now);
        due.extend(lock(&self.windows).due(now));
        for rec in due {
            let _ = self.commit(&rec, &rec).await;
        }
    }

    /// Writes every open coalesced record now (a graceful stop, a reload).
    pub async fn write_open(&self) {
        let mut open = lock(&self.coalescer).drain();
        open.extend(lock(&self.windows).drain());
        for rec in open {
            let _ = self.commit(&rec, &rec).await;
        }
    }

    /// Coalescing keys open now (the bound's proof in tests).
    pub fn coalescing(&self) -> usize {
        lock(&self.coalescer).open_keys() + lock(&self.windows).open_keys()
    }

    /// Writes the intent record of a state-changing call before it is sent (issue 20): a line
    /// like [`write`](Self::write)'s, counted and logged the same way on failure, but not a
    /// call of the live summary (its outcome record will be).
    pub async fn write_intent(&self, rec: &AuditRecord) -> Result<(), AuditError> {
        self.commit(&rec.intent(), rec).await
    }

    /// Writes `line`, remembers whether it failed, counts it; a failure is logged at ERROR with
    /// the call's request id (from `call`).
    async fn commit(&self, line: &AuditRecord, call: &AuditRecord) -> Result<(), AuditError> {
        let result = self.write_line(line).await;
        self.last_failed.store(result.is_err(), Ordering::Relaxed);
        match &result {
            Ok(written) => {
                self.metrics.audit_written();
                // After the line is in the file, never instead of it (`telemetry::logs`).
                if let Some(bytes) = written {
                    crate::telemetry::logs::emit(line, bytes);
                }
            }
            Err(e) => {
                self.metrics.audit_write_failed();
                tracing::error!(
                    target: TARGET,
                    error = %e,
                    cause = %e.source_text(),
                    request_id = %call.request_id,
                    bdb_uid = ?call.bdb_uid,
                    status = line.status,
                    record = line.record.as_deref().unwrap_or("outcome"),
                    "AUDIT RECORD NOT WRITTEN: a deprecated call is missing from the audit trail"
                );
            }
        }
        result.map(drop)
    }

    /// Writes `rec` as one line; the line written, or `None` when the log is disabled.
    async fn write_line(&self, rec: &AuditRecord) -> Result<Option<Vec<u8>>, AuditError> {
        if matches!(lock(&self.inner).out, Out::Disabled) {
            return Ok(None);
        }
        let line = rec.to_line().map_err(AuditError::Encode)?;
        let inner = self.inner.clone();
        // File I/O blocks (fsync for milliseconds): keep it off the async workers.
        tokio::task::spawn_blocking(move || lock(&inner).append(&line).map(|()| Some(line)))
            .await
            .map_err(AuditError::Task)?
    }

    /// Whether a failed write must fail the request (503 `audit_unavailable`) rather than let
    /// the reply go out unaudited.
    pub fn must_fail(&self) -> bool {
        lock(&self.inner).policy == AuditFailure::Fail
    }

    /// Whether the most recent write failed. With `on_write_failure = "fail"` the proxy checks
    /// this *before* sending the upgrade upstream, so a call that could not be audited is
    /// refused before it changes anything (its refusal is still written, which clears the
    /// flag once the disk recovers).
    pub fn last_write_failed(&self) -> bool {
        self.last_failed.load(Ordering::Relaxed)
    }

    /// Opens the configured path again (after logrotate moved the file): later records go to a
    /// new file there. On failure the old file stays in use.
    pub fn reopen(&self) -> Result<(), AuditError> {
        let mut inner = lock(&self.inner);
        if let Out::File { path, .. } = &inner.out {
            let path = path.clone();
            inner.out = open_out(Some(&path), inner.mode)?;
            inner.torn = false;
            tracing::info!(target: TARGET, path = %path.display(), "audit log reopened");
        }
        Ok(())
    }

    /// Applies a new `[audit]` section (config reload): path, fsync and failure policy. On
    /// failure nothing changes.
    pub fn reconfigure(&self, cfg: &config::Audit) -> Result<(), AuditError> {
        let out = open_out(cfg.path.as_deref(), cfg.file_mode)?;
        let mut inner = lock(&self.inner);
        inner.out = out;
        inner.mode = cfg.file_mode;
        inner.fsync = cfg.fsync;
        inner.policy = cfg.on_write_failure;
        inner.torn = false;
        Ok(())
    }

    /// Where records go: None when disabled, `-` for standard output.
    pub fn path(&self) -> Option<PathBuf> {
        match &lock(&self.inner).out {
            Out::Disabled => None,
            Out::Stdout | Out::Writer(_) => Some(PathBuf::from("-")),
            Out::File { path, .. } => Some(path.clone()),
        }
    }

    /// The live per-caller summary of every record passed to [`write`](Self::write) since start
    /// (written or not), as `/deprecations` shows it.
    pub fn summary(&self) -> report::Report {
        lock(&self.summary).report()
    }

    /// [`summary`](Self::summary) with each rule's schedule at `now` (`/deprecations`).
    pub fn summary_at(
        &self,
        lifecycles: &std::collections::BTreeMap<String, crate::lifecycle::Lifecycle>,
        now: std::time::SystemTime,
    ) -> report::Report {
        lock(&self.summary).report_at(Some(lifecycles), now)
    }
}

/// Reopens the log on SIGHUP and SIGUSR1 (what logrotate's `postrotate` sends) until
/// `shutdown` resolves. A failed reopen is logged and the old file stays in use. The config
/// reload on SIGHUP may also call [`AuditLog::reconfigure`]; both end at the configured path.
#[cfg(unix)]
pub async fn reopen_on_signals(
    log: Arc<AuditLog>,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = hup.recv() => {}
            _ = usr1.recv() => {}
            _ = &mut shutdown => return Ok(()),
        }
        if let Err(e) = log.reopen() {
            tracing::error!(target: TARGET, error = %e, cause = %e.source_text(), "audit log NOT reopened: still writing to the old file");
        }
    }
}

impl AuditError {
    /// The cause chain below this error, for one log line.
    pub fn source_text(&self) -> String {
        let mut parts = Vec::new();
        let mut cur = std::error::Error::source(self);
        while let Some(e) = cur {
            parts.push(e.to_string());
            cur = e.source();
        }
        parts.join(": ")
    }
}
