//! Sending one request through the nodes (issue 21, API-CATALOGUE §10 T1–T4): the attempt on
//! one node, failover to the next, and following a node's redirect to a configured node.
//!
//! Decisions:
//! - Connect and TLS failures (the pool gives the request back unsent) move the request to the
//!   next node whatever its method: nothing was sent. A failure after sending moves it only
//!   for GET/HEAD with a copy at hand (no body); anything else is the caller's error as before,
//!   never sent twice without proof (T3).
//! - A redirect is followed to a mapped node when the shim holds the body (a copy kept before
//!   sending: its own calls, a rule's built body, a pass-through body within
//!   `upstream.max_replay_body`, or none). Without the body, the reply is the node's redirect
//!   with its `Location` replaced by the request's own path and query (relative: the client's
//!   re-send comes back through the shim, which by then sends to the master first).
//! - A `Location` that maps to no configured node, even after `GET /v1/nodes` was read with
//!   the caller's credentials, is `502 upstream_redirect` naming the address and
//!   `upstream.node_map`; the foreign `Location` is never copied into a reply. More than
//!   [`MAX_HOPS`] redirects for one request is the same 502 (a loop).
//! - With one node and no `upstream.node_map` nothing is ever followed (there is nowhere else
//!   to go): a redirect naming that node reaches the client with its own path and query as a
//!   relative `Location`; any other is the 502 above.
//! - `GET /v1/nodes` is looked up one at a time and at most once per `learn::RELEARN`: a hostile node
//!   redirecting every call to unknown hosts cannot turn each request into a fan-out. When the
//!   node that serves it answers `401` to the caller's credentials, the caller gets that `401`
//!   (the cluster's answer to it on any path), not a `502`.

use super::follow::{follow, met, Next};
use super::nodes::NodeSet;
use super::pool::{Failed, PooledBody, Reuse};
use super::redirect;
use super::{classify_failure, closed_before_reply, no_answer_within, UpBody};
use crate::error::ApiError;
use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{header, HeaderValue, Method, Request, Response};
use http_body_util::{Either, Full};
use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

/// `error_code` of a redirect the shim does not follow.
pub const REDIRECT_ERROR: &str = "upstream_redirect";

/// How one attempt on one node ended.
pub(super) enum Tried {
    Answer(Response<PooledBody>),
    Failed {
        error: ApiError,
        /// The request, when none of it was written (boxed: a request head is large).
        unsent: Option<Box<Request<UpBody>>>,
        /// The connection closed before any reply (a stale pooled connection).
        closed: bool,
    },
}

/// What [`NodeSet::attempt`] resolves to: the pool's outcome, or the deadline.
pub(super) type Sent = Result<Result<Response<PooledBody>, Failed>, super::deadline::Elapsed>;

/// An attempt's outcome (`limit`: its deadline, named in the error).
pub(super) fn tried(sent: Sent, limit: Duration) -> Tried {
    match sent {
        Ok(Ok(resp)) => Tried::Answer(resp),
        Ok(Err(Failed { error, unsent })) => Tried::Failed {
            error: classify_failure(&error),
            closed: closed_before_reply(&error),
            unsent: unsent.map(Box::new),
        },
        Err(super::deadline::Elapsed) => Tried::Failed {
            error: no_answer_within(limit),
            unsent: None,
            closed: false,
        },
    }
}

/// What a request carries through its attempts.
pub(super) struct Job {
    pub set: Arc<NodeSet>,
    /// The response-head bound, in nanoseconds (half a `Duration`'s size: the per-request
    /// future counts every byte).
    pub limit_ns: u64,
    pub reuse: Reuse,
    /// The node the first attempt went to.
    pub first: u32,
    /// When the first attempt started ([`NodeSet::clock`]).
    pub since: u64,
    /// A `/v1`/`/v2` call (a follower's answer to it says who the master is).
    pub versioned: bool,
    /// What only a request that may be followed carries, boxed: with one node and no map the
    /// per-request future stays as small as before (see `proxy::handle` on future size).
    pub held: Option<Box<Held>>,
}

pub(super) struct Held {
    pub method: Method,
    /// The request's path and query (a relative `Location` names them).
    pub pq: PathAndQuery,
    /// The caller's credentials, for `GET /v1/nodes`.
    pub auth: Option<HeaderValue>,
    /// A copy to send again (the shim holds the body).
    pub copy: Option<Request<UpBody>>,
}

impl Job {
    pub fn limit(&self) -> Duration {
        Duration::from_nanos(self.limit_ns)
    }

    pub(super) fn copy(&self) -> Option<Request<UpBody>> {
        self.held.as_ref()?.copy.as_ref().and_then(copy_of)
    }

    fn idempotent(&self) -> bool {
        self.held
            .as_ref()
            .is_some_and(|h| matches!(h.method, Method::GET | Method::HEAD))
    }
}

/// Why the request got no usable reply, whether its connection closed before any reply, and
/// whether its last attempt may have reached a node (written, then no reply): a non-idempotent
/// request's outcome is then unknown (T3).
pub(super) struct Failure {
    pub error: ApiError,
    pub closed: bool,
    pub sent: bool,
}

