//! The streaming steps of the executor: `observe` (the call streams through untouched, audited,
//! marked when the cluster's version is at or past the route's deprecation), `rewrite` (the
//! same, sent to the successor path) and `gone` (`410 route_removed` naming the successor; the
//! body is read and discarded up to the limit and never forwarded).
//!
//! Decisions:
//! - Each call holds a place among `shim.max_concurrent_calls` and its connection's slot while
//!   it runs (issue 11), like a translated call; over the bound it is refused with 503, audited.
//! - The audit record is written when the reply head is known and before it leaves; the body
//!   streams afterwards and is never buffered.
//! - An audited pass-through cannot name who the cluster accepted beyond its status: `verified`
//!   is set when the cluster answered other than 401/403/5xx, as for translated calls.

use super::endpoint::begin_record;
use crate::audit::{self, AuditRecord};
use crate::error::{ApiError, Blame};
use crate::listener::ConnInfo;
use crate::metrics::InFlight;
use crate::proxy::app::App;
use crate::proxy::forward;
use crate::proxy::reply::{error_response, RespBody};
use crate::rules::{self, Matched, RuleId};
use http::{Request, Response, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// What to do with an audited call that is not a module-upgrade translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Stream through untouched; add the rule's marks when `mark`.
    Observe { mark: bool },
    /// Stream to the rule's successor path (an operator `rewrite` rule), marked.
    Rewrite,
    /// Answer `410 route_removed` without calling the cluster, marked.
    Gone,
    /// A built-in rewrite rule (R1, R3, R7–R10, [`super::rewrite`]), decided at `version`.
    Translate { version: Option<rules::Version> },
}

impl Step {
    fn audit_word(self) -> &'static str {
        match self {
            Step::Observe { .. } => "observed",
            Step::Rewrite | Step::Translate { .. } => "translated",
            Step::Gone => "gone",
        }
    }
}

/// Runs one audited call of rule `rule` (its index in the table) in its own task, holding the
/// connection's slot, a call permit and `in_flight` until it ends.
pub fn handle(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
    rule: usize,
    step: Step,
    in_flight: Option<InFlight>,
) -> impl Future<Output = Response<RespBody>> + Send + 'static {
    super::start(app.work.clone(), conn, in_flight, move |conn, refused| {
        run(app, conn, req, rule, step, refused)
    })
}

async fn run(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
    rule: usize,
    step: Step,
    refused: Option<ApiError>,
) -> Response<RespBody> {
    let started = Instant::now();
    let (mut parts, body) = req.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(String::new, |pq| pq.as_str().to_owned());
    let table = &app.config.rules.table;
    let Some(matched) = table.match_rule(rule, &parts.method, &path_and_query) else {
        // The table changed under a reload between classification and now: stream it.
        return forward::pass_through(&app, conn, Request::from_parts(parts, body)).await;
    };
    let (mut record, request_id) =
        begin_record(&app, &conn, &parts, matched.rule.matcher.path.as_str());
    record.rule = Some(matched.rule.name.clone());
    record.bdb_uid = matched
        .params
        .int("uid")
        .or_else(|| matched.params.int("bdb_uid"));

    let (mut marked_as, mut successor, mut own_code) = (step, None, None);
    // Whether the cluster saw the call (and so could verify its credentials).
    let mut sent = false;
    // A gone step is refused anyway: its answer is the rule's, not a brownout's.
    let lifecycle_refusal = match (&refused, step) {
        (None, Step::Observe { .. } | Step::Rewrite | Step::Translate { .. }) => {
            super::lifecycle::gate(&app, &matched.rule.name, &conn, &parts, &mut record).await
        }
        _ => None,
    };
    let mut resp = if let Some(e) = refused {
        record.rule_action = Some("refused".into());
        error_response(&e)
    } else if app.audit.must_fail() && app.audit.last_write_failed() {
        record.rule_action = Some("refused".into());
        error_response(&audit::unavailable())
    } else if let Some(r) = &lifecycle_refusal {
        record.rule_action = Some("refused".into());
        discard(body, app.config.shim.max_body_size, &app).await;
        super::lifecycle::reply(r)
    } else {
        record.rule_action = Some(step.audit_word().into());
        match step {
            Step::Gone => {
                discard(body, app.config.shim.max_body_size, &app).await;
                error_response(&gone_error(&matched))
            }
            Step::Translate { version } => {
                sent = true;
                let done = super::rewrite::apply(&app, &conn, parts, body, &matched, version).await;
                record.rule_action = Some(done.action.into());
                record.detail = done.detail;
                if done.user.is_some() {
                    record.user = done.user;
                }
                if !done.mark {
                    marked_as = Step::Observe { mark: false };
                }
                successor = done.successor;
                own_code = done.error_code;
                done.resp
            }
            Step::Observe { .. } | Step::Rewrite => {
                if step == Step::Rewrite {
                    if let Some(uri) =
                        rules::custom::rewrite_path(&matched).and_then(|p| p.parse::<Uri>().ok())
                    {
                        parts.uri = uri;
                    }
                }
                sent = true;
                let req = Request::from_parts(parts, body);
                forward::pass_through(&app, conn.clone(), req).await
            }
        }
    };
    let status = resp.status();
    // A call answered by the shim alone (gone, refused) was never checked by the cluster: it
    // counts as unverified, so junk credentials cannot use up the metrics' caller series.
    record.verified = sent
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
    write_and_count(&app, &record).await;
    log_call(&app, &record, &conn, started);
    // A refusal carries the rule's marks (successor `Link`, `Deprecation`, `Sunset`).
    match lifecycle_refusal {
        Some(_) => mark(
            &matched,
            Step::Observe { mark: true },
            None,
            resp.headers_mut(),
        ),
        None => mark(&matched, marked_as, successor, resp.headers_mut()),
    }
    if let Ok(v) = http::HeaderValue::from_str(&request_id) {
        resp.headers_mut()
            .insert(audit::record::REQUEST_ID_HEADER, v);
    }
    resp
}

