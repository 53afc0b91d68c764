//! The one envelope every deprecated call lives through, whatever its rule (Pingora's fixed
//! phases; `docs/DECISIONS.md`, "The envelope"):
//!
//! 1. **match**: the rule is matched again on the request this task owns;
//! 2. **begin** the audit record ([`begin_record`], in `begin.rs`); a state-changing call gets its **intent
//!    record** ([`intent`]) here, before anything of its own is sent upstream, the gate's
//!    verification included (or already in [`super::dispatch`], before a version look-up);
//! 3. the **lifecycle gate** ([`super::lifecycle::gate`]): a refusal ends the call here, audited;
//! 4. **admission**: the address's bound of unverified calls (a refusal arrives as `refused`),
//!    the audit log's health in `fail` mode, and the call's place among
//!    `shim.max_concurrent_calls` (taken by the step once its body has arrived when it reads it
//!    whole);
//! 5. **the rule's own step** ([`Step::run`](super::Step)), which returns an [`Answer`] or an
//!    [`ApiError`] and notes what the record should say ([`Note`]);
//! 6. the **deprecation headers** ([`marks::mark`]);
//! 7. the **outcome**: the audit record, the metrics and the one log line ([`super::outcome`]),
//!    always and exactly once, whatever happened above: a panic in a step becomes a `500
//!    internal_error` in the RS shape, audited.
//!
//! Decisions:
//! - Errors become replies here and only here ([`error_response`]); an error that asks for
//!   `Retry-After` (an overload, a 503 brownout, an unknown cluster version) carries it
//!   whichever step refused ([`ApiError::retry_after`]).
//! - The audit record is on disk before the reply leaves. A record that cannot be written does
//!   not change the reply of a call that already ran (the failure is logged at ERROR with the
//!   request id and counted by the audit log); with `audit.on_write_failure = "fail"` the *next*
//!   calls are refused before anything is sent.

use super::begin::{begin_record, intent};
use super::step::{Answer, CallBody, Ctx, Note};
use super::{lifecycle, marks, outcome, Decided, Family, Shape, Step};
use crate::audit::{self, AuditRecord};
use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::budget;
use crate::proxy::forward;
use crate::proxy::reply::{error_response, RespBody};
use crate::rules::{Matched, RuleId};
use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{Either, Full};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// How a call entered (see [`super::Entry`]): refused by its address's bound of unverified
/// calls, its credentials' fingerprint (remembered as verified once the cluster accepts them),
/// and its place among `shim.max_concurrent_calls`, not yet taken.
pub(super) struct Entered {
    pub refused: Option<ApiError>,
    pub fingerprint: Option<crate::proxy::callers::Fingerprint>,
    pub admission: budget::Admission,
    /// Its intent record is written: dispatch did, before a version look-up (issue 20).
    pub intended: bool,
    /// Its caller, when the quiet lane may learn it from this call ([`super::quiet`]).
    pub quiet: Option<super::quiet::Who>,
    /// What the field rules found in its body ([`super::fields`]).
    pub fields: Option<Box<super::fields::Found>>,
}

