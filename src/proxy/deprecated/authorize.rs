//! R1 on the request path: `POST /v1/users/authorize` with body credentials gets a Basic
//! `Authorization` header built from them (API-RULES §2.7; the pure core is
//! [`crate::rules::authorize`]).
//!
//! Decisions:
//! - The body (at most 64 KiB, reserved against `shim.max_buffered_bodies`) is read within
//!   `listen.body_idle_timeout` of silence, by the envelope before the lifecycle gate (issue
//!   20: R1's deprecated form is a login in the body, and the audit and exemptions name the
//!   user whose credentials the cluster checks, see [`super::envelope`]); a larger one is
//!   `413 request_too_large`.
//! - A request with any `Authorization` is sent untouched, unmarked, with the body as read.
//! - The version is the cached one ([`super::version`]); authorize never sends a look-up.
//! - The reply's status and body pass through verbatim; the marks are added only when the
//!   header was added. The audit gets `user`, `ttl` and `translated`; never the password, the
//!   header or the `access_token` (the reply body is never read).

use super::rewrite::{send_bytes, with_login};
use super::step::{Answer, CallBody, Ctx, Note, StepResult};
use crate::audit::AuditRecord;
use crate::error::ApiError;
use crate::proxy::app::App;
use crate::rules::authorize::{self, Body, Decision};
use http::request::Parts;
use http::HeaderValue;
use hyper::body::Incoming;
use serde_json::json;

/// R1's step: header added from the body's credentials, or the call sent as it came.
pub async fn run(ctx: &Ctx<'_>, mut parts: Parts, body: CallBody, note: &mut Note) -> StepResult {
    let app = ctx.app;
    note.as_it_came();
    let (bytes, _reservation) = match body {
        CallBody::Read(bytes, reservation) => (bytes, reservation),
        CallBody::Stream(body) => read(app, &parts.headers, body).await?,
    };
    ctx.admit()?;
    if authorize::forwards_untouched(&parts.headers) {
        return Ok(Answer::Reply(
            send_bytes(app, ctx.conn, parts, bytes, None).await,
        ));
    }
    match authorize::plan(&bytes, ctx.version) {
        Decision::Forward => Ok(Answer::Reply(
            send_bytes(app, ctx.conn, parts, bytes, None).await,
        )),
        Decision::Refuse { error, audit } => {
            note.user = Some(audit.user.clone());
            note.detail = Some(json!({"user": audit.user, "ttl": audit.ttl, "translated": false}));
            Err(error)
        }
        Decision::Send {
            authorization,
            body,
            audit,
        } => {
            let rewritten = match body {
                Body::Original => None,
                Body::Rewritten(b) => Some(b),
            };
            let bytes = with_login(&mut parts, authorization.header_value(), rewritten, bytes);
            let resp = send_bytes(app, ctx.conn, parts, bytes, None).await;
            note.user = Some(audit.user.clone());
            note.translated(json!({"user": audit.user, "ttl": audit.ttl, "translated": true}));
            Ok(Answer::Reply(resp))
        }
    }
}

/// Reads R1's body whole (64 KiB at most): the envelope does it before the gate.
pub async fn read(
    app: &App,
    headers: &http::HeaderMap,
    body: Incoming,
) -> Result<(bytes::Bytes, crate::proxy::budget::Reservation), crate::error::ApiError> {
    let name = "of POST /v1/users/authorize (64 KiB)";
    super::body::read_small(app, headers, body, authorize::MAX_BODY, name).await
}

/// A login read from R1's body before the gate (issue 20).
pub(super) struct Login {
    /// The body's credentials, when the cluster checks them rather than the header's: what a
    /// user exemption is verified with.
    pub verify_with: Option<HeaderValue>,
}

/// Reads R1's body before the gate. When it carries a login whose credentials the cluster
/// checks ([`crate::rules::authorize::body_is_checked`]), the record names that user (claimed,
/// verified later by the cluster's answer) and the exemption check uses those credentials.
pub(super) async fn pre_read(
    app: &App,
    parts: &http::request::Parts,
    body: Incoming,
    version: Option<crate::rules::Version>,
    record: &mut AuditRecord,
) -> (Result<CallBody, ApiError>, Option<Login>) {
    let (bytes, reservation) = match read(app, &parts.headers, body).await {
        Ok(read) => read,
        Err(e) => return (Err(e), None),
    };
    let login = authorize::body_login(&bytes).map(|login| {
        let has_header = parts.headers.contains_key(http::header::AUTHORIZATION);
        let checked = authorize::body_is_checked(has_header, version);
        if checked {
            record.user = Some(login.user.clone());
        }
        Login {
            verify_with: login
                .credentials
                .filter(|_| checked)
                .map(|c| c.header_value()),
        }
    });
    (Ok(CallBody::Read(bytes, reservation)), login)
}
