//! Step 7 of the envelope ([`super::envelope`]): the call's outcome, written once whatever
//! happened: the audit record finished, written and counted, the upstream time measured, and the
//! one deprecation log line (target `deprecation`).
//!
//! Decisions:
//! - Two ways to read an outcome, by the step's [`Family`](super::Family):
//!   - *built* (module upgrade, R4/R5: the shim builds the reply): the record names the error's
//!     own `error_code` and blame; the call is `refused` when it failed before the cluster
//!     started anything (no action) and not by the cluster's fault, else `translated`;
//!   - *streamed* (observe, rewrite, gone, the built-in rewrites: the cluster's reply streams
//!     through): the record names the step's own `error_code` when the step refused, else the
//!     HTTP status of a non-2xx reply, blamed by its class; `verified` follows the status of a
//!     reply the cluster gave.
//! - Only a user the cluster accepted gets a metrics series of its own: junk credentials cannot
//!   fill the series cap (they all count as "unverified").
//! - The log line is INFO, or WARN near the rule's Sunset (or without a lifecycle), naming the
//!   days left; every text in it can come from the caller or the cluster and is escaped.

use super::step::Note;
use crate::audit::{self, AuditRecord};
use crate::error::{ApiError, Blame};
use crate::escape::Escaped;
use crate::listener::ConnInfo;
use crate::metrics::RouteClass;
use crate::proxy::app::App;
use crate::proxy::budget;
use crate::upstream::StreamEnd;
use http::StatusCode;
use std::time::{Duration, Instant};

/// The tracing target of the per-call deprecation line.
pub const TARGET: &str = "deprecation";

/// Finishes the record of a call whose reply the shim built.
pub(super) fn finish_built(
    record: &mut AuditRecord,
    error: Option<&ApiError>,
    note: &Note,
    started: Instant,
) {
    record.verified = note.verified;
    record.modules.clone_from(&note.modules);
    record.action_uid.clone_from(&note.action_uid);
    let elapsed = started.elapsed();
    match error {
        None => record.finish(StatusCode::OK, None, None, elapsed),
        Some(e) => record.finish(e.status, Some(&e.error_code), Some(e.blame), elapsed),
    }
    // Refused: the shim answered without the cluster acting on the call.
    let refused = error.is_some_and(|e| note.action_uid.is_none() && e.blame != Blame::Upstream);
    record.rule_action = Some(if refused { "refused" } else { "translated" }.to_owned());
    if error.is_some_and(|e| e.error_code == budget::INTERRUPTED) {
        record.outcome = audit::Outcome::Interrupted;
    }
    if error.is_some_and(|e| e.error_code == crate::rules::recover::OUTCOME_UNKNOWN) {
        record.outcome = audit::Outcome::Unknown;
    }
}

/// Finishes the record of a call whose reply streamed from the cluster (or was refused):
/// `prerefused` when the envelope refused it before the step ran.
pub(super) fn finish_streamed(
    record: &mut AuditRecord,
    status: StatusCode,
    error: Option<&ApiError>,
    prerefused: bool,
    note: &Note,
    started: Instant,
) {
    let own_code = error.filter(|_| !prerefused).map(|e| e.error_code.clone());
    let action = if error.is_some() {
        "refused"
    } else {
        note.action.unwrap_or("observed")
    };
    record.rule_action = Some(action.to_owned());
    record.detail.clone_from(&note.detail);
    if note.user.is_some() {
        record.user.clone_from(&note.user);
    }
    // A call answered by the shim alone (gone, refused) was never checked by the cluster: it
    // counts as unverified.
    record.verified = note.sent
        && !matches!(status.as_u16(), 401 | 403)
        && !status.is_server_error()
        && own_code.is_none();
    let error_code =
        own_code.or_else(|| (!status.is_success()).then(|| status.as_str().to_owned()));
    let blame = if status.is_server_error() {
        Some(Blame::Upstream)
    } else if status.is_client_error() {
        Some(Blame::Client)
    } else {
        None
    };
    record.finish(status, error_code.as_deref(), blame, started.elapsed());
}

/// Writes the finished record (or counts it into its coalesced record: an unverified caller's
/// failure without an intent, `intent` false; see [`crate::audit::coalesce`]) and counts the
/// call by rule, caller and outcome. A failed write is logged (ERROR, with the request id) and
/// counted by the audit log itself.
pub(super) async fn write_and_count(app: &App, record: &AuditRecord, note: &Note, intent: bool) {
    let _ = if windowed(record) {
        let window = app.config.rules.stats.audit_window;
        app.audit.write_windowed(record, intent, window).await
    } else {
        app.audit.write_outcome(record, intent).await
    };
    count(app, record, note);
}