/// Runs one deprecated call of rule `rule` (its index in the table) through the envelope, as
/// `step`; its body still streaming, or already read (a field rule's hit, [`super::fields`]).
/// Spawned by [`super::start`].
pub(super) async fn run(
    app: Arc<App>,
    conn: ConnInfo,
    (parts, body): (http::request::Parts, CallBody),
    rule: usize,
    decided: Decided,
    entered: Entered,
) -> Response<RespBody> {
    let step = decided.step;
    let started = Instant::now();
    let pq = parts
        .uri
        .path_and_query()
        .map_or_else(String::new, |pq| pq.as_str().to_owned());
    // 1. The table changed under a reload between classification and now: send it as it came.
    let Some(matched) = app.config.rules.table.match_rule(rule, &parts.method, &pq) else {
        return match body {
            CallBody::Stream(body) => {
                forward::in_call(&app, conn, Request::from_parts(parts, body)).await
            }
            CallBody::Read(bytes, _reservation) => {
                super::rewrite::send_bytes(&app, &conn, parts, bytes, None).await
            }
        };
    };
    let shape = step.shape(&matched);
    // 2.
    let (mut record, request_id) = begin_record(&app, &conn, &parts, &matched, &shape);
    record.cluster_version = decided.seen.audit_text();
    // 3. and 4.
    let Entered {
        refused,
        fingerprint,
        admission,
        intended,
        quiet,
        fields,
    } = entered;
    // R1's, R13's and R17's bodies are read before the gate: they say the call's form and who
    // logs in (issue 20; `rules::form_in_body`).
    let (body, login) = match (&refused, matched.rule.id, body) {
        (None, RuleId::Authorize, CallBody::Stream(body)) => {
            super::authorize::pre_read(&app, &parts, body, decided.seen.version(), &mut record)
                .await
        }
        (None, RuleId::UsersPassword, CallBody::Stream(body)) => {
            super::users_password::pre_read(&app, &parts, body, &mut record).await
        }
        (None, RuleId::MaintenanceKeepSlaveShards, CallBody::Stream(body)) => {
            super::maintenance::pre_read(&app, &parts, body).await
        }
        (_, _, body) => (Ok(body), None),
    };
    // The intent record precedes the call's own first request upstream, the gate's
    // verification included (dispatch wrote it already when a version look-up came first).
    let mut intended = intended;
    let refused = match refused {
        None if !intended && body.is_ok() && step.changes_state(&matched, &parts) => {
            intended = true;
            intent(&app, &record).await.err()
        }
        other => other,
    };
    let deprecated_form = crate::rules::deprecated_form(matched.rule, login.is_some());
    let gated = match (&refused, &body, shape.gated && deprecated_form) {
        (None, Ok(_), true) => {
            let verify_with = login.as_ref().and_then(|l| l.verify_with.clone());
            let head = (&parts, verify_with.as_ref());
            lifecycle::gate(&app, &matched.rule.name, &conn, head, &mut record).await
        }
        _ => None,
    };
    // Issue 20: a step that reads its body whole takes its place once the body has arrived.
    let arrived = matches!(body, Ok(CallBody::Read(..)));
    let place = (arrived || !step.reads_body_first(&matched)).then_some(&admission);
    let admitted = admit(&app, refused, gated.as_ref(), place, body).await;
    let mut call = Call {
        app: &app,
        conn: &conn,
        matched: &matched,
        request_id: &request_id,
        admission: &admission,
        fingerprint,
        intended,
        quiet,
        step,
        seen: decided.seen,
        shape,
        gated,
        prerefused: admitted.is_err(),
        // A built step's time on the cluster is measured, refusals included (as zero).
        note: Note {
            upstream_time: (shape.family == Family::Built).then_some(Duration::ZERO),
            fields,
            ..Note::default()
        },
        started,
    };
    // 5.
    let result = match admitted {
        Err(e) => Err(e),
        Ok(body) => call.run_step(parts, body).await,
    };
    call.close(result, &mut record).await
}

/// One call inside the envelope, once its record is begun and its admission decided.
struct Call<'a> {
    app: &'a Arc<App>,
    conn: &'a ConnInfo,
    matched: &'a Matched<'a>,
    request_id: &'a str,
    admission: &'a budget::Admission,
    fingerprint: Option<crate::proxy::callers::Fingerprint>,
    /// An intent record was (to be) written: the outcome then gets its own line.
    intended: bool,
    quiet: Option<super::quiet::Who>,
    step: Step,
    seen: crate::rules::version::Seen,
    shape: Shape<'a>,
    gated: Option<lifecycle::Gated>,
    /// Refused before the step ran (admission, audit health, lifecycle).
    prerefused: bool,
    note: Note,
    started: Instant,
}

