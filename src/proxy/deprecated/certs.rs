//! R3 on the request path: `PUT /v1/cluster/update_cert` → `PUT /v1/cluster/certificates`
//! with `{"certificates":[<old body>]}` (API-RULES §3.6; the pure core is
//! [`crate::rules::certs`]).
//!
//! Decisions:
//! - The body (at most 1 MiB, reserved against `shim.max_buffered_bodies`) is read within
//!   `listen.body_idle_timeout` of silence; a larger one is `413 request_too_large`.
//! - Both the rewritten call and a body that is not a JSON object (sent to the old route as it
//!   came) wait up to `rules.certificates_timeout` (default 900 s, the OpenAPI
//!   `x-timeout-seconds`) for the reply head. The PUT is sent once, never retried (§1.7).
//! - The query string is kept. Status and body pass through.
//! - The audit gets `name` and `key_present`; never the PEM text.

use super::rewrite::{read_whole, send_bytes};
use super::step::{Answer, Ctx, Note, StepResult};
use crate::rules::certs::{self, Decision};
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderValue, Uri};
use hyper::body::Incoming;
use serde_json::json;

/// R3's step: the old body wrapped and sent to the successor, or sent as it came.
pub async fn run(ctx: &Ctx<'_>, mut parts: Parts, body: Incoming, note: &mut Note) -> StepResult {
    let app = ctx.app;
    note.as_it_came();
    let (bytes, _reservation) = read_whole(
        ctx,
        &parts.headers,
        body,
        certs::MAX_BODY,
        "of PUT /v1/cluster/update_cert (1 MiB)",
    )
    .await?;
    let timeout = Some(app.config.rules.certificates_timeout);
    match certs::plan(&bytes) {
        Decision::Forward => Ok(Answer::Reply(
            send_bytes(app, ctx.conn, parts, bytes, timeout).await,
        )),
        Decision::Send { body, audit } => {
            let target = match parts.uri.query() {
                Some(q) => format!("{}?{q}", certs::SUCCESSOR),
                None => certs::SUCCESSOR.to_owned(),
            };
            if let Ok(uri) = target.parse::<Uri>() {
                parts.uri = uri;
            }
            parts
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            drop(bytes);
            let resp = send_bytes(app, ctx.conn, parts, body.into(), timeout).await;
            note.translated(json!({"name": audit.name, "key_present": audit.key_present}));
            Ok(Answer::Reply(resp))
        }
    }
}
