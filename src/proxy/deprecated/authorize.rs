//! R1 on the request path: `POST /v1/users/authorize` with body credentials gets a Basic
//! `Authorization` header built from them (API-RULES §2.7; the pure core is
//! [`crate::rules::authorize`]).
//!
//! Decisions:
//! - A request with any `Authorization` streams through untouched, unmarked, body unread.
//! - The body (at most 64 KiB, reserved against `shim.max_buffered_bodies`) is read within
//!   `listen.body_idle_timeout` of silence; a larger one is `413 request_too_large`.
//! - The version is the cached one ([`super::version`]); authorize never sends a look-up.
//! - The reply's status and body pass through verbatim; the marks are added only when the
//!   header was added. The audit gets `user`, `ttl` and `translated`; never the password, the
//!   header or the `access_token` (the reply body is never read).

use super::rewrite::{read_whole, send_bytes};
use super::step::{Answer, Ctx, Note, StepResult};
use crate::rules::authorize::{self, Body, Decision};
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::request::Parts;
use http::HeaderValue;
use hyper::body::Incoming;
use serde_json::json;

/// R1's step: header added from the body's credentials, or the call sent as it came.
pub async fn run(ctx: &Ctx<'_>, mut parts: Parts, body: Incoming, note: &mut Note) -> StepResult {
    let app = ctx.app;
    note.as_it_came();
    if authorize::forwards_untouched(&parts.headers) {
        ctx.admit()?;
        return Ok(ctx.pass_through(parts, body).await);
    }
    let (bytes, _reservation) = read_whole(
        ctx,
        &parts.headers,
        body,
        authorize::MAX_BODY,
        "of POST /v1/users/authorize (64 KiB)",
    )
    .await?;
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
            parts
                .headers
                .insert(AUTHORIZATION, authorization.header_value());
            let bytes = match body {
                Body::Original => bytes,
                Body::Rewritten(b) => {
                    parts
                        .headers
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    b.into()
                }
            };
            let resp = send_bytes(app, ctx.conn, parts, bytes, None).await;
            note.user = Some(audit.user.clone());
            note.translated(json!({"user": audit.user, "ttl": audit.ttl, "translated": true}));
            Ok(Answer::Reply(resp))
        }
    }
}
