//! What a rule's step is given ([`Ctx`]) and what it hands back to the envelope ([`Answer`] or
//! an `ApiError`, and a [`Note`] of what the record should say). A step does only its rule's
//! I/O; the record, the gate, the marks and the log line are the envelope's
//! ([`super::envelope`]).

use crate::audit;
use crate::audit::ModuleChange;
use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::budget;
use crate::proxy::hop_headers::Hop;
use crate::proxy::reply::RespBody;
use crate::rules::Matched;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// What a step returns: its answer, or the error the envelope turns into the reply.
pub type StepResult = Result<Answer, ApiError>;

/// The call's request body as the step gets it: still streaming, or read whole by the
/// envelope, which must read R1's before the lifecycle gate to know its deprecated form and
/// whose credentials the cluster checks (issue 20).
pub enum CallBody {
    Stream(Incoming),
    Read(Bytes, budget::Reservation),
}

impl CallBody {
    /// The bytes, for a step whose body the envelope always reads before the gate (R13, R17:
    /// [`crate::rules::form_in_body`]).
    pub fn read(self) -> Result<(Bytes, budget::Reservation), ApiError> {
        match self {
            CallBody::Read(bytes, reservation) => Ok((bytes, reservation)),
            CallBody::Stream(_) => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "this route's body was not read before its step",
            )),
        }
    }

    /// The stream, for a step whose bodies the envelope never reads.
    pub fn stream(self) -> Result<Incoming, ApiError> {
        match self {
            CallBody::Stream(body) => Ok(body),
            CallBody::Read(..) => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "this route's body was read before its step",
            )),
        }
    }
}

/// What a step answers when it does not fail.
pub enum Answer {
    /// `200` with this JSON body (the old route's reply shape).
    Json(Value),
    /// `200` with an empty body.
    Empty,
    /// A reply as it is (the cluster's, streamed; or one the step built).
    Reply(Response<RespBody>),
}

/// What a step tells the audit record, the log line and the marks, filled in as it advances so
/// that a call that fails half-way (or is interrupted) still reports what was known.
#[derive(Debug, Default)]
pub struct Note {
    /// Set once the cluster accepted the caller's `Authorization` on a call the step made
    /// ([`accepted`]).
    pub verified: bool,
    /// Whether the call itself reached the cluster (streamed steps: `verified` then follows
    /// the reply's status).
    pub sent: bool,
    /// The record's `rule_action` when the step chose it (streamed steps).
    pub action: Option<&'static str>,
    /// The step's own `error_code` when it refused (streamed steps).
    pub own_code: Option<String>,
    /// The reply gets none of the rule's marks.
    pub unmarked: bool,
    /// The `Link` successor when the rule's template cannot say it (R9's node uid).
    pub successor: Option<String>,
    /// The caller's user name when the step learned it (R1: from the body).
    pub user: Option<String>,
    /// The record's `detail` (names only, never a secret).
    pub detail: Option<Value>,
    pub modules: Vec<ModuleChange>,
    pub action_uid: Option<String>,
    /// What the log line names as the module(s) touched.
    pub log_modules: String,
    /// Extra WARN lines after the call's log line (pre-validation findings).
    pub warnings: Vec<String>,
    /// Time spent on the cluster by a step that measures it (`None`: not measured).
    pub upstream_time: Option<Duration>,
    /// The reply streams a download (R7–R10): its audit record is written once the body has
    /// ended, saying whether the client got it all (issue 20).
    pub download: bool,
    /// What the field rules found in the body, for their step ([`super::fields`]).
    pub fields: Option<Box<super::fields::Found>>,
}

impl Note {
    /// The call goes to the cluster as it came unless the step rewrites it: `observed`,
    /// unmarked.
    pub fn as_it_came(&mut self) {
        self.sent = true;
        self.action = Some("observed");
        self.unmarked = true;
    }

    /// The call was rewritten as the rule says: `translated`, marked, with this `detail`.
    pub fn translated(&mut self, detail: Value) {
        self.action = Some("translated");
        self.unmarked = false;
        self.detail = Some(detail);
    }

