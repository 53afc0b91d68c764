//! Step 2 of the envelope ([`super::envelope`]): the call's audit record begun from its head
//! and its rule, and the intent record a state-changing call writes before its step sends
//! anything (issue 20).

use super::Shape;
use crate::audit::{self, AuditRecord};
use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::rules::Matched;
use std::time::SystemTime;

/// Step 2: the call's audit record, started from its head and its rule, and its request id (the caller's
/// `X-Request-Id`, or a new one).
pub(super) fn begin_record(
    app: &App,
    conn: &ConnInfo,
    parts: &http::request::Parts,
    matched: &Matched<'_>,
    shape: &Shape<'_>,
) -> (AuditRecord, String) {
    let request_id = audit::request_id(&parts.headers);
    let audit_cfg = &app.config.audit;
    let mut record = AuditRecord::begin(
        SystemTime::now(),
        &request_id,
        conn.peer.ip(),
        &parts.method,
        shape.route,
        &parts.headers,
        audit_cfg.trust_forwarded_for,
    );
    record.instance = Some(app.config.instance.clone());
    record.forwarded_client = audit::forwarded::client(
        conn.peer.ip(),
        &parts.headers,
        audit_cfg.trust_forwarded_for,
        &audit_cfg.trusted_proxies,
    )
    .map(|ip| ip.to_string());
    record.rule = Some(matched.rule.name.clone());
    record.trace_id = crate::telemetry::trace_id(&parts.headers);
    if shape.records_bdb {
        record.bdb_uid = matched
            .params
            .int("uid")
            .or_else(|| matched.params.int("bdb_uid"));
    }
    (record, request_id)
}

/// The intent record of a state-changing call, written before the step sends anything of its
/// own (issue 20): if it cannot be written and `audit.on_write_failure = "fail"`, the call is
/// refused and nothing is sent; with `continue` it goes on (the failure is logged and counted).
pub(super) async fn intent(app: &App, record: &AuditRecord) -> Result<(), ApiError> {
    match app.audit.write_intent(record).await {
        Err(_) if app.audit.must_fail() => Err(audit::unavailable()),
        _ => Ok(()),
    }
}
