//! What the built-in rewrites (R1 [`super::authorize`], R3 [`super::certs`]) share: the
//! bounded read of the body they rewrite ([`read_whole`], over [`super::body::read_body`]) and
//! sending the rewritten request ([`send_bytes`]).
//!
//! Decisions:
//! - A body a rewrite must read (R1 64 KiB, R3 1 MiB) is reserved against
//!   `shim.max_buffered_bodies` before it is kept, chunk by chunk (or at once from a declared
//!   `Content-Length`); over the rule's limit it is `413 request_too_large` naming the limit,
//!   never forwarded half-read; over the budget `503`, as for the module-upgrade route.
//! - Nothing here retries: a request goes out once (the pool resends only a request it never
//!   wrote), so a certificate replacement cannot run twice (API-RULES §1.7).

use super::body::read_body;
use super::step::Ctx;
use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::budget::Reservation;
use crate::proxy::forward;
use crate::proxy::reply::{error_response, RespBody};
use crate::upstream::UpBody;
use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use std::sync::Arc;
use std::time::Duration;

/// Sends `parts` with `bytes` as its body (`Content-Length` set to their length), waiting
/// `head_timeout` for the reply head.
pub async fn send_bytes(
    app: &Arc<App>,
    conn: &ConnInfo,
    mut parts: http::request::Parts,
    bytes: Bytes,
    head_timeout: Option<Duration>,
) -> Response<RespBody> {
    // A GET or HEAD without a body says nothing of one, as it came.
    if bytes.is_empty() && matches!(parts.method, http::Method::GET | http::Method::HEAD) {
        parts.headers.remove(http::header::CONTENT_LENGTH);
    } else {
        parts
            .headers
            .insert(http::header::CONTENT_LENGTH, bytes.len().into());
    }
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    let body: UpBody = Either::Right(Full::new(bytes));
    forward::send_rewritten(app, conn.clone(), parts, body, head_timeout)
        .await
        .unwrap_or_else(|e| error_response(&e))
}

/// A login moved from the body to the header (R1, R13): `Authorization` set (replacing any),
/// and the body to send: `rewritten` as JSON when the rule rewrote it, else `original`.
pub fn with_login(
    parts: &mut http::request::Parts,
    authorization: http::HeaderValue,
    rewritten: Option<Vec<u8>>,
    original: Bytes,
) -> Bytes {
    parts
        .headers
        .insert(http::header::AUTHORIZATION, authorization);
    match rewritten {
        None => original,
        Some(body) => {
            parts.headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            body.into()
        }
    }
}

/// Reads a body a rewrite needs whole with [`read_body`] (`413` naming `limit_name`, `408`,
/// `503`), cut after `listen.body_idle_timeout` without a byte.
/// Then the call takes its place among `shim.max_concurrent_calls` ([`Ctx::admit`]).
pub async fn read_whole(
    ctx: &Ctx<'_>,
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    limit_name: &str,
) -> Result<(Bytes, Reservation), ApiError> {
    let app = ctx.app;
    let read = read_body(
        headers,
        body,
        limit,
        limit_name,
        app.config.listen.body_idle_timeout,
        &app.work,
    )
    .await?;
    ctx.admit()?;
    Ok(read)
}
