//! The audit records as OTLP log records (`telemetry.logs = true`; issue 24 item 5): every line
//! the audit writer puts in the JSONL file is also emitted as one log record, after the write.
//! The file stays the record of truth (`docs/TELEMETRY.md`).
//!
//! Decisions:
//! - Through the SDK's logs API (an `SdkLogger` whose provider's one processor is our
//!   [`super::queue::Queue`]) rather than calling the `LogExporter` ourselves: the SDK's log
//!   record can only be built by a logger, and the provider hands the exporter its resource and
//!   scope. The same shape as traces (a tracer provider with our span processor), so both
//!   signals share one queue, one drop counter and one WARN clock.
//! - Emitted after the line is written and only when it was (a disabled audit log exports
//!   nothing); emitting is a `try_send`, no await and no lock of the writer's, so a collector
//!   that is down, slow or refusing changes nothing in the file or the reply. A record the
//!   queue cannot take is counted in `deprecation_shim_telemetry_dropped_total{signal="logs"}`.
//! - The body is the line itself, without its newline: a string that parses to the same JSON as
//!   the file's line, so the log store holds exactly what the file holds (never a secret: the
//!   record holds none, `crate::audit::record`).
//! - Attributes, to filter without parsing the body: `rule`, `outcome`,
//!   `http.response.status_code`, `request_id`, `error_code`, `record` (`intent`, `coalesced`)
//!   and `enduser.id`, the user name only once the cluster verified it (as on the call's span).
//! - Severity WARN for a call answered 5xx or refused by its lifecycle (phase `refused`): what an
//!   operator alerts on; INFO otherwise.
//! - Trace context: the record's `trace_id`, and the current span's id (the `audit write` span)
//!   when it belongs to that trace; a record written by the background tick (a coalesced one)
//!   has the trace id only. The timestamp is the write's; the record's `ts` stays in the body.

use crate::audit::AuditRecord;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry::trace::{SpanId, TraceContextExt, TraceFlags, TraceId};
use opentelemetry_sdk::logs::SdkLogger;
use std::sync::OnceLock;
use std::time::SystemTime;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The event name of every exported audit record.
pub const EVENT_NAME: &str = "deprecation_shim.audit";

/// Set once by [`super::init`] when `telemetry.logs` is on.
static LOGGER: OnceLock<SdkLogger> = OnceLock::new();

pub(super) fn install(logger: SdkLogger) {
    let _ = LOGGER.set(logger);
}

/// Whether audit records are exported as log records.
#[inline]
pub fn on() -> bool {
    LOGGER.get().is_some()
}

/// Exports `rec`, whose `line` (as [`AuditRecord::to_line`] encoded it) was just written. A
/// no-op when off.
pub fn emit(rec: &AuditRecord, line: &[u8]) {
    let Some(logger) = LOGGER.get() else {
        return;
    };
    let mut log = logger.create_log_record();
    log.set_event_name(EVENT_NAME);
    log.set_timestamp(SystemTime::now());
    let (number, text) = severity(rec);
    log.set_severity_number(number);
    log.set_severity_text(text);
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    log.set_body(AnyValue::from(String::from_utf8_lossy(body).into_owned()));
    log.add_attribute("outcome", rec.outcome.as_str());
    log.add_attribute("http.response.status_code", i64::from(rec.status));
    log.add_attribute("request_id", rec.request_id.clone());
    let optional = [
        ("rule", &rec.rule),
        ("error_code", &rec.error_code),
        ("record", &rec.record),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            log.add_attribute(key, value.clone());
        }
    }
    if let (true, Some(user)) = (rec.verified, &rec.user) {
        log.add_attribute("enduser.id", user.clone());
    }
    if let Some((trace_id, span_id, flags)) = trace_context(rec) {
        log.set_trace_context(trace_id, span_id, flags);
    }
    logger.emit(log);
}

/// WARN for a 5xx or a lifecycle refusal, INFO otherwise.
pub fn severity(rec: &AuditRecord) -> (Severity, &'static str) {
    if rec.status >= 500 || rec.phase.as_deref() == Some("refused") {
        (Severity::Warn, "WARN")
    } else {
        (Severity::Info, "INFO")
    }
}

fn trace_context(rec: &AuditRecord) -> Option<(TraceId, SpanId, Option<TraceFlags>)> {
    let trace_id = TraceId::from_hex(rec.trace_id.as_deref()?).ok()?;
    if trace_id == TraceId::INVALID {
        return None;
    }
    let cx = super::current().context();
    let current = cx.span().span_context().clone();
    if current.is_valid() && current.trace_id() == trace_id {
        Some((trace_id, current.span_id(), Some(current.trace_flags())))
    } else {
        Some((trace_id, SpanId::INVALID, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_5xx_are_warnings_the_rest_info() {
        let mut rec = AuditRecord::begin(
            SystemTime::now(),
            "r1",
            std::net::IpAddr::from([127, 0, 0, 1]),
            &http::Method::POST,
            "/v1/modules/upgrade/bdb/{uid}",
            &http::HeaderMap::new(),
            false,
        );
        rec.status = 200;
        assert_eq!(severity(&rec).1, "INFO");
        rec.status = 502;
        assert_eq!(severity(&rec), (Severity::Warn, "WARN"));
        rec.status = 410;
        assert_eq!(severity(&rec).1, "INFO");
        rec.phase = Some("refused".into());
        assert_eq!(severity(&rec).1, "WARN");
    }
}
