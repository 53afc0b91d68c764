//! Following one node's redirect (issue 21, API-CATALOGUE §10 T2–T5): to a configured node
//! with the held copy, turned relative, or refused; and the note the call's audit record gets
//! of it. The decisions are `route.rs`'s.

use super::nodes::NodeSet;
use super::pool::PooledBody;
use super::redirect::{self, MAX_HOPS};
use super::route::{Failure, Job, REDIRECT_ERROR};
use super::UpBody;
use crate::error::ApiError;
use http::{header, HeaderValue, Request, Response, StatusCode};
use std::sync::atomic::Ordering::Relaxed;

/// Notes for the call's audit record (T5, [`super::watch`]) the redirect `node` answered with
/// `status`, and what became of it.
pub(super) fn met(set: &NodeSet, node: usize, status: StatusCode, next: &Result<Next, Failure>) {
    let (to, outcome) = match next {
        Ok(Next::Node(to, _)) => (Some(*to), "followed"),
        Ok(Next::Reply(r)) if redirect::is_redirect(r.status()) => (Some(node), "relative"),
        // The caller's credentials were refused while the shim looked for the address.
        Ok(Next::Reply(_)) => (None, "unauthorized"),
        Err(_) => (None, "refused"),
    };
    let label = |i: usize| set.nodes.get(i).map(|n| n.label.clone());
    super::watch::note(redirect::Redirected {
        from: label(node).unwrap_or_default(),
        status: status.as_u16(),
        to: to.and_then(label),
        to_node_uid: to.and_then(|i| set.uid_of(i)),
        outcome: outcome.to_owned(),
    });
}

/// Where a redirect leads.
pub(super) enum Next {
    /// Send this copy to that node.
    Node(usize, Request<UpBody>),
    /// The caller gets this reply (a relative redirect).
    Reply(Response<PooledBody>),
}

/// The redirect `resp` from `node`: followed, turned relative, or refused (see the decisions).
pub(super) async fn follow(
    job: &mut Job,
    node: usize,
    mut resp: Response<PooledBody>,
    hops: usize,
) -> Result<Next, Failure> {
    let set = job.set.clone();
    let status = resp.status();
    let from = set.nodes[node].label.clone();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(redirect::points);
    let to = match location {
        Some(Ok(to)) => to,
        Some(Err(why)) => {
            return Err(refuse(
                &set,
                format!("the upstream node {from} answered {status} with {why}"),
            ))
        }
        None => {
            return Err(refuse(
                &set,
                format!("the upstream node {from} answered {status} without a Location"),
            ))
        }
    };
    let mut target = set.map(&to, node);
    let mut refused = None;
    if target.is_none() {
        if let Some(auth) = job.held.as_ref().and_then(|h| h.auth.clone()) {
            refused = super::learn::learn(&set, &auth).await;
            target = set.map(&to, node);
        }
    }
    set.redirected(node, target);
    if let (None, Some(unauthorized)) = (target, refused) {
        // A node that serves refused the caller's credentials: that is the cluster's answer
        // to this caller whatever the path (RS checks credentials first), not a redirect the
        // shim failed to map.
        return Ok(Next::Reply(*unauthorized));
    }
    let Some(target) = target else {
        return Err(refuse(&set, format!(
            "the upstream node {from} is not the master and redirected to {}, which is not a configured node; \
             map it with upstream.node_map (\"{}\" = \"<node URL>\"), list the master in upstream.nodes, \
             enable handle_redirects on the cluster, or point the shim at the master",
            to.shown(), to.shown()
        )));
    };
    let Some(held) = job.held.as_ref() else {
        // Nothing is ever followed (one node, no map): the redirect names this node, so its
        // own path and query, relative, bring the client back through the shim.
        let relative = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.parse::<http::Uri>().ok())
            .and_then(|u| u.path_and_query().cloned())
            .and_then(|pq| HeaderValue::from_str(pq.as_str()).ok())
            .unwrap_or_else(|| HeaderValue::from_static("/"));
        resp.headers_mut().insert(header::LOCATION, relative);
        return Ok(Next::Reply(resp));
    };
    if hops > MAX_HOPS {
        return Err(refuse(&set, format!(
            "the upstream nodes redirected this request {hops} times (last from {from} to {}); a redirect loop",
            set.nodes[target].label
        )));
    }
    if !redirect::may_follow(status, &held.method) {
        return Err(refuse(
            &set,
            format!(
                "the upstream node {from} answered {status} to a {}, which the shim does not re-send",
                held.method
            ),
        ));
    }
    match job.copy() {
        Some(req) => {
            set.redirects_followed.fetch_add(1, Relaxed);
            tracing::debug!(from = %from, to = %set.nodes[target].label, %status, "redirect followed to a configured node");
            Ok(Next::Node(target, req))
        }
        None => {
            // The body streamed and is gone: the client re-sends it through the shim.
            let relative = HeaderValue::from_str(held.pq.as_str())
                .unwrap_or_else(|_| HeaderValue::from_static("/"));
            resp.headers_mut().insert(header::LOCATION, relative);
            *resp.status_mut() = StatusCode::TEMPORARY_REDIRECT;
            Ok(Next::Reply(resp))
        }
    }
}

fn refuse(set: &NodeSet, text: String) -> Failure {
    set.redirects_refused.fetch_add(1, Relaxed);
    Failure {
        error: ApiError::new(StatusCode::BAD_GATEWAY, REDIRECT_ERROR, text),
        closed: false,
        // A node answered (with a redirect): not a request lost on the way.
        sent: false,
    }
}
