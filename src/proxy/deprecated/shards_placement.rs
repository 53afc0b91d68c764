//! R15 on the request path, `translate` only (`auto` observes, API-CATALOGUE §5.3):
//! `GET /v1/bdbs/{uid}/actions/optimize_shards_placement?<query>` →
//! `PUT /v1/bdbs/{uid}/actions/revamp?dry_run=true` with the query as a JSON body (the pure core
//! is [`crate::rules::shards_placement`]).
//!
//! Decisions:
//! - A query the table cannot map goes to the old GET as it came (the shim never refuses here).
//! - `403`, `404` or `409` from revamp (a viewer role, a cluster without revamp, a busy
//!   database where the GET answered) sends the original GET once and relays its answer,
//!   audited `fallback: true`. The dry-run PUT is documented as changing nothing, so this
//!   replays no mutation. Every other answer is relayed, headers included.
//! - `cluster-state-id` is relayed when revamp sends it; when a 200 has none, the audit says
//!   `cluster_state_id: "absent"`. The shim never invents one.
//! - The audit `detail` gets the query pairs (none is a secret), `fallback`, `cluster_state_id`
//!   and the status.

use super::rewrite::send_bytes;
use super::step::{Answer, CallBody, Ctx, Note, StepResult};
use crate::rules::shards_placement;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};
use serde_json::json;

/// The header revamp may send for the follow-up `PUT /v1/bdbs/{uid}` (§5.1).
const CLUSTER_STATE_ID: &str = "cluster-state-id";

/// R15's translation.
pub async fn run(ctx: &Ctx<'_>, parts: Parts, body: CallBody, note: &mut Note) -> StepResult {
    note.as_it_came();
    let query = parts.uri.query().map(str::to_owned);
    let audit = shards_placement::audit(query.as_deref());
    let pairs: Vec<serde_json::Value> = audit.query.iter().map(|(k, v)| json!([k, v])).collect();
    let empty = match &body {
        CallBody::Stream(b) => hyper::body::Body::is_end_stream(b),
        CallBody::Read(b, _) => b.is_empty(),
    };
    let (Some(uid), Some(mapped), true) = (
        ctx.matched.params.int("uid"),
        shards_placement::map_query(query.as_deref()),
        empty,
    ) else {
        note.detail = Some(json!({"query": pairs, "translatable": false}));
        return Ok(ctx.pass_through(parts, body).await);
    };
    drop(body);
    ctx.admit()?;
    let original = (parts.uri.clone(), parts.headers.clone(), parts.version);
    let mut put = parts;
    put.method = Method::PUT;
    if let Ok(uri) = shards_placement::successor_target(uid).parse() {
        put.uri = uri;
    }
    put.headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let sent = Bytes::from(mapped.to_string());
    let resp = send_bytes(ctx.app, ctx.conn, put, sent, None).await;
    let fallback = matches!(
        resp.status(),
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::CONFLICT
    );
    let resp = if fallback {
        drop(resp);
        let (uri, headers, version) = original;
        let mut get = http::Request::new(());
        *get.uri_mut() = uri;
        *get.headers_mut() = headers;
        *get.version_mut() = version;
        let (get, ()) = get.into_parts();
        send_bytes(ctx.app, ctx.conn, get, Bytes::new(), None).await
    } else {
        resp
    };
    let state_id = match resp.headers().get(CLUSTER_STATE_ID) {
        Some(v) => json!(String::from_utf8_lossy(v.as_bytes())),
        None if resp.status().is_success() => json!("absent"),
        None => json!(null),
    };
    note.translated(json!({
        "query": pairs,
        "translatable": true,
        "fallback": fallback,
        "cluster_state_id": state_id,
        "status": resp.status().as_u16(),
    }));
    note.successor = Some(shards_placement::successor_target(uid));
    Ok(Answer::Reply(resp))
}
