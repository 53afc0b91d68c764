//! The rewrite step of the executor for the built-in rewrite rules: R1 ([`super::authorize`]),
//! R3 ([`super::certs`]) and R7–R10 ([`super::debuginfo`]). [`super::observe`] runs the step
//! (budget, audit record, log, marks); this picks the rule's runner and holds what the runners
//! share: the bounded body read ([`read_whole`], over [`super::body::read_body`]) and the
//! [`Done`] they hand back.
//!
//! Decisions:
//! - A body a rewrite must read (R1 64 KiB, R3 1 MiB) is reserved against
//!   `shim.max_buffered_bodies` before it is kept, chunk by chunk (or at once from a declared
//!   `Content-Length`); over the rule's limit it is `413 request_too_large` naming the limit,
//!   never forwarded half-read; over the budget `503`, as for the module-upgrade route.
//! - Nothing here retries: a request goes out once (the pool resends only a request it never
//!   wrote), so a certificate replacement cannot run twice (API-RULES §1.7).

use super::body::read_body;
use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::budget::Reservation;
use crate::proxy::forward;
use crate::proxy::reply::{error_response, RespBody};
use crate::rules::{Matched, RuleId, Version};
use crate::upstream::UpBody;
use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// What a rewrite did, for the audit record, the metrics and the marks.
pub struct Done {
    pub resp: Response<RespBody>,
    /// `translated`, `observed` (sent as it came) or `refused` (answered by the shim).
    pub action: &'static str,
    /// Whether the reply gets the rule's `Deprecation`/`Link` marks.
    pub mark: bool,
    /// The successor for the `Link` when the rule's template cannot say it (R9's node uid).
    pub successor: Option<String>,
    /// The caller's user name when the rewrite learned it (R1: from the body).
    pub user: Option<String>,
    /// The record's `detail` (names only, never a secret).
    pub detail: Option<Value>,
    /// The shim's own `error_code` when it answered (`refused`).
    pub error_code: Option<String>,
}

impl Done {
    /// Sent as it came (or as the cluster answered it), unmarked.
    pub fn observed(resp: Response<RespBody>) -> Done {
        Done {
            resp,
            action: "observed",
            mark: false,
            successor: None,
            user: None,
            detail: None,
            error_code: None,
        }
    }

    /// Answered by the shim with `e`, nothing sent.
    pub fn refused(e: &ApiError) -> Done {
        Done {
            action: "refused",
            error_code: Some(e.error_code.clone()),
            ..Done::observed(error_response(e))
        }
    }

    /// The cluster's reply to the rewritten request, marked.
    pub fn translated(resp: Response<RespBody>, detail: Value) -> Done {
        Done {
            action: "translated",
            mark: true,
            detail: Some(detail),
            ..Done::observed(resp)
        }
    }
}

/// Runs the rewrite of the built-in rule `matched` names; `version` is what the decision used.
pub async fn apply(
    app: &Arc<App>,
    conn: &ConnInfo,
    parts: http::request::Parts,
    body: Incoming,
    matched: &Matched<'_>,
    version: Option<Version>,
) -> Done {
    match matched.rule.id {
        RuleId::Authorize => super::authorize::run(app, conn, parts, body, version).await,
        RuleId::UpdateCert => super::certs::run(app, conn, parts, body).await,
        RuleId::DebuginfoAll
        | RuleId::DebuginfoAllBdb
        | RuleId::DebuginfoNode
        | RuleId::DebuginfoNodeBdb => super::debuginfo::run(app, conn, parts, body, matched).await,
        _ => Done::observed(
            forward::pass_through(app, conn.clone(), Request::from_parts(parts, body)).await,
        ),
    }
}

/// Sends `parts` with `bytes` as its body (`Content-Length` set to their length), waiting
/// `head_timeout` for the reply head.
pub async fn send_bytes(
    app: &Arc<App>,
    conn: &ConnInfo,
    mut parts: http::request::Parts,
    bytes: Bytes,
    head_timeout: Option<Duration>,
) -> Response<RespBody> {
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, bytes.len().into());
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    let body: UpBody = Either::Right(Full::new(bytes));
    forward::send_rewritten(app, conn.clone(), parts, body, head_timeout)
        .await
        .unwrap_or_else(|e| error_response(&e))
}

/// Reads a body a rewrite needs whole with [`read_body`] (`413` naming `limit_name`, `408`,
/// `503`), within `upstream.request_timeout`; a refusal comes back as the rewrite's [`Done`].
pub async fn read_whole(
    app: &App,
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    limit_name: &str,
) -> Result<(Bytes, Reservation), Done> {
    read_body(
        headers,
        body,
        limit,
        limit_name,
        app.config.upstream.request_timeout,
        &app.work,
    )
    .await
    .map_err(|e| Done::refused(&e))
}
