//! R7–R10 on the request path: the `/v1/debuginfo/...` routes sent to their successors
//! (API-RULES §5.3; the pure core is [`crate::rules::debuginfo`]).
//!
//! Decisions:
//! - Streamed, never buffered or re-compressed: the caller's (empty) body and the cluster's
//!   tarball flow through as frames; `Content-Type`, `Content-Length`, `Content-Disposition`
//!   are passed unchanged (only hop-by-hop fields are removed, as on any pass-through).
//! - `rules.debuginfo_read_timeout` (default 900 s) bounds the wait for the reply head, which
//!   is when the cluster builds the package; once the head is in, the package streams with no
//!   further timeout, like any pass-through body.
//! - R9 (`/v1/debuginfo/node`): `GET /v1/bootstrap` with the caller's identity, then
//!   `GET /v1/nodes/{uid}/debuginfo`. Both go through the shared pool, which hands out its most
//!   recently idle connection first (LIFO), and the look-up's reply is read whole before the
//!   second call, so in sequence the second call normally rides the same connection, hence the
//!   same node. Not guaranteed: another request may take that connection in between, or the
//!   cluster may close it, and an upstream address that load-balances across nodes breaks the
//!   assumption altogether (set `node_debuginfo = "passthrough"` there). A look-up without a
//!   node uid (refused, failed, unreadable) passes the old path through, audited as observed.
//! - The audit gets the old and new paths, `bdb_uid`, `node_uid` and the package size when the
//!   cluster declared one (`bytes`, its `Content-Length`); never the content. Issue 20: a
//!   successful download's record is written when its body has ended, with `bytes_sent`; a
//!   client that goes away before the end is audited `client_error` / `download_abandoned`, a
//!   cluster that breaks off `upstream_error` / `download_failed` (the envelope's
//!   [`super::outcome::download_ended`]). The reply head has left by then: this record alone
//!   follows its reply instead of preceding it.

use super::step::{Answer, CallBody, Ctx, Note, StepResult};
use crate::proxy::forward;
use crate::rules::debuginfo::{self, Plan};
use crate::upstream::{CallerBody, UpBody};
use http::request::Parts;
use http::{Method, StatusCode, Uri};
use http_body_util::Either;
use hyper::body::Incoming;
use serde_json::json;

/// R7–R10's step: the old path sent to its successor, streamed both ways.
pub async fn run(ctx: &Ctx<'_>, mut parts: Parts, body: Incoming, note: &mut Note) -> StepResult {
    let (app, matched) = (ctx.app, ctx.matched);
    note.as_it_came();
    let old_path = parts.uri.path().to_owned();
    let planned = match debuginfo::plan(matched, &old_path) {
        Some(Plan::Rewrite {
            path_and_query,
            audit,
        }) => Some((path_and_query, audit)),
        Some(Plan::ResolveNode { mut audit }) => {
            let headers = super::version::look_up_headers(app, ctx.conn, &mut parts.headers);
            let path = debuginfo::BOOTSTRAP;
            let read = || app.upstream.call(Method::GET, path, &headers, None);
            let looked = crate::telemetry::in_call("node look-up", &Method::GET, path, read).await;
            let uid = match looked {
                Ok(f) if f.status == StatusCode::OK => debuginfo::node_uid(&f.body),
                _ => None,
            };
            uid.map(|uid| {
                audit.node_uid = Some(uid);
                audit.new_path = Some(debuginfo::node_path(uid, None));
                (debuginfo::node_path(uid, matched.query), audit)
            })
        }
        None => None,
    };
    // Without a plan or a usable target, the old path passes through, observed.
    let Some((uri, mut audit)) =
        planned.and_then(|(pq, audit)| Some((pq.parse::<Uri>().ok()?, audit)))
    else {
        return Ok(ctx.pass_through(parts, CallBody::Stream(body)).await);
    };
    parts.uri = uri;
    let timeout = Some(app.config.rules.debuginfo_read_timeout);
    let body: UpBody = Either::Left(CallerBody::new(body, app.config.listen.body_idle_timeout));
    let resp = forward::send_rewritten(app, ctx.conn.clone(), parts, body, timeout).await;
    let resp = resp.unwrap_or_else(|e| crate::proxy::reply::error_response(&e));
    let bytes = resp
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let successor = audit.new_path.take();
    note.download = true;
    note.successor.clone_from(&successor);
    note.translated(json!({
        "old_path": audit.old_path,
        "new_path": successor,
        "bdb_uid": audit.bdb_uid,
        "node_uid": audit.node_uid,
        "bytes": bytes,
    }));
    Ok(Answer::Reply(resp))
}