    /// Counts `d` as time spent on the cluster.
    pub fn add_upstream(&mut self, d: Duration) {
        *self.upstream_time.get_or_insert(Duration::ZERO) += d;
    }
}

/// Whether the cluster accepted the caller's `Authorization` (carried in `identity`) when it
/// answered `status`: anything but 401/403 (and a 5xx, which a node can give before checking
/// anything) means the credentials were accepted, and the audit's `user` is then verified.
pub fn accepted(identity: &HeaderMap, status: StatusCode) -> bool {
    identity.contains_key(http::header::AUTHORIZATION)
        && !status.is_server_error()
        && !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
}

/// What a step works with besides the request itself.
pub struct Ctx<'a> {
    pub app: &'a Arc<App>,
    pub conn: &'a ConnInfo,
    pub matched: &'a Matched<'a>,
    pub request_id: &'a str,
    /// The cluster's version the rule was decided at, when known.
    pub version: Option<crate::rules::Version>,
    /// The call's place among `shim.max_concurrent_calls`: taken by the envelope before the
    /// step, or by a step that reads its body whole once the body has arrived ([`Ctx::admit`]).
    pub admission: &'a budget::Admission,
}

impl Ctx<'_> {
    /// Takes the call's place (once; `503 shim_overloaded` when none is free): a step that
    /// reads its body whole calls it before it sends anything (issue 20).
    pub fn admit(&self) -> Result<(), ApiError> {
        self.admission.take()
    }

    /// The call sent to the cluster untouched (streamed, or the bytes the envelope read); the
    /// cluster's reply as the answer.
    pub async fn pass_through(&self, parts: http::request::Parts, body: CallBody) -> Answer {
        match body {
            CallBody::Stream(body) => {
                let req = http::Request::from_parts(parts, body);
                let app = self.app;
                Answer::Reply(crate::proxy::forward::in_call(app, self.conn.clone(), req).await)
            }
            CallBody::Read(bytes, _reservation) => Answer::Reply(
                super::rewrite::send_bytes(self.app, self.conn, parts, bytes, None).await,
            ),
        }
    }

    /// The caller's identity for the shim's own upstream calls ([`identity_headers`]).
    pub fn identity(&self, caller: &HeaderMap) -> HeaderMap {
        let hop = Hop {
            client_ip: self.conn.peer.ip(),
            tls: self.conn.tls,
            host: None,
        };
        identity_headers(self.app, caller, hop, self.request_id)
    }

    /// `work`, cut short at the end of `shim.shutdown_grace` (the envelope then audits the call
    /// as interrupted). For steps that wait on the cluster after changing it.
    pub async fn interruptible<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        tokio::select! {
            biased;
            r = work => r,
            () = self.app.work.interrupted() => Err(budget::interrupted_error(None)),
        }
    }
}

/// The headers that carry the caller's identity on the shim's own upstream calls.
pub fn identity_headers(
    app: &App,
    caller: &HeaderMap,
    hop: Hop<'_>,
    request_id: &str,
) -> HeaderMap {
    use crate::proxy::hop_headers::{add_forwarding, X_FORWARDED_FOR};
    let mut out = HeaderMap::new();
    if let Some(auth) = caller.get(http::header::AUTHORIZATION) {
        out.insert(http::header::AUTHORIZATION, auth.clone());
    }
    // As on pass-through: the caller's chain is kept, and the caller appended when configured.
    for v in caller.get_all(&X_FORWARDED_FOR) {
        out.append(X_FORWARDED_FOR.clone(), v.clone());
    }
    let rules = crate::config::Forwarding {
        x_forwarded_proto: false,
        x_forwarded_host: false,
        ..app.config.forwarding
    };
    add_forwarding(&mut out, hop, rules);
    if let Ok(id) = HeaderValue::from_str(request_id) {
        out.insert(audit::record::REQUEST_ID_HEADER, id);
    }
    out
}
