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
//!   cluster declared one (`bytes`, its `Content-Length`); never the content.

use super::rewrite::Done;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::forward;
use crate::rules::debuginfo::{self, Plan};
use crate::rules::Matched;
use crate::upstream::{CallerBody, UpBody};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::Either;
use hyper::body::Incoming;
use serde_json::json;
use std::sync::Arc;

pub async fn run(
    app: &Arc<App>,
    conn: &ConnInfo,
    mut parts: http::request::Parts,
    body: Incoming,
    matched: &Matched<'_>,
) -> Done {
    let old_path = parts.uri.path().to_owned();
    let (path_and_query, mut audit) = match debuginfo::plan(matched, &old_path) {
        Some(Plan::Rewrite {
            path_and_query,
            audit,
        }) => (path_and_query, audit),
        Some(Plan::ResolveNode { mut audit }) => {
            let headers = super::version::look_up_headers(app, conn, &mut parts.headers);
            let looked = app
                .upstream
                .call(Method::GET, debuginfo::BOOTSTRAP, &headers, None)
                .await;
            let uid = match looked {
                Ok(f) if f.status == StatusCode::OK => debuginfo::node_uid(&f.body),
                _ => None,
            };
            let Some(uid) = uid else {
                let req = Request::from_parts(parts, body);
                return Done::observed(forward::pass_through(app, conn.clone(), req).await);
            };
            audit.node_uid = Some(uid);
            let path = debuginfo::node_path(uid, matched.query);
            audit.new_path = Some(debuginfo::node_path(uid, None));
            (path, audit)
        }
        None => {
            let req = Request::from_parts(parts, body);
            return Done::observed(forward::pass_through(app, conn.clone(), req).await);
        }
    };
    match path_and_query.parse::<Uri>() {
        Ok(uri) => parts.uri = uri,
        Err(_) => {
            let req = Request::from_parts(parts, body);
            return Done::observed(forward::pass_through(app, conn.clone(), req).await);
        }
    }
    let timeout = Some(app.config.rules.debuginfo_read_timeout);
    let body: UpBody = Either::Left(CallerBody::new(body));
    let resp = forward::send_rewritten(app, conn.clone(), parts, body, timeout).await;
    let resp = resp.unwrap_or_else(|e| crate::proxy::reply::error_response(&e));
    let bytes = resp
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let successor = audit.new_path.take();
    Done {
        successor: successor.clone(),
        ..Done::translated(
            resp,
            json!({
                "old_path": audit.old_path,
                "new_path": successor,
                "bdb_uid": audit.bdb_uid,
                "node_uid": audit.node_uid,
                "bytes": bytes,
            }),
        )
    }
}