/// Writes the finished record and counts the call by rule, caller and outcome. The call has
/// already reached the cluster (or been answered): a failed write is logged and counted by the
/// audit log itself.
pub(super) async fn write_and_count(app: &App, record: &AuditRecord) {
    let _ = app.audit.write(record).await;
    app.metrics.rule_call(
        record.rule.as_deref(),
        record.verified,
        record.user.as_deref(),
        record.user_agent.as_deref(),
    );
    app.metrics
        .rule_outcome(record.rule.as_deref(), record.error_code.as_deref());
}

/// The rule's marks on the reply: its own, or its gone band's for R4/R5 on 8.x.
fn mark(
    matched: &Matched<'_>,
    step: Step,
    successor: Option<String>,
    headers: &mut http::HeaderMap,
) {
    let rule = matched.rule;
    match (step, &rule.gone_band) {
        (Step::Observe { mark: false }, _) => {}
        (Step::Gone, Some(band)) => {
            let successor = band.successor.render(&matched.params);
            band.marks.apply(headers, successor.as_deref());
        }
        _ => rule.marks.apply(
            headers,
            successor.or_else(|| matched.successor_path()).as_deref(),
        ),
    }
}

/// The `410` of a gone rule (API-RULES §4.8 for R6, §5 for R10, operator rules).
fn gone_error(matched: &Matched<'_>) -> ApiError {
    match matched.rule.id {
        RuleId::ModuleUpload => rules::modules::gone(true),
        RuleId::ModuleDelete => rules::modules::gone(false),
        RuleId::DebuginfoNodeBdb => rules::debuginfo::gone(),
        _ => rules::custom::gone(matched),
    }
}

/// Reads and drops up to `limit` bytes of a body that is answered without being forwarded,
/// within the upstream request timeout, so that a keep-alive connection stays usable for a
/// small body; a larger or slower one is left unread (hyper then closes the connection).
pub(super) async fn discard(mut body: Incoming, limit: usize, app: &App) {
    let read = async {
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return };
            if let Some(data) = frame.data_ref() {
                seen = seen.saturating_add(data.len());
                if seen > limit {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(app.config.upstream.request_timeout, read).await;
}

fn log_call(app: &App, record: &AuditRecord, conn: &ConnInfo, started: Instant) {
    log_deprecated_call(app, record, conn, started.elapsed(), None, "");
}

/// The one deprecation log line of an audited call (target `deprecation`): INFO, or WARN near
/// the rule's Sunset (or without a lifecycle), naming the days left; `successor` adds "migrate
/// this caller to …". Every caller-controlled value is escaped.
pub(super) fn log_deprecated_call(
    app: &App,
    record: &AuditRecord,
    conn: &ConnInfo,
    elapsed: std::time::Duration,
    successor: Option<&str>,
    module: &str,
) {
    use crate::escape::Escaped;
    let (warn, days) = super::lifecycle::loudness(app, record.rule.as_deref().unwrap_or(""));
    let days_left = super::lifecycle::days_left_text(days);
    let migrate = successor
        .map(|s| format!("; migrate this caller to {s}"))
        .unwrap_or_default();
    macro_rules! line { ($level:expr) => { tracing::event!(
        target: super::endpoint::TARGET,
        $level,
        request_id = %Escaped(&record.request_id),
        client = %conn.peer,
        user = %Escaped(record.user.as_deref().unwrap_or("-")),
        user_agent = %Escaped(record.user_agent.as_deref().unwrap_or("-")),
        rule = %Escaped(record.rule.as_deref().unwrap_or("-")),
        action = %Escaped(record.rule_action.as_deref().unwrap_or("-")),
        module = %Escaped(if module.is_empty() { "-" } else { module }),
        action_uid = %Escaped(record.action_uid.as_deref().unwrap_or("-")),
        status = record.status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        phase = %record.phase.as_deref().unwrap_or("-"),
        "deprecated route {} {} called{migrate}{days_left}",
        Escaped(&record.method),
        Escaped(&record.route),
    ) } }
    if warn {
        line!(tracing::Level::WARN);
    } else {
        line!(tracing::Level::INFO);
    }
}