/// Whether the record is of a high-rate observed rule whose audit counts calls per caller and
/// window (R18, [`crate::audit::AuditLog::write_windowed`]).
fn windowed(record: &AuditRecord) -> bool {
    record.rule.as_deref() == Some(STATS_RULE)
}

/// R18's rule name.
const STATS_RULE: &str = "stats_v1";

/// Counts the call by rule, caller and outcome (and its time on the cluster).
pub(super) fn count(app: &App, record: &AuditRecord, note: &Note) {
    app.metrics.rule_call(
        record.rule.as_deref(),
        record.verified,
        record.user.as_deref(),
        record.user_agent.as_deref(),
    );
    app.metrics
        .rule_outcome(record.rule.as_deref(), record.error_code.as_deref());
    if let Some(t) = note.upstream_time {
        app.metrics.upstream_latency(RouteClass::Deprecated, t);
    }
}

/// The one deprecation log line of a call; `successor` adds "migrate this caller to …".
pub(super) fn log(
    app: &App,
    record: &AuditRecord,
    conn: &ConnInfo,
    note: &Note,
    successor: Option<&str>,
    elapsed: Duration,
) {
    let (warn, days) = super::lifecycle::loudness(app, record.rule.as_deref().unwrap_or(""));
    let days_left = super::lifecycle::days_left_text(days);
    let migrate = successor
        .map(|s| format!("; migrate this caller to {s}"))
        .unwrap_or_default();
    let upstream = note.upstream_time.unwrap_or_default();
    let modules = if note.log_modules.is_empty() {
        "-"
    } else {
        note.log_modules.as_str()
    };
    macro_rules! line { ($level:expr) => { tracing::event!(
        target: TARGET,
        $level,
        request_id = %Escaped(&record.request_id),
        client = %conn.peer,
        user = %Escaped(record.user.as_deref().unwrap_or("-")),
        user_agent = %Escaped(record.user_agent.as_deref().unwrap_or("-")),
        rule = %Escaped(record.rule.as_deref().unwrap_or("-")),
        action = %Escaped(record.rule_action.as_deref().unwrap_or("-")),
        bdb = record.bdb_uid,
        module = %Escaped(modules),
        action_uid = %Escaped(record.action_uid.as_deref().unwrap_or("-")),
        status = record.status,
        error_code = %Escaped(record.error_code.as_deref().unwrap_or("-")),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        shim_ms = elapsed.saturating_sub(upstream).as_secs_f64() * 1000.0,
        phase = %record.phase.as_deref().unwrap_or("-"),
        "deprecated route {} {} called{migrate}{days_left}",
        Escaped(&record.method),
        Escaped(&record.route),
    ) } }
    if windowed(record) {
        // R18: the call's own line is DEBUG; a summary per caller per hour (§8.2).
        line!(tracing::Level::DEBUG);
        stats_summary(app, record, &super::stats::caller_key(record));
    } else if warn {
        line!(tracing::Level::WARN);
    } else {
        line!(tracing::Level::INFO);
    }
    for w in &note.warnings {
        tracing::warn!(target: TARGET, request_id = %Escaped(&record.request_id), "{}", Escaped(w));
    }
}

/// R18: counts a call of the caller `key` (whose latest record is `record`) and says their
/// summary line when one is due.
pub(super) fn stats_summary(app: &App, record: &AuditRecord, key: &str) {
    if let Some(calls) = app.stats_log.count(key, std::time::Instant::now()) {
        let (warn, _) = super::lifecycle::loudness(app, record.rule.as_deref().unwrap_or(""));
        super::stats::say(record, calls, warn);
    }
}

/// A download's record once its body has ended (see [`super::debuginfo`]): `bytes_sent` in its
/// `detail`, and the outcome of a body the client abandoned or the cluster broke off. Written
/// by a tracked task, so a graceful stop waits for it.
pub(super) fn download_ended(
    app: std::sync::Arc<App>,
    mut record: AuditRecord,
    sent: u64,
    end: StreamEnd,
    intent: bool,
) {
    match end {
        StreamEnd::Complete => {}
        StreamEnd::Abandoned => {
            record.outcome = audit::Outcome::ClientError;
            record.error_code = Some("download_abandoned".to_owned());
        }
        StreamEnd::Failed => {
            record.outcome = audit::Outcome::UpstreamError;
            record.error_code = Some("download_failed".to_owned());
        }
    }
    if let Some(serde_json::Value::Object(detail)) = record.detail.as_mut() {
        detail.insert("bytes_sent".to_owned(), sent.into());
    }
    if tokio::runtime::Handle::try_current().is_err() {
        tracing::error!(target: audit::TARGET, request_id = %record.request_id, "AUDIT RECORD NOT WRITTEN: a download ended outside the runtime");
        return;
    }
    let work = app.work.clone();
    work.spawn((), async move {
        let _ = app.audit.write_outcome(&record, intent).await;
    });
}
