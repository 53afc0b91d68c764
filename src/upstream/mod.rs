//! The pooled client towards the cluster: keep-alive HTTP/1.1 and HTTP/2 (ALPN), TLS per
//! [`crate::tls`], connect and response-head timeouts. Pass-through requests and the shim's own
//! look-ups share one pool per node; the upgrade POST, never sent twice, always opens a new
//! connection. Failures come back as RS-shaped [`ApiError`]s blamed on the upstream.
//!
//! Layout (issue 21): `nodes.rs` the configured nodes, their health and the master;
//! `redirect.rs` the pure redirect rules; `route.rs` one request through the nodes (failover,
//! following a redirect); `pool.rs` the connections to one node; `own.rs` the shim's own calls
//! (look-ups, the upgrade POST, polls), read whole.

use crate::config;
use crate::error::ApiError;
use crate::tls::{self, TlsError, Trust};
use bytes::Bytes;
use failure::classify_failure;
use futures_util::FutureExt;
use http::uri::{PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{Either, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use nodes::NodeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

mod caller_body;
pub mod deadline;
mod failure;
mod follow;
mod learn;
pub mod nodes;
mod own;
mod pool;
pub mod redirect;
mod route;
pub mod watch;

pub use caller_body::{BodyEnd, CallerBody, CallerBodyError};
pub use nodes::NodeView;
pub use own::{Fetched, Unanswered};
pub use pool::{PooledBody, Reuse, SendError, StreamEnd};
pub use route::REDIRECT_ERROR;

/// Body of a request sent upstream: the caller's stream, or one the shim built.
pub type UpBody = Either<CallerBody, Full<Bytes>>;

pub struct Upstream {
    set: Arc<NodeSet>,
    request_timeout: Duration,
}

impl Upstream {
    /// `workers`: how many per-worker pools (per node) besides the one for other threads (see
    /// [`crate::workers::slots`]).
    pub fn new(cfg: &config::Upstream, workers: usize) -> Result<Upstream, TlsError> {
        let trust = if cfg.insecure {
            Trust::Insecure
        } else {
            Trust::Verified {
                ca_file: cfg.ca_file.as_deref(),
                pins: &cfg.pin_sha256,
            }
        };
        let identity = cfg
            .client_identity
            .as_ref()
            .map(|f| (f.cert.as_path(), f.key.as_path()));
        let tls = tls::client_config(trust, identity)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(cfg.connect_timeout));
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let builder = match &cfg.server_name {
            Some(name) => {
                let name = rustls::pki_types::ServerName::try_from(name.clone()).map_err(|e| {
                    TlsError {
                        what: "upstream.server_name".into(),
                        problem: e.to_string(),
                    }
                })?;
                builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name))
            }
            None => builder,
        };
        let connector = builder.enable_all_versions().wrap_connector(http);
        let mut nodes = Vec::with_capacity(cfg.nodes.len());
        for node in &cfg.nodes {
            let scheme = if node.https {
                Scheme::HTTPS
            } else {
                Scheme::HTTP
            };
            let pools = crate::workers::PerWorker::try_new(workers, || {
                pool::Pool::new(
                    connector.clone(),
                    scheme.clone(),
                    node.authority.clone(),
                    cfg.pool_max_idle_per_host,
                    cfg.pool_idle_timeout,
                )
            })
            .map_err(|e| TlsError {
                what: "upstream.nodes".into(),
                problem: e.to_string(),
            })?;
            let label = format!("{}://{}", scheme, node.authority);
            nodes.push(nodes::Node::new(label, node.authority.clone(), pools));
        }
        let set = NodeSet::new(
            nodes,
            &cfg.node_map,
            crate::workers::PerWorker::new(workers, Default::default),
            cfg.request_timeout,
        );
        Ok(Upstream {
            set: Arc::new(set),
            request_timeout: cfg.request_timeout,
        })
    }

    /// The nodes, their health and the master, as last seen.
    pub fn nodes(&self) -> Arc<NodeSet> {
        self.set.clone()
    }

    /// Whether a redirect can be followed at all (several nodes, or a node map): only then is
    /// a pass-through body worth keeping for a re-send.
    pub fn follows_redirects(&self) -> bool {
        self.set.follows
    }

    /// The Host an HTTP/1 request to the cluster carries (the first node's; a request sent to
    /// another node gets that node's).
    pub fn host_header(&self) -> &HeaderValue {
        &self.set.nodes[0].host
    }

    /// The request target for `path_and_query` on the cluster (origin-form; the pool adds the
    /// scheme and authority where the protocol wants them).
    pub fn uri_for(&self, path_and_query: PathAndQuery) -> Uri {
        Uri::from(path_and_query)
    }

    /// Sends a request and waits for the response head (bounded by the request timeout); the
    /// body stays a stream.
    ///
    /// The future borrows nothing (the proxy's request future owns it) and adds only the
    /// worker's coarse deadline to the pool's (see [`deadline`]).
    pub fn send(
        &self,
        req: Request<UpBody>,
    ) -> impl Future<Output = Result<Response<PooledBody>, ApiError>> + Send + 'static {
        self.send_within(req, None)
    }

    /// [`send`](Self::send) with its own bound on the response head (`None`: the request
    /// timeout): certificate replacement and debuginfo packages take minutes (API-RULES §3, §5).
    pub fn send_within(
        &self,
        req: Request<UpBody>,
        limit: Option<Duration>,
    ) -> impl Future<Output = Result<Response<PooledBody>, ApiError>> + Send + 'static {
        let limit = limit.unwrap_or(self.request_timeout);
        // Issue 24: inside a deprecated call, the request a rule sends on is the call's
        // `forwarded call` child (one relaxed load when telemetry is off).
        crate::telemetry::request_in_call(crate::telemetry::FORWARDED, req, |req| {
            self.route(req, Reuse::Pooled, limit)
                .map(|r| r.map_err(|f| f.error))
        })
    }

    /// [`send`](Self::send), saying on failure whether the request may have reached the
    /// cluster (R4's streamed upload: its outcome is then unknown).
    pub fn send_reporting(
        &self,
        req: Request<UpBody>,
    ) -> impl Future<Output = Result<Response<PooledBody>, Unanswered>> + Send + 'static {
        crate::telemetry::request_in_call(crate::telemetry::FORWARDED, req, |req| {
            self.route(req, Reuse::Pooled, self.request_timeout)
                .map(|r| {
                    r.map_err(|f| Unanswered {
                        error: f.error,
                        maybe_applied: f.sent,
                    })
                })
        })
    }

    /// One request through the nodes: the first attempt on the node to try first; what
    /// follows a failure or a redirect (failover, [`route::finish`]) is boxed, so the common
    /// case stays a small future.
    fn route(
        &self,
        mut req: Request<UpBody>,
        reuse: Reuse,
        limit: Duration,
    ) -> impl Future<Output = Result<Response<PooledBody>, route::Failure>> + Send + 'static {
        // Issue 24: every request to the cluster, passed through or the shim's own, carries
        // the current span's `traceparent` (set before the copy a failover re-sends).
        crate::telemetry::inject(req.headers_mut());
        let set = self.set.clone();
        let first = set.first();
        let versioned = route::versioned(req.uri().path());
        let held = set.follows.then(|| {
            Box::new(route::Held {
                method: req.method().clone(),
                pq: req
                    .uri()
                    .path_and_query()
                    .cloned()
                    .unwrap_or_else(|| PathAndQuery::from_static("/")),
                copy: route::copy_of(&req),
                auth: req.headers().get(http::header::AUTHORIZATION).cloned(),
            })
        });
        let job = route::Job {
            since: set.clock(),
            set: set.clone(),
            limit_ns: u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX),
            reuse,
            first: u32::try_from(first).unwrap_or(0),
            versioned,
            held,
        };
        set.attempt(first, req, reuse, limit).then(move |sent| {
            job.set.observe(job.first as usize, job.since);
            match route::tried(sent, job.limit()) {
                route::Tried::Answer(resp) if !redirect::is_redirect(resp.status()) => {
                    job.set.note_answer(job.first as usize, job.versioned);
                    futures_util::future::Either::Left(std::future::ready(Ok(resp)))
                }
                tried => {
                    let first = job.first as usize;
                    futures_util::future::Either::Right(Box::pin(route::finish(job, first, tried)))
                }
            }
        })
    }

    /// The credential-free probe (`path`, no redirect followed) sent to every node at once:
    /// each node's status or failure, in configured order.
    pub async fn probe_nodes(
        &self,
        path: &'static str,
        limit: Duration,
    ) -> Vec<(String, Result<StatusCode, String>)> {
        let probes = (0..self.set.nodes.len()).map(|i| {
            let set = self.set.clone();
            async move {
                let label = set.nodes[i].label.clone();
                (label, learn::probe(&set, i, path, limit).await)
            }
        });
        futures_util::future::join_all(probes).await
    }
}

fn no_answer_within(limit: Duration) -> ApiError {
    ApiError::upstream_timeout(format!("the cluster did not answer within {limit:?}"))
}

/// Whether the connection ended before any reply byte (hyper's "incomplete message").
fn closed_before_reply(e: &SendError) -> bool {
    matches!(e, SendError::Http(h) if h.is_incomplete_message())
}

#[cfg(test)]
#[path = "workers_tests.rs"]
mod workers_tests;

#[cfg(test)]
#[path = "node_latency_tests.rs"]
mod node_latency_tests;
