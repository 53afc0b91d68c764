//! The one envelope every deprecated call lives through, whatever its rule (Pingora's fixed
//! phases; `docs/DECISIONS.md`, "The envelope"):
//!
//! 1. **match**: the rule is matched again on the request this task owns;
//! 2. **begin** the audit record ([`begin_record`]);
//! 3. the **lifecycle gate** ([`super::lifecycle::gate`]): a refusal ends the call here, audited;
//! 4. **admission**: the call permit taken by [`super::start`] (a refusal arrives as `refused`),
//!    and the audit log's health in `fail` mode;
//! 5. **the rule's own step** ([`Step::run`](super::Step)), which returns an [`Answer`] or an
//!    [`ApiError`] and notes what the record should say ([`Note`]);
//! 6. the **deprecation headers** ([`mark`]);
//! 7. the **outcome**: the audit record, the metrics and the one log line ([`super::outcome`]),
//!    always and exactly once, whatever happened above: a panic in a step becomes a `500
//!    internal_error` in the RS shape, audited.
//!
//! Decisions:
//! - Errors become replies here and only here ([`error_response`]); a `503 shim_overloaded`
//!   carries `Retry-After` whichever step refused, a lifecycle refusal its own.
//! - The audit record is on disk before the reply leaves. A record that cannot be written does
//!   not change the reply of a call that already ran (the failure is logged at ERROR with the
//!   request id and counted by the audit log); with `audit.on_write_failure = "fail"` the *next*
//!   calls are refused before anything is sent.

use super::{lifecycle, outcome, Family, Marks, Step};
use crate::audit::{self, AuditRecord, ModuleChange};
use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::budget;
use crate::proxy::forward;
use crate::proxy::hop_headers::Hop;
use crate::proxy::reply::{error_response, RespBody};
use crate::rules::Matched;
use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use serde_json::Value;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// What a step answers when it does not fail.
pub enum Answer {
    /// `200` with this JSON body (the old route's reply shape).
    Json(Value),
    /// `200` with an empty body.
    Empty,
    /// A reply as it is (the cluster's, streamed; or one the step built).
    Reply(Response<RespBody>),
}

/// What a step tells the audit record, the log line and the marks, filled in as it advances so
/// that a call that fails half-way (or is interrupted) still reports what was known.
#[derive(Debug, Default)]
pub struct Note {
    /// Set once the cluster accepted the caller's `Authorization` on a call the step made
    /// ([`accepted`]).
    pub verified: bool,
    /// Whether the call itself reached the cluster (streamed steps: `verified` then follows
    /// the reply's status).
    pub sent: bool,
    /// The record's `rule_action` when the step chose it (streamed steps).
    pub action: Option<&'static str>,
    /// The step's own `error_code` when it refused (streamed steps).
    pub own_code: Option<String>,
    /// The reply gets none of the rule's marks.
    pub unmarked: bool,
    /// The `Link` successor when the rule's template cannot say it (R9's node uid).
    pub successor: Option<String>,
    /// The caller's user name when the step learned it (R1: from the body).
    pub user: Option<String>,
    /// The record's `detail` (names only, never a secret).
    pub detail: Option<Value>,
    pub modules: Vec<ModuleChange>,
    pub action_uid: Option<String>,
    /// What the log line names as the module(s) touched.
    pub log_modules: String,
    /// Extra WARN lines after the call's log line (pre-validation findings).
    pub warnings: Vec<String>,
    /// Time spent on the cluster by a step that measures it (`None`: not measured).
    pub upstream_time: Option<Duration>,
}

impl Note {
    /// The call was rewritten as the rule says: `translated`, marked, with this `detail`.
    pub fn translated(&mut self, detail: Value) {
        self.action = Some("translated");
        self.unmarked = false;
        self.detail = Some(detail);
    }

    /// Counts `d` as time spent on the cluster.
    pub fn add_upstream(&mut self, d: Duration) {
        *self.upstream_time.get_or_insert(Duration::ZERO) += d;
    }
}

/// Whether the cluster accepted the caller's `Authorization` (carried in `identity`) when it
/// answered `status`: anything but 401/403 (and a 5xx, which a node can give before checking
/// anything) means the credentials were accepted, and the audit's `user` is then verified.
pub fn accepted(identity: &HeaderMap, status: StatusCode) -> bool {
    identity.contains_key(http::header::AUTHORIZATION)
        && !status.is_server_error()
        && !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
}

/// What a step works with besides the request itself.
pub struct Ctx<'a> {
    pub app: &'a Arc<App>,
    pub conn: &'a ConnInfo,
    pub matched: &'a Matched<'a>,
    pub request_id: &'a str,
}

