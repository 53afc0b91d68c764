//! The shim's own look-ups of the nodes (issue 21): `GET /v1/nodes` with a caller's credentials,
//! to learn the nodes' internal addresses for mapping redirects, and the credential-free probe
//! of one node. Split from `route.rs`, which calls [`learn`] when a `Location` maps to no node.
//!
//! Decisions: see `route.rs` (one look-up at a time, at most once per [`RELEARN`]; a `401`
//! from a node that serves is the caller's answer).

use super::nodes::NodeSet;
use super::pool::{PooledBody, Reuse};
use super::redirect;
use super::route::Tried;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};
use std::sync::Arc;
use std::time::Duration;

/// Shortest time between two `GET /v1/nodes` look-ups.
pub(super) const RELEARN: Duration = Duration::from_secs(2);

/// Largest `GET /v1/nodes` reply read.
const MAX_NODES_REPLY: usize = 1024 * 1024;

/// Reads `GET /v1/nodes` with the caller's credentials from the first node that serves it, and
/// keeps what it says of the nodes' addresses. One at a time; at most once per [`RELEARN`].
/// Answers that node's `401` when it refused the credentials.
pub(super) async fn learn(
    set: &Arc<NodeSet>,
    auth: &HeaderValue,
) -> Option<Box<Response<PooledBody>>> {
    let _flight = set.learn_flight.lock().await;
    if set.learned_at().is_some_and(|at| at.elapsed() < RELEARN) {
        return None;
    }
    let mut refused = None;
    let mut tried: u64 = 0;
    let mut book = None;
    while let Some(node) = set.next(tried) {
        tried |= 1 << node;
        let req = Request::get("/v1/nodes")
            .header(header::AUTHORIZATION, auth.clone())
            .header(header::ACCEPT, "application/json")
            .body(Either::Right(Full::new(Bytes::new())));
        let Ok(req) = req else { break };
        match set
            .try_on(node, req, Reuse::Pooled, set.request_timeout)
            .await
        {
            Tried::Answer(resp) if resp.status() == StatusCode::OK => {
                set.served(node);
                let read = Limited::new(resp.into_body(), MAX_NODES_REPLY).collect();
                if let Ok(Ok(body)) = tokio::time::timeout(set.request_timeout, read).await {
                    let found = redirect::learn_from_nodes(&body.to_bytes(), &set.authorities());
                    tracing::info!(node = %set.nodes[node].label, "learned the nodes' addresses from GET /v1/nodes");
                    book = Some(found);
                }
                break;
            }
            Tried::Answer(resp) if redirect::is_redirect(resp.status()) => {
                set.redirected(node, None);
            }
            Tried::Answer(resp) if resp.status() == StatusCode::UNAUTHORIZED => {
                set.served(node);
                refused = Some(Box::new(resp));
                break;
            }
            // Another answer (403: no right to list the nodes): nothing to learn here.
            Tried::Answer(_) => break,
            Tried::Failed { unsent, .. } => set.failed(node, unsent.is_some()),
        }
    }
    // A refusal is not remembered as a look-up: the next caller's credentials may do.
    if refused.is_none() {
        set.note_learning(book);
    }
    refused
}

/// The node's probe answer: `Ok(status)` or the failure's text.
pub(super) async fn probe(
    set: &Arc<NodeSet>,
    node: usize,
    path: &'static str,
    limit: Duration,
) -> Result<StatusCode, String> {
    let req = Request::get(path)
        .header(header::ACCEPT, "application/json")
        .body(Either::Right(Full::new(Bytes::new())))
        .map_err(|e| e.to_string())?;
    match set.try_on(node, req, Reuse::Pooled, limit).await {
        Tried::Answer(resp) => {
            let status = resp.status();
            if redirect::is_redirect(status) {
                set.redirected(node, None);
            } else {
                set.served(node);
            }
            Ok(status)
        }
        Tried::Failed { error, unsent, .. } => {
            set.failed(node, unsent.is_some());
            Err(error.text)
        }
    }
}
