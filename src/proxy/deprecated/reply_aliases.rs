//! F14 on the reply path (API-CATALOGUE §9.6; the pure core is
//! [`crate::rules::fields::aliases`]): with `[rules.field_reply_aliases]` on, a `GET` of
//! `/v1/cluster`, `/v1/bdbs` or `/v1/bdbs/{uid}` is passed through as usual, then its reply
//! is read (bounded), the missing old keys are added, and the reply is sent with its new
//! length.
//!
//! Decisions:
//! - Off (the default, and `auto`): [`crate::proxy::handle`] never reaches this module, the
//!   reply streams as before.
//! - The reply is read by [`super::reply_read::read`] within [`MAX_REPLY`] (4 MiB); what it
//!   does not read, or what does not parse, goes to the caller as it came, counted in
//!   `field_bodies_skipped{reason="reply_…"}`.
//! - No alias missing: the bytes read go back unchanged (same length), unaudited.
//! - Aliases added: the JSON is written again (key order kept), `Content-Length` set to the new
//!   length; one windowed audit record per caller, route and status
//!   ([`super::reply_read::audit`]), rule `field_reply_aliases`, `detail.aliases`: the old keys
//!   added with their source and how many objects got each (never a value). `observe`: the
//!   same record, `observed`, and the reply unchanged.
//! - The version (for `use_ipv6`, known ≥ 8.2.0 only): `rules.rs_version`, the cached one, or
//!   a look-up with the caller's credentials when `use_ipv6` is enabled on `GET /v1/cluster`.

use super::fields::version_for;
use super::reply_read::{self, Head, Seen};
use super::Boxed;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::forward;
use crate::rules::fields::aliases::{self, Added, Alias, Object, MAX_REPLY};
use crate::rules::Version;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

pub use crate::rules::fields::aliases::RULE;

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
        let head = Head::new(&parts, route, (arrived, started));
        let req = Request::from_parts(parts, body);
        let resp = forward::in_call(&app, conn.clone(), req).await;
        let (parts, bytes, reservation) = match reply_read::read(&app, resp, MAX_REPLY).await {
            Ok(read) => read,
            Err(as_it_came) => return as_it_came,
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
    let seen = Seen {
        rule: RULE,
        action: if adds { "translated" } else { "observed" },
        version,
        bdb_uid: (head.route == "/v1/bdbs/{uid}")
            .then(|| added.first().and_then(|a| a.bdb_uid))
            .flatten(),
        detail: detail(&added),
    };
    reply_read::audit(app, conn, head, seen);
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
