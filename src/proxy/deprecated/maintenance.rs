//! R17 on the request path: `POST /v1/nodes/{uid}/actions/maintenance_on` with
//! `keep_slave_shards` gets `evict_ha_replica` / `evict_active_active_replica` instead
//! (API-CATALOGUE §7; the pure core is [`crate::rules::maintenance`]).
//!
//! Decisions:
//! - The body (at most 64 KiB, reserved against `shim.max_buffered_bodies`) is read by the
//!   envelope before the lifecycle gate ([`pre_read`]): R17's deprecated form is a body with
//!   `keep_slave_shards`, and a call without it is no business of the rule's lifecycle. A larger
//!   body is `413 request_too_large` (the contract lets it stream untouched; a maintenance body
//!   is a handful of booleans, so the shim does not keep a second path for that).
//! - Every other key is copied, `Content-Length` recomputed; the POST is sent once, never
//!   retried. A body the table leaves untouched goes as it came, audited with the reason.
//! - The audit `detail` gets `keep_slave_shards`, the `evict_*` values the cluster received and
//!   `untouched` (the reason, when untouched). The reply's `task_id` is not read: the reply
//!   streams through as the cluster sent it.

use super::authorize::Login;
use super::rewrite::send_bytes;
use super::step::{Answer, CallBody, Ctx, Note, StepResult};
use crate::error::ApiError;
use crate::proxy::app::App;
use crate::rules::maintenance::{self, Audit, Decision};
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::HeaderValue;
use hyper::body::Incoming;
use serde_json::{json, Value};

/// Reads the body before the gate; `Some` when it has the deprecated form.
pub(super) async fn pre_read(
    app: &App,
    parts: &Parts,
    body: Incoming,
) -> (Result<CallBody, ApiError>, Option<Login>) {
    let name = "of POST /v1/nodes/{uid}/actions/maintenance_on (64 KiB)";
    let read =
        super::body::read_small(app, &parts.headers, body, maintenance::MAX_BODY, name).await;
    let (bytes, reservation) = match read {
        Ok(read) => read,
        Err(e) => return (Err(e), None),
    };
    let form = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .is_some_and(|v| v.get(maintenance::KEEP_SLAVE_SHARDS).is_some());
    let login = form.then_some(Login { verify_with: None });
    (Ok(CallBody::Read(bytes, reservation)), login)
}

fn detail(audit: &Audit, untouched: Option<&str>) -> Value {
    json!({
        "keep_slave_shards": audit.keep_slave_shards,
        "evict_ha_replica": audit.evict_ha_replica,
        "evict_active_active_replica": audit.evict_active_active_replica,
        "untouched": untouched,
    })
}

/// R17's step.
pub async fn run(ctx: &Ctx<'_>, mut parts: Parts, body: CallBody, note: &mut Note) -> StepResult {
    note.as_it_came();
    // Always read by the envelope before the gate (`rules::form_in_body`).
    let (bytes, _reservation) = body.read()?;
    ctx.admit()?;
    match maintenance::plan(&bytes) {
        Decision::Rewrite { body, audit } => {
            parts
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            drop(bytes);
            let resp = send_bytes(ctx.app, ctx.conn, parts, body.into(), None).await;
            note.translated(detail(&audit, None));
            Ok(Answer::Reply(resp))
        }
        Decision::Untouched { reason, audit } => {
            note.detail = Some(detail(&audit, Some(reason.as_str())));
            Ok(Answer::Reply(
                send_bytes(ctx.app, ctx.conn, parts, bytes, None).await,
            ))
        }
    }
}