/// A copy of `req` when the shim holds its whole body: none, or one it built.
pub(super) fn copy_of(req: &Request<UpBody>) -> Option<Request<UpBody>> {
    let body = match req.body() {
        Either::Right(full) => full.clone(),
        Either::Left(caller) if hyper::body::Body::is_end_stream(caller) => Full::new(Bytes::new()),
        Either::Left(_) => return None,
    };
    let mut copy = Request::new(Either::Right(body));
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.version_mut() = req.version();
    *copy.headers_mut() = req.headers().clone();
    Some(copy)
}

impl NodeSet {
    /// One try on `node`, bounded by `limit` (from the body's end when the caller's body is
    /// still arriving).
    pub(super) fn attempt(
        &self,
        node: usize,
        mut req: Request<UpBody>,
        reuse: Reuse,
        limit: Duration,
    ) -> impl Future<Output = Sent> + Send + 'static {
        // `node` comes from `next`/`first`/a mapping, all within the list (never empty).
        let n = &self.nodes[node.min(self.nodes.len().saturating_sub(1))];
        n.requests.fetch_add(1, Relaxed);
        if self.nodes.len() > 1 {
            // A Host the proxy set for another node is this node's (HTTP/1; the pool drops it
            // for HTTP/2).
            if let Some(h) = req.headers().get(header::HOST) {
                if *h != n.host && self.nodes.iter().any(|o| o.host == *h) {
                    req.headers_mut().insert(header::HOST, n.host.clone());
                }
            }
        }
        let deadlines = self.deadlines.get();
        let end = match req.body() {
            Either::Left(caller) => caller.end(),
            Either::Right(_) => None,
        };
        let sending = n.pools.get().send(req, reuse);
        match end {
            Some(end) => deadlines.within_after_body(limit, end, sending),
            None => deadlines.within(limit, sending),
        }
    }

    /// [`attempt`](Self::attempt), its outcome read.
    pub(super) async fn try_on(
        &self,
        node: usize,
        req: Request<UpBody>,
        reuse: Reuse,
        limit: Duration,
    ) -> Tried {
        let since = self.clock();
        let sent = self.attempt(node, req, reuse, limit).await;
        self.observe(node, since);
        tried(sent, limit)
    }

    pub(super) fn failed(&self, node: usize, unsent: bool) {
        if let Some(n) = self.nodes.get(node) {
            n.failures.fetch_add(1, Relaxed);
        }
        if unsent {
            self.connect_failed(node);
        }
    }

    /// Notes a non-redirect answer from `node` (to a `/v1`/`/v2` call when `versioned`).
    pub(super) fn note_answer(&self, node: usize, versioned: bool) {
        if versioned {
            self.served(node);
        } else {
            self.answered(node);
        }
    }
}

/// Whether `path` is an API call a follower redirects (`/v1`, `/v2`).
pub(super) fn versioned(path: &str) -> bool {
    ["/v1", "/v2"]
        .iter()
        .any(|v| path == *v || path.strip_prefix(v).is_some_and(|r| r.starts_with('/')))
}

/// Goes on from the first attempt's outcome (on `node`) until an answer the caller may have.
pub(super) async fn finish(
    mut job: Job,
    mut node: usize,
    first: Tried,
) -> Result<Response<PooledBody>, Failure> {
    let set = job.set.clone();
    let mut tried: u64 = 0;
    let mut hops = 0;
    let mut outcome = first;
    loop {
        if node < 64 {
            tried |= 1 << node;
        }
        let resend = match outcome {
            Tried::Answer(resp) if !redirect::is_redirect(resp.status()) => {
                set.note_answer(node, job.versioned);
                return Ok(resp);
            }
            Tried::Answer(resp) => {
                hops += 1;
                let status = resp.status();
                let next = follow(&mut job, node, resp, hops).await;
                met(&set, node, status, &next);
                match next? {
                    Next::Reply(resp) => return Ok(resp),
                    Next::Node(to, req) => {
                        node = to;
                        req
                    }
                }
            }
            Tried::Failed {
                error,
                unsent,
                closed,
            } => {
                set.failed(node, unsent.is_some());
                let sent = unsent.is_none();
                let again = match unsent {
                    Some(req) => Some(*req),
                    None if job.idempotent() => job.copy(),
                    None => None,
                };
                match (again, set.next(tried)) {
                    (Some(req), Some(next)) => {
                        tracing::debug!(from = %set.nodes[node].label, to = %set.nodes[next].label, error = %error.text, "upstream node failed; request sent to the next node");
                        node = next;
                        req
                    }
                    _ => {
                        return Err(Failure {
                            error,
                            closed,
                            sent,
                        })
                    }
                }
            }
        };
        outcome = set.try_on(node, resend, job.reuse, job.limit()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::versioned;

    #[test]
    fn versioned_paths_are_v1_and_v2_only() {
        assert!(versioned("/v1/bdbs"));
        assert!(versioned("/v2"));
        assert!(!versioned("/v10/x"));
        assert!(!versioned("/metrics"));
    }
}
