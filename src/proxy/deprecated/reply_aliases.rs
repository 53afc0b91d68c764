//! F14 on the reply path (API-CATALOGUE §9.6; the pure core is
//! [`crate::rules::fields::aliases`]): with `[rules.field_reply_aliases]` on, a `GET` of
//! `/v1/cluster`, `/v1/bdbs` or `/v1/bdbs/{uid}` is passed through as usual, then its reply
//! is read (bounded), the missing old keys are added, and the reply is sent with its new
//! length.
//!
//! Decisions:
//! - Off (the default, and `auto`): [`crate::proxy::handle`] never reaches this module, the
//!   reply streams as before.
//! - Only a `200` is read. A reply that is compressed (`Content-Encoding` other than
//!   `identity`), of a type that is not JSON, without a declared length, declared over
//!   [`MAX_REPLY`] (4 MiB), with no room in the process-wide body budget, or whose bytes do not
//!   parse, goes to the caller as it came (the bytes read, unchanged), counted in
//!   `field_bodies_skipped{reason="reply_…"}`. A declared length bounds the read, so the read
//!   never has to hand back a half-read stream.
//! - No alias missing: the bytes read go back unchanged (same length), unaudited.
//! - Aliases added: the JSON is written again (key order kept), `Content-Length` set to the new
//!   length; one audit record per caller, route and status per `rules.stats_v1.audit_window`
//!   (like R18's, with a `count`), rule `field_reply_aliases`, `detail.aliases`: the old keys
//!   added with their source and how many objects got each (never a value). `observe`: the
//!   same record, `observed`, and the reply unchanged.
//! - The version (for `use_ipv6`, known ≥ 8.2.0 only): `rules.rs_version`, the cached one, or
//!   a look-up with the caller's credentials when `use_ipv6` is enabled on `GET /v1/cluster`.

use super::fields::version_for;
use super::Boxed;
use crate::audit::AuditRecord;
use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::forward;
use crate::proxy::reply::error_response;
use crate::rules::fields::aliases::{self, Added, Alias, Object, MAX_REPLY};
use crate::rules::Version;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// The rule name of F14's audit records.
pub const RULE: &str = "field_reply_aliases";

/// The request facts the audit record needs once the reply is known.
struct Head {
    method: http::Method,
    headers: http::HeaderMap,
    route: &'static str,
    arrived: SystemTime,
    started: Instant,
}

/// Runs a call whose reply may get aliases (see the module's decisions).
pub fn dispatch(app: Arc<App>, conn: ConnInfo, req: Request<Incoming>, object: Object) -> Boxed {
    Box::pin(async move {
        let (arrived, started) = (SystemTime::now(), Instant::now());
        let (mut parts, body) = req.into_parts();
        let settings = &app.config.rules.reply_aliases;
        let ask = object == Object::Cluster && settings.aliases.contains(&Alias::UseIpv6);
        let version = version_for(&app, &conn, &mut parts, ask).await.version();
        let route = match (object, parts.uri.path()) {
            (Object::Cluster, _) => "/v1/cluster",
            (Object::Bdb, "/v1/bdbs") => "/v1/bdbs",
            (Object::Bdb, _) => "/v1/bdbs/{uid}",
        };
        let head = Head {
            method: parts.method.clone(),
            headers: parts.headers.clone(),
            route,
            arrived,
            started,
        };
        let req = Request::from_parts(parts, body);
        let resp = forward::in_call(&app, conn.clone(), req).await;
        let (parts, body) = resp.into_parts();
        let body = match body {
            Either::Left(pooled) => pooled,
            built => return Response::from_parts(parts, built),
        };
        let n = match readable(&parts) {
            Ok(n) => n,
            Err(why) => {
                if !why.is_empty() {
                    app.metrics.field_body_skipped(why);
                }
                return Response::from_parts(parts, Either::Left(body));
            }
        };
        let Ok(reservation) = app.work.reserve(n) else {
            app.metrics.field_body_skipped("reply_budget");
            return Response::from_parts(parts, Either::Left(body));
        };
        let bytes = match Limited::new(body, n).collect().await {
            Ok(c) => c.to_bytes(),
            Err(_) => {
                return error_response(&ApiError::upstream_invalid_reply(
                    "the cluster's reply ended before its declared length",
                ))
            }
        };
        let (body, changed) = rewrite(&app, (&conn, &head), object, version, bytes);
        drop(reservation);
        let len = body.len();
        let mut resp = Response::from_parts(parts, Either::Right(Full::new(body)));
        if changed {
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        resp
    })
}

/// The declared length of a reply worth reading, or the skip reason (`""`: not counted, a
/// reply that is not a `200`).
fn readable(parts: &http::response::Parts) -> Result<usize, &'static str> {
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
        Some(n) if n > MAX_REPLY as u64 => Err("reply_too_large"),
        Some(n) => usize::try_from(n).map_err(|_| "reply_too_large"),
    }
}

/// The reply's bytes with the aliases added (and whether they changed), auditing what was
/// added.
fn rewrite(
    app: &Arc<App>,
    (conn, head): (&ConnInfo, &Head),
    object: Object,
    version: Option<Version>,
    bytes: Bytes,
) -> (Bytes, bool) {
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        app.metrics.field_body_skipped("reply_not_json");
        return (bytes, false);
    };
    let settings = &app.config.rules.reply_aliases;
    let added = aliases::add(&mut value, object, &settings.aliases, version);
    if added.is_empty() {
        return (bytes, false);
    }
    let adds = settings.adds();
    audit(app, conn, head, &added, (adds, version));
    if !adds {
        return (bytes, false);
    }
    match serde_json::to_vec(&value) {
        Ok(v) => (Bytes::from(v), true),
        Err(_) => (bytes, false),
    }
}

/// The audit's `detail`: each alias added, its source, how many objects got it.
fn detail(added: &[Added]) -> Value {
    let rows: Vec<Value> = Alias::ALL
        .iter()
        .filter_map(|a| {
            let n = added.iter().filter(|x| x.alias == *a).count();
            (n > 0).then(|| json!({"field": a.key(), "from": a.source(), "objects": n}))
        })
        .collect();
    json!({ "aliases": rows })
}

/// Writes (or counts into its caller's window) the record of a reply that got aliases, in its
/// own tracked task: the reply does not wait for the audit file.
fn audit(
    app: &Arc<App>,
    conn: &ConnInfo,
    head: &Head,
    added: &[Added],
    (adds, version): (bool, Option<Version>),
) {
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
    record.rule = Some(RULE.to_owned());
    record.rule_action = Some(if adds { "translated" } else { "observed" }.to_owned());
    record.verified = true;
    record.cluster_version = version.map(|v| v.to_string());
    if head.route == "/v1/bdbs/{uid}" {
        record.bdb_uid = added.first().and_then(|a| a.bdb_uid);
    }
    record.detail = Some(detail(added));
    record.finish(StatusCode::OK, None, None, head.started.elapsed());
    let window = app.config.rules.stats.audit_window;
    let task_app = app.clone();
    app.work.spawn((), async move {
        let _ = task_app.audit.write_windowed(&record, false, window).await;
    });
}