impl Call<'_> {
    /// Step 5: the rule's own step; a panic in it is answered and audited as `internal_error`.
    async fn run_step(
        &mut self,
        parts: http::request::Parts,
        body: CallBody,
    ) -> Result<Answer, ApiError> {
        let ctx = Ctx {
            app: self.app,
            conn: self.conn,
            matched: self.matched,
            request_id: self.request_id,
            version: self.seen.version(),
            admission: self.admission,
        };
        // Boxed: the steps' states are large, and the envelope's own future stays small.
        let step = Box::pin(self.step.run(&ctx, parts, body, &mut self.note));
        let result = AssertUnwindSafe(step)
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(panicked()));
        match result {
            Err(e) if e.error_code == budget::INTERRUPTED => {
                self.app.work.count_interrupted();
                Err(budget::interrupted_error(self.note.action_uid.as_deref()))
            }
            other => other,
        }
    }

    /// Steps 7 then 6: the outcome (record on disk before the reply leaves, metrics, log line),
    /// then the reply with its marks, `Retry-After` and request id.
    async fn close(
        mut self,
        result: Result<Answer, ApiError>,
        record: &mut AuditRecord,
    ) -> Response<RespBody> {
        let (mut resp, error) = reply(result);
        record.redirected = crate::upstream::watch::taken();
        let note = &self.note;
        match self.shape.family {
            Family::Built => outcome::finish_built(record, error.as_ref(), note, self.started),
            Family::Streamed => outcome::finish_streamed(
                record,
                resp.status(),
                error.as_ref(),
                self.prerefused,
                note,
                self.started,
            ),
        }
        let download = note.download && resp.status().is_success();
        match resp.body_mut() {
            // Issue 20: a download's record waits for the end of its body.
            Either::Left(body) if download => {
                let (app, rec, intended) = (self.app.clone(), record.clone(), self.intended);
                body.on_end(move |sent, end| {
                    outcome::download_ended(app, rec, sent, end, intended);
                });
                outcome::count(self.app, record, note);
            }
            _ => {
                let write = outcome::write_and_count(self.app, record, note, self.intended);
                write
                    .instrument(crate::telemetry::local_span("audit write"))
                    .await;
                // Observed and counted as the lane would count the caller's next calls.
                if let Some(who) = self.quiet.take().filter(|_| {
                    error.is_none() && !self.prerefused && note.action == Some("observed")
                }) {
                    self.app.quiet.learn(self.app, who, record);
                }
            }
        }
        if let Some(fp) = self.fingerprint.filter(|_| record.verified) {
            self.app.callers.mark_verified(fp);
        }
        if let Some(g) = &self.gated {
            g.count(self.app, record);
        }
        crate::telemetry::close_call(record, self.matched.rule.mode.as_str());
        let elapsed = self.started.elapsed();
        outcome::log(
            self.app,
            record,
            self.conn,
            note,
            self.shape.successor,
            elapsed,
        );
        let how = marks::MarkAs {
            refused_by_lifecycle: self
                .gated
                .as_ref()
                .and_then(lifecycle::Gated::refusal)
                .is_some(),
            unmarked: note.unmarked || self.step == Step::Observe { mark: false },
            gone: self.step == Step::Gone,
        };
        let headers = resp.headers_mut();
        let successor = self.note.successor.take();
        marks::mark(
            self.app,
            self.matched,
            self.shape.marks,
            how,
            successor,
            headers,
        );
        if let Ok(v) = HeaderValue::from_str(self.request_id) {
            headers.insert(audit::record::REQUEST_ID_HEADER, v);
        }
        resp
    }
}

/// Steps 3 and 4: the call goes on to its step with its body, or is refused here: over its
/// address's bound of unverified calls (`refused`), because it could not be audited, by the
/// rule's lifecycle (its body then read and dropped, never forwarded), or over
/// `shim.max_concurrent_calls` when it takes its `place` now (a step that reads its body whole
/// takes it itself, once the body has arrived).
async fn admit(
    app: &App,
    refused: Option<ApiError>,
    gated: Option<&lifecycle::Gated>,
    place: Option<&budget::Admission>,
    body: Result<CallBody, ApiError>,
) -> Result<CallBody, ApiError> {
    if let Some(e) = refused {
        return Err(e);
    }
    let body = body?;
    if app.audit.must_fail() && app.audit.last_write_failed() {
        // Refuse before anything changes on the cluster: this call could not be audited.
        return Err(audit::unavailable());
    }
    if let Some(r) = gated.and_then(lifecycle::Gated::refusal) {
        if let CallBody::Stream(body) = body {
            super::body::discard(body, app.config.shim.max_body_size, app).await;
        }
        return Err(r.to_api_error());
    }
    if let Some(place) = place {
        place.take()?;
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

#[cfg(test)]
#[path = "envelope_tests.rs"]
mod tests;
