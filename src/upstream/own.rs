//! The requests the shim makes on its own behalf (look-ups, the upgrade POST, polls, the writes
//! a rule builds): sent through the nodes like any other, the whole reply read, bounded.
//!
//! Decisions:
//! - A GET that met a connection the cluster closed as it was reused is sent again (RFC 9110
//!   §9.2.2: idempotent); anything else is sent once, on a new connection.
//! - A redirect the nodes did not follow is an error here, never relayed: the caller reads JSON.
//! - Inside a deprecated call, each request is a client child of the call's span (issue 24),
//!   named `upstream call` unless the call site named it ([`crate::telemetry::fetched`]).

use super::pool::Reuse;
use super::{redirect, route, Upstream};
use crate::error::ApiError;
use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};

/// Largest look-up reply the shim reads into memory (a BDB with many shards, the catalog).
const MAX_LOOKUP_REPLY: usize = 16 * 1024 * 1024;

/// How many times the shim sends one of its own GETs that met a connection the cluster closed.
const STALE_CONNECTION_ATTEMPTS: usize = 3;

/// A look-up reply read whole.
#[derive(Debug)]
pub struct Fetched {
    pub status: StatusCode,
    pub body: Bytes,
}

/// A call of the shim's own that got no reply (see [`Upstream::call_reporting`]).
#[derive(Debug)]
pub struct Unanswered {
    pub error: ApiError,
    /// The request was written to a node that then gave no (whole) reply: it may have been
    /// applied. `false` when nothing was written anywhere, or a node answered a redirect the
    /// shim did not follow.
    pub maybe_applied: bool,
}

impl Unanswered {
    fn unsent(error: ApiError) -> Unanswered {
        Unanswered {
            error,
            maybe_applied: false,
        }
    }
}

impl Upstream {
    /// A request the shim makes on its own behalf (look-ups, the upgrade POST, polling), with
    /// `headers` — the caller's `Authorization`, so the cluster enforces permissions as before,
    /// and its `X-Forwarded-For` and `X-Request-Id`, so the cluster's logs name the caller.
    /// Reads the whole reply, bounded. A node's redirect to a configured node is followed.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &http::HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Fetched, ApiError> {
        self.call_reporting(method, path, headers, body)
            .await
            .map_err(|u| u.error)
    }

    /// [`call`](Self::call), saying on failure whether the request may have reached the
    /// cluster: what a step that sent a POST needs to know before it answers (T3).
    pub async fn call_reporting(
        &self,
        method: Method,
        path: &str,
        headers: &http::HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Fetched, Unanswered> {
        let target = (method.clone(), path);
        crate::telemetry::in_call(crate::telemetry::OWN, &target.0, target.1, || {
            self.own(method, path, headers, body)
        })
        .await
    }

    async fn own(
        &self,
        method: Method,
        path: &str,
        headers: &http::HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Fetched, Unanswered> {
        let pq = PathAndQuery::try_from(path)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    format!("bad look-up path {path}: {e}"),
                )
            })
            .map_err(Unanswered::unsent)?;
        let uri = self.uri_for(pq);
        let build = || {
            let mut req = Request::builder().method(method.clone()).uri(uri.clone());
            for (name, value) in headers {
                req = req.header(name, value.clone());
            }
            req = req.header(http::header::ACCEPT, "application/json");
            if body.is_some() {
                req = req.header(http::header::CONTENT_TYPE, "application/json");
            }
            req.body(Either::Right(Full::new(body.clone().unwrap_or_default())))
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal_error",
                        e.to_string(),
                    )
                })
        };
        // The pool resends a request only when it was never written. A GET cut off because
        // the cluster closed the pooled connection as it was reused is safe to send again (RFC
        // 9110 §9.2.2, idempotent); each try takes that stale connection out of the pool. The
        // upgrade POST is sent once, on a new connection, so that race cannot reach it.
        let (reuse, attempts) = if method == Method::GET {
            (Reuse::Pooled, STALE_CONNECTION_ATTEMPTS)
        } else {
            (Reuse::Fresh, 1)
        };
        let mut attempt = 1;
        let resp = loop {
            let req = build().map_err(Unanswered::unsent)?;
            match self.route(req, reuse, self.request_timeout).await {
                Ok(resp) => break resp,
                Err(route::Failure { closed: true, .. }) if attempt < attempts => {
                    tracing::debug!(
                        path,
                        attempt,
                        "the cluster closed a pooled connection; GET sent again"
                    );
                    attempt += 1;
                }
                Err(f) => {
                    return Err(Unanswered {
                        error: f.error,
                        maybe_applied: f.sent,
                    })
                }
            }
        };
        if redirect::is_redirect(resp.status()) {
            // A shim-built body is always held, so only a refused redirect gets here: never
            // relayed (its Location may be relative, but the caller of `call` reads JSON).
            return Err(Unanswered::unsent(ApiError::new(
                StatusCode::BAD_GATEWAY,
                route::REDIRECT_ERROR,
                format!(
                    "the cluster answered {} to {path} and the shim could not follow it",
                    resp.status()
                ),
            )));
        }
        let status = resp.status();
        let body = tokio::time::timeout(
            self.request_timeout,
            Limited::new(resp.into_body(), MAX_LOOKUP_REPLY).collect(),
        )
        .await
        .map_err(|_| ApiError::upstream_timeout(format!("the cluster's reply to {path} stalled")))
        .and_then(|read| {
            read.map_err(|e| {
                ApiError::upstream_unavailable(format!(
                    "reading the cluster's reply to {path} failed: {e}"
                ))
            })
        })
        // The head came: the request reached a node, whatever its body would have said.
        .map_err(|error| Unanswered {
            error,
            maybe_applied: true,
        })?
        .to_bytes();
        Ok(Fetched { status, body })
    }
}
