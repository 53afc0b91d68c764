//! What the reply-side rules share (F14's aliases, [`super::reply_aliases`]; F2's predefined
//! names, [`super::predefined`]): the call's facts kept for the audit, the bounded read of the
//! cluster's reply, and the windowed audit record of what was seen in it.
//!
//! Decisions:
//! - Only a `200` is read. A reply that is compressed (`Content-Encoding` other than
//!   `identity`), of a type that is not JSON, without a declared length, declared over the
//!   rule's bound, or with no room in the process-wide body budget goes to the caller as it
//!   came, streamed, counted in `field_bodies_skipped{reason="reply_…"}` (a non-`200` is not
//!   counted). A declared length bounds the read, so the read never has to hand back a
//!   half-read stream; a reply that ends before it is `502` (the cluster's fault).
//! - The record: one per caller, route and status per `rules.stats_v1.audit_window` (like
//!   R18's, with a `count`), written in its own tracked task so the reply does not wait for the
//!   audit file.

use crate::audit::AuditRecord;
use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::budget::Reservation;
use crate::proxy::reply::{error_response, RespBody};
use crate::rules::Version;
use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::{BodyExt, Either, Limited};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// The request facts the audit record needs once the reply is known.
pub(super) struct Head {
    pub method: http::Method,
    pub headers: http::HeaderMap,
    pub route: &'static str,
    pub arrived: SystemTime,
    pub started: Instant,
}

impl Head {
    pub fn new(
        parts: &http::request::Parts,
        route: &'static str,
        (arrived, started): (SystemTime, Instant),
    ) -> Head {
        Head {
            method: parts.method.clone(),
            headers: parts.headers.clone(),
            route,
            arrived,
            started,
        }
    }
}

/// A reply read whole within `max` bytes: its head, bytes and budget reservation (hold it while
/// the bytes are worked on). `Err`: the reply to send as it is (see the module's decisions).
pub(super) async fn read(
    app: &App,
    resp: Response<RespBody>,
    max: usize,
) -> Result<(http::response::Parts, Bytes, Reservation), Response<RespBody>> {
    let (parts, body) = resp.into_parts();
    let body = match body {
        Either::Left(pooled) => pooled,
        built => return Err(Response::from_parts(parts, built)),
    };
    let n = match readable(&parts, max) {
        Ok(n) => n,
        Err(why) => {
            if !why.is_empty() {
                app.metrics.field_body_skipped(why);
            }
            return Err(Response::from_parts(parts, Either::Left(body)));
        }
    };
    let Ok(reservation) = app.work.reserve(n) else {
        app.metrics.field_body_skipped("reply_budget");
        return Err(Response::from_parts(parts, Either::Left(body)));
    };
    match Limited::new(body, n).collect().await {
        Ok(c) => Ok((parts, c.to_bytes(), reservation)),
        Err(_) => Err(error_response(&ApiError::upstream_invalid_reply(
            "the cluster's reply ended before its declared length",
        ))),
    }
}

/// The declared length of a reply worth reading, or the skip reason (`""`: not counted, a
/// reply that is not a `200`).
fn readable(parts: &http::response::Parts, max: usize) -> Result<usize, &'static str> {
    if parts.status != StatusCode::OK {
        return Err("");
    }
    let h = &parts.headers;
    if h.get(header::CONTENT_ENCODING)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return Err("reply_compressed");
    }
    let json = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .is_some_and(|t| t == "application/json" || t.ends_with("+json"));
    if !json {
        return Err("reply_not_json");
    }
    let declared = h
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        None => Err("reply_unsized"),
        Some(n) if n > max as u64 => Err("reply_too_large"),
        Some(n) => usize::try_from(n).map_err(|_| "reply_too_large"),
    }
}

/// What one reply-side record says besides the call's facts.
pub(super) struct Seen {
    pub rule: &'static str,
    /// `translated` or `observed`.
    pub action: &'static str,
    pub version: Option<Version>,
    pub bdb_uid: Option<u64>,
    pub detail: Value,
}

/// Writes (or counts into its caller's window) the record of what a reply held.
pub(super) fn audit(app: &Arc<App>, conn: &ConnInfo, head: &Head, seen: Seen) {
    let cfg = &app.config.audit;
    let request_id = crate::audit::request_id(&head.headers);
    let mut record = AuditRecord::begin(
        head.arrived,
        &request_id,
        conn.peer.ip(),
        &head.method,
        head.route,
        &head.headers,
        cfg.trust_forwarded_for,
    );
    record.instance = Some(app.config.instance.clone());
    record.forwarded_client = crate::audit::forwarded::client(
        conn.peer.ip(),
        &head.headers,
        cfg.trust_forwarded_for,
        &cfg.trusted_proxies,
    )
    .map(|ip| ip.to_string());
    record.rule = Some(seen.rule.to_owned());
    record.rule_action = Some(seen.action.to_owned());
    record.verified = true;
    record.cluster_version = seen.version.map(|v| v.to_string());
    record.bdb_uid = seen.bdb_uid;
    record.detail = Some(seen.detail);
    record.finish(StatusCode::OK, None, None, head.started.elapsed());
    let window = app.config.rules.stats.audit_window;
    let task_app = app.clone();
    app.work.spawn((), async move {
        let _ = task_app.audit.write_windowed(&record, false, window).await;
    });
}