impl Ctx<'_> {
    /// The caller's identity for the shim's own upstream calls ([`identity_headers`]).
    pub fn identity(&self, caller: &HeaderMap) -> HeaderMap {
        let hop = Hop {
            client_ip: self.conn.peer.ip(),
            tls: self.conn.tls,
            host: None,
        };
        identity_headers(self.app, caller, hop, self.request_id)
    }

    /// `work`, cut short at the end of `shim.shutdown_grace` (the envelope then audits the call
    /// as interrupted). For steps that wait on the cluster after changing it.
    pub async fn interruptible<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        tokio::select! {
            biased;
            r = work => r,
            () = self.app.work.interrupted() => Err(budget::interrupted_error(None)),
        }
    }
}

/// Runs one deprecated call of rule `rule` (its index in the table) through the envelope, as
/// `step`. Spawned by [`super::start`]; `refused` is its admission refusal, if any.
pub(super) async fn run(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
    rule: usize,
    step: Step,
    refused: Option<ApiError>,
) -> Response<RespBody> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let pq = parts
        .uri
        .path_and_query()
        .map_or_else(String::new, |pq| pq.as_str().to_owned());
    // 1. The table changed under a reload between classification and now: stream it.
    let Some(matched) = app.config.rules.table.match_rule(rule, &parts.method, &pq) else {
        return forward::pass_through(&app, conn, Request::from_parts(parts, body)).await;
    };
    let shape = step.shape(&matched);
    // 2.
    let (mut record, request_id) = begin_record(&app, &conn, &parts, shape.route);
    record.rule = Some(matched.rule.name.clone());
    if shape.records_bdb {
        record.bdb_uid = matched
            .params
            .int("uid")
            .or_else(|| matched.params.int("bdb_uid"));
    }
    // 3. and 4.
    let lifecycle = match (&refused, shape.gated) {
        (None, true) => lifecycle::gate(&app, &matched.rule.name, &conn, &parts, &mut record).await,
        _ => None,
    };
    let admitted = admit(&app, refused, lifecycle.as_ref(), body).await;
    let prerefused = admitted.is_err();
    // A built step's time on the cluster is measured, refusals included (as zero).
    let mut note = Note {
        upstream_time: (shape.family == Family::Built).then_some(Duration::ZERO),
        ..Note::default()
    };
    // 5.
    let result = match admitted {
        Err(e) => Err(e),
        Ok(body) => {
            let ctx = Ctx {
                app: &app,
                conn: &conn,
                matched: &matched,
                request_id: &request_id,
            };
            AssertUnwindSafe(step.run(&ctx, parts, body, &mut note))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(panicked()))
        }
    };
    let result = match result {
        Err(e) if e.error_code == budget::INTERRUPTED => {
            app.work.count_interrupted();
            Err(budget::interrupted_error(note.action_uid.as_deref()))
        }
        other => other,
    };
    let retry_after = match (&result, &lifecycle) {
        (Err(_), Some(r)) => r.retry_after_header(),
        (Err(e), None) => budget::retry_after(e).map(|s| s.to_string()),
        _ => None,
    };
    let (mut resp, error) = reply(result);
    // 7. (the record first: it is on disk before the reply leaves)
    match shape.family {
        Family::Built => outcome::finish_built(&mut record, error.as_ref(), &note, started),
        Family::Streamed => outcome::finish_streamed(
            &mut record,
            resp.status(),
            error.as_ref(),
            prerefused,
            &note,
            started,
        ),
    }
    outcome::write_and_count(&app, &record, &note).await;
    outcome::log(
        &app,
        &record,
        &conn,
        &note,
        shape.successor,
        started.elapsed(),
    );
    // 6.
    let how = MarkAs {
        refused_by_lifecycle: lifecycle.is_some(),
        unmarked: note.unmarked || step == Step::Observe { mark: false },
        gone: step == Step::Gone,
    };
    let headers = resp.headers_mut();
    mark(
        &app,
        &matched,
        shape.marks,
        how,
        note.successor.take(),
        headers,
    );
    if let Some(v) = retry_after.and_then(|s| HeaderValue::from_str(&s).ok()) {
        headers.insert(http::header::RETRY_AFTER, v);
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(audit::record::REQUEST_ID_HEADER, v);
    }
    resp
}

