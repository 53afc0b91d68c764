//! The deprecated route's outer handler: runs a [`flow::Call`], turns its result into the reply
//! (old shape or RS error), marks the reply with the deprecation headers, and emits the one
//! deprecation warning and the one audit record of the call.

use super::flow::{Call, Trace};
use crate::error::ApiError;
use crate::proxy::{error_response, App, RespBody};
use crate::server::ConnInfo;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use std::time::Instant;

/// The tracing target of the per-call deprecation warning.
pub const TARGET: &str = "deprecation";

/// Who called, as far as the request says (never the password).
#[derive(Debug, Clone)]
pub struct Caller {
    pub request_id: String,
    pub user: Option<String>,
    pub user_agent: Option<String>,
}

/// Handles `POST /v1/modules/upgrade/bdb/{bdb_uid}` (or the opted-in sibling). `deprecated`:
/// mark the reply with the deprecation headers (the old route, not the sibling).
pub async fn handle(
    app: &App,
    conn: ConnInfo,
    req: Request<Incoming>,
    bdb_uid: Option<u64>,
    deprecated: bool,
) -> Response<RespBody> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let caller = caller(&parts.headers);
    let mut call = Call {
        app,
        bdb_uid: bdb_uid.unwrap_or(0),
        authorization: parts.headers.get(http::header::AUTHORIZATION).cloned(),
        trace: Trace::default(),
    };
    let result = match bdb_uid {
        Some(_) => call.run(&parts.headers, body).await,
        None => Err(ApiError::not_found(
            "bdb_not_found",
            format!(
                "database uid in {} is not a decimal integer",
                parts.uri.path()
            ),
        )),
    };
    let (mut resp, error) = match result {
        Ok(value) => {
            let body = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
            (
                crate::error::json_response::<Full<Bytes>>(StatusCode::OK, body).map(Either::Right),
                None,
            )
        }
        Err(e) => (error_response(&e), Some(e)),
    };
    if deprecated {
        app.config.shim.headers.apply(resp.headers_mut(), bdb_uid);
    }
    if let Ok(v) = http::HeaderValue::from_str(&caller.request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    log_call(
        &caller,
        conn,
        bdb_uid,
        &call.trace,
        resp.status(),
        error.as_ref(),
        started,
    );
    resp
}

pub fn caller(headers: &HeaderMap) -> Caller {
    Caller {
        request_id: request_id(headers),
        user: basic_auth_user(headers),
        user_agent: headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

fn log_call(
    caller: &Caller,
    conn: ConnInfo,
    bdb_uid: Option<u64>,
    trace: &Trace,
    status: StatusCode,
    error: Option<&ApiError>,
    started: Instant,
) {
    let modules: Vec<String> = trace
        .modules
        .iter()
        .map(|m| {
            format!(
                "{} {} ({}) -> {}",
                m.current_module_name,
                m.from_version,
                m.current_module_id,
                m.to_version.as_deref().unwrap_or(&m.new_module_id)
            )
        })
        .collect();
    let elapsed = started.elapsed();
    tracing::warn!(
        target: TARGET,
        request_id = %caller.request_id,
        client = %conn.peer,
        user = caller.user.as_deref().unwrap_or("-"),
        user_agent = caller.user_agent.as_deref().unwrap_or("-"),
        bdb = bdb_uid,
        modules = %modules.join(", "),
        action_uid = trace.action_uid.as_deref().unwrap_or("-"),
        status = status.as_u16(),
        error_code = error.map(|e| e.error_code.as_str()).unwrap_or("-"),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        shim_ms = elapsed.saturating_sub(trace.upstream_time).as_secs_f64() * 1000.0,
        "deprecated route POST /v1/modules/upgrade/bdb/{{uid}} called; migrate this caller to POST /v1/bdbs/{{uid}}/upgrade"
    );
    for w in &trace.warnings {
        tracing::warn!(target: TARGET, request_id = %caller.request_id, "{w}");
    }
}

/// Reuses a sane incoming `X-Request-Id`, else makes one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// The user name of `Authorization: Basic`, never the password.
fn basic_auth_user(headers: &HeaderMap) -> Option<String> {
    use base64::Engine;
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, _password) = text.split_once(':')?;
    Some(user.to_owned())
}
