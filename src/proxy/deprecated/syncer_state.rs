//! R16 on the request path: `GET /v1/bdbs/{uid}/syncer_state` → `GET …/syncer_state/crdt`
//! (API-CATALOGUE §6), a pure path rewrite: same permission and documented meaning, query and
//! headers kept.
//!
//! Decisions:
//! - A `404` from `/crdt` sends the old path once and relays that answer, audited
//!   `fallback: true`: what else the old route covered (a replica-of state?) is undocumented, so
//!   a 404 from the successor does not prove the old route would have answered 404 too. A GET
//!   changes nothing, so the second request replays no mutation.
//! - Any other status, headers and body stream through as the cluster sent them; the shim adds
//!   no error of its own.

use super::rewrite::send_bytes;
use super::step::{Answer, CallBody, Ctx, Note, StepResult};
use bytes::Bytes;
use http::request::Parts;
use http::{StatusCode, Uri};
use serde_json::json;

/// The successor of the old path, the query kept.
fn successor(uri: &Uri) -> Option<Uri> {
    let path = uri.path().trim_end_matches('/');
    let target = match uri.query() {
        Some(q) => format!("{path}/crdt?{q}"),
        None => format!("{path}/crdt"),
    };
    target.parse().ok()
}

/// R16's step.
pub async fn run(ctx: &Ctx<'_>, parts: Parts, body: CallBody, note: &mut Note) -> StepResult {
    note.as_it_came();
    let Some(new_uri) = successor(&parts.uri) else {
        return Ok(ctx.pass_through(parts, body).await);
    };
    // A GET's body is empty; one that is not goes to the old path as it came.
    if let CallBody::Stream(ref b) = body {
        if !hyper::body::Body::is_end_stream(b) {
            return Ok(ctx.pass_through(parts, body).await);
        }
    }
    drop(body);
    ctx.admit()?;
    let old_uri = parts.uri.clone();
    let retry = (parts.method.clone(), parts.headers.clone(), parts.version);
    let mut first = parts;
    first.uri = new_uri.clone();
    let resp = send_bytes(ctx.app, ctx.conn, first, Bytes::new(), None).await;
    let fallback = resp.status() == StatusCode::NOT_FOUND;
    let detail = |status: StatusCode| json!({"from": old_uri.path(), "to": new_uri.path(), "fallback": fallback, "status": status.as_u16()});
    if !fallback {
        note.translated(detail(resp.status()));
        return Ok(Answer::Reply(resp));
    }
    drop(resp);
    let (method, headers, version) = retry;
    let mut again = http::Request::new(());
    *again.method_mut() = method;
    *again.uri_mut() = old_uri.clone();
    *again.headers_mut() = headers;
    *again.version_mut() = version;
    let (again, ()) = again.into_parts();
    let resp = send_bytes(ctx.app, ctx.conn, again, Bytes::new(), None).await;
    note.translated(detail(resp.status()));
    Ok(Answer::Reply(resp))
}

#[cfg(test)]
mod tests {
    use super::successor;

    #[test]
    fn the_successor_keeps_the_query_and_drops_a_trailing_slash() {
        let s = |u: &str| successor(&u.parse().unwrap()).unwrap().to_string();
        assert_eq!(s("/v1/bdbs/3/syncer_state"), "/v1/bdbs/3/syncer_state/crdt");
        assert_eq!(
            s("/v1/bdbs/3/syncer_state/?x=1"),
            "/v1/bdbs/3/syncer_state/crdt?x=1"
        );
    }
}