/// Steps 3 and 4: the call goes on to its step with its body, or is refused here: over
/// `shim.max_concurrent_calls` (`refused`), because it could not be audited, or by the rule's
/// lifecycle (its body then read and dropped, never forwarded).
async fn admit(
    app: &App,
    refused: Option<ApiError>,
    lifecycle: Option<&crate::lifecycle::Refusal>,
    body: Incoming,
) -> Result<Incoming, ApiError> {
    if let Some(e) = refused {
        return Err(e);
    }
    if app.audit.must_fail() && app.audit.last_write_failed() {
        // Refuse before anything changes on the cluster: this call could not be audited.
        return Err(audit::unavailable());
    }
    if let Some(r) = lifecycle {
        discard(body, app.config.shim.max_body_size, app).await;
        return Err(r.to_api_error());
    }
    Ok(body)
}

/// The reply of a step's result, and its error.
fn reply(result: Result<Answer, ApiError>) -> (Response<RespBody>, Option<ApiError>) {
    match result {
        Ok(Answer::Json(v)) => {
            let body = Bytes::from(serde_json::to_vec(&v).unwrap_or_default());
            let resp = crate::error::json_response::<Full<Bytes>>(StatusCode::OK, body);
            (resp.map(Either::Right), None)
        }
        Ok(Answer::Empty) => (Response::new(Either::Right(Full::new(Bytes::new()))), None),
        Ok(Answer::Reply(r)) => (r, None),
        Err(e) => (error_response(&e), Some(e)),
    }
}

/// The `500` of a step that panicked: the call is still answered and audited.
fn panicked() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "the deprecated-route handler failed",
    )
}

/// How the reply is to be marked.
struct MarkAs {
    refused_by_lifecycle: bool,
    unmarked: bool,
    gone: bool,
}

/// Step 6: the rule's `Deprecation` / `Link` / `Sunset` marks on the reply, errors included: the
/// seed route's configured headers, the rule's own, or its gone band's for R4/R5 on 8.x.
/// A lifecycle refusal always carries the rule's marks (its successor `Link`).
fn mark(
    app: &App,
    matched: &Matched<'_>,
    marks: Marks,
    how: MarkAs,
    successor: Option<String>,
    headers: &mut HeaderMap,
) {
    let rule = matched.rule;
    match marks {
        Marks::None => {}
        Marks::Seed => app
            .config
            .shim
            .headers
            .apply(headers, matched.params.int("uid")),
        Marks::Rule if how.refused_by_lifecycle => {
            rule.marks
                .apply(headers, matched.successor_path().as_deref());
        }
        Marks::Rule if how.unmarked => {}
        Marks::Rule => match (&rule.gone_band, how.gone) {
            (Some(band), true) => {
                let successor = band.successor.render(&matched.params);
                band.marks.apply(headers, successor.as_deref());
            }
            _ => rule.marks.apply(
                headers,
                successor.or_else(|| matched.successor_path()).as_deref(),
            ),
        },
    }
}

/// The call's audit record, started from its head, and its request id (the caller's
/// `X-Request-Id`, or a new one).
fn begin_record(
    app: &App,
    conn: &ConnInfo,
    parts: &http::request::Parts,
    route: &str,
) -> (AuditRecord, String) {
    let request_id = audit::request_id(&parts.headers);
    let audit_cfg = &app.config.audit;
    let mut record = AuditRecord::begin(
        SystemTime::now(),
        &request_id,
        conn.peer.ip(),
        &parts.method,
        route,
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
    (record, request_id)
}

/// The headers that carry the caller's identity on the shim's own upstream calls.
pub fn identity_headers(
    app: &App,
    caller: &HeaderMap,
    hop: Hop<'_>,
    request_id: &str,
) -> HeaderMap {
    use crate::proxy::hop_headers::{add_forwarding, X_FORWARDED_FOR};
    let mut out = HeaderMap::new();
    if let Some(auth) = caller.get(http::header::AUTHORIZATION) {
        out.insert(http::header::AUTHORIZATION, auth.clone());
    }
    // As on pass-through: the caller's chain is kept, and the caller appended when configured.
    for v in caller.get_all(&X_FORWARDED_FOR) {
        out.append(X_FORWARDED_FOR.clone(), v.clone());
    }
    let rules = crate::config::Forwarding {
        x_forwarded_proto: false,
        x_forwarded_host: false,
        ..app.config.forwarding
    };
    add_forwarding(&mut out, hop, rules);
    if let Ok(id) = HeaderValue::from_str(request_id) {
        out.insert(audit::record::REQUEST_ID_HEADER, id);
    }
    out
}

/// Reads and drops up to `limit` bytes of a body that is answered without being forwarded,
/// within the upstream request timeout, so that a keep-alive connection stays usable for a
/// small body; a larger or slower one is left unread (hyper then closes the connection).
pub(super) async fn discard(mut body: Incoming, limit: usize, app: &App) {
    use http_body_util::BodyExt;
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
