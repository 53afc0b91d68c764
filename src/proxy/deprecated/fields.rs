//! The field rules on the request path (API-CATALOGUE §9, issue 23; the pure core is
//! [`crate::rules::fields`]): a call no route rule matched, on a route and method some field
//! rule names, has its body read, inspected and, where a rule acts, rewritten; a call with a
//! hit then runs through the [`envelope`](super::envelope) like any rule's call.
//!
//! Decisions:
//! - Only those routes are read: [`crate::proxy::handle`] asks
//!   [`RuleTable::inspects_fields`](crate::rules::RuleTable::inspects_fields) after the rule
//!   table matched nothing; every other call streams as before.
//! - The body is read within `shim.max_body_size` and the process-wide body budget
//!   ([`super::body::read_inspectable`]). A body with a type that cannot be JSON, a declared
//!   or actual size over the limit, no room in the budget, or that is not JSON, goes to the
//!   cluster as it came (what was read first, then the rest, streamed), unaudited, counted in
//!   `field_bodies_skipped{reason}`. `Content-Type` is read as leniently as the module-upgrade
//!   route's (`curl -d` sends form-urlencoded): a form body simply fails to parse.
//! - No hit: the bytes read are sent as they came (same length), unaudited.
//! - A hit: one audit record for the call, `rule` = the rule that refused, else the first that
//!   changed the body, else the first hit; `detail.fields` lists every hit (rule, pointer,
//!   action, value only where not secret, why). Lifecycle gate, admission and intent record
//!   (when the body was rewritten) are the envelope's. No `Deprecation` header unless one of
//!   the hit rules has `headers = true` (§1.3).
//! - The version: `rules.rs_version`, else the cached one; a look-up is sent only when some
//!   rule on this route would act on a known version (F5, F6, translate modes), with the
//!   caller's credentials, as for route rules. Unknown: nothing is rewritten (§1.1), the hit is
//!   still audited.
//! - F1 in `translate` ([`super::fields_role`]): a `role` the engine left pending is settled by
//!   the roles' look-up before the body is sent; its outcome is the hit's `lookup`.

use super::body::{read_inspectable, Inspectable};
use super::envelope::{self, Entered};
use super::step::{CallBody, Ctx, Note, StepResult};
use super::{version, Boxed, Decided, Entry, Step};
use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::metrics::InFlight;
use crate::proxy::app::App;
use crate::proxy::budget;
use crate::proxy::forward;
use crate::proxy::reply::{error_response, RespBody};
use crate::rules::fields::{inspect, role, Inspection};
use crate::rules::version::{Seen, Unknown};
use crate::upstream::CallerBody;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Either;
use hyper::body::Incoming;
use serde_json::{json, Value};
use std::sync::Arc;

/// What the field rules found in a call's body, handed to the envelope's step.
#[derive(Debug)]
pub struct Found {
    /// The audit record's `detail`.
    pub detail: Value,
    pub changed: bool,
    pub refusal: Option<ApiError>,
    /// Some hit rule asks for the deprecation headers.
    pub headers: bool,
}

/// Runs a call on a field rule's route (see the module's decisions).
pub fn dispatch(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
    in_flight: Option<InFlight>,
) -> Boxed {
    Box::pin(async move {
        let (parts, body) = req.into_parts();
        if super::body::check_content_type(&parts.headers).is_err() {
            return skipped(&app, conn, parts, Either::Right(body), "content_type").await;
        }
        let limit = app.config.shim.max_body_size;
        let read = read_inspectable(&app, &parts.headers, body, limit).await;
        let (bytes, reservation, ended) = match read {
            Err(e) => return error_response(&e),
            Ok(Inspectable::Untouched(body, why)) => {
                return skipped(&app, conn, parts, Either::Right(body), why).await
            }
            Ok(Inspectable::Spilled(prefix, rest, why)) => {
                return skipped(&app, conn, parts, Either::Left((prefix, rest)), why).await
            }
            Ok(Inspectable::Read(bytes, reservation, ended)) => (bytes, reservation, ended),
        };
        let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
            app.metrics.field_body_skipped("not_json");
            return as_it_came(&app, conn, parts, (bytes, ended)).await;
        };
        let mut parts = parts;
        let seen = {
            let table = &app.config.rules.table;
            let pq = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
            let path = pq.split_once('?').map_or(pq, |(p, _)| p);
            let may_act = table.fields().may_act(&parts.method, path);
            version_for(&app, &conn, &mut parts, may_act).await
        };
        let table = &app.config.rules.table;
        let pq = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let path = pq.split_once('?').map_or(pq, |(p, _)| p);
        let mut found = inspect(
            table.fields(),
            &parts.method,
            path,
            &mut value,
            seen.version(),
        );
        if role::pending(&found) {
            let facts = super::fields_role::facts(&app, &conn, &mut parts).await;
            role::settle(&mut found, &mut value, facts.as_deref());
        }
        let Some((index, found)) = summarise(&app, &found) else {
            return as_it_came(&app, conn, parts, (bytes, ended)).await;
        };
        let bytes = if found.changed {
            parts.headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            serde_json::to_vec(&value).map_or(bytes, Into::into)
        } else {
            bytes
        };
        let entry = Entry::new(&app, &conn, &parts.headers);
        let decided = Decided {
            step: Step::Fields {
                changed: found.changed,
            },
            seen,
        };
        let work = app.work.clone();
        let entered = Entered {
            refused: entry.refused,
            fingerprint: entry.fingerprint,
            admission: budget::Admission::new(&work),
            intended: false,
            quiet: None,
            fields: Some(Box::new(found)),
        };
        let call = (parts, CallBody::Read(bytes, reservation));
        super::start(work, conn, (in_flight, entry.place), move |conn| {
            envelope::run(app, conn, call, index, decided, entered)
        })
        .await
    })
}

/// A body read and left as it came: with its declared length, as bytes; without one, chunked
/// as it came (the bytes, then the ended body).
async fn as_it_came(
    app: &Arc<App>,
    conn: ConnInfo,
    parts: http::request::Parts,
    (bytes, ended): (bytes::Bytes, Incoming),
) -> Response<RespBody> {
    if parts.headers.contains_key(http::header::CONTENT_LENGTH) || bytes.is_empty() {
        return super::rewrite::send_bytes(app, &conn, parts, bytes, None).await;
    }
    let idle = app.config.listen.body_idle_timeout;
    let body = CallerBody::with_prefix(bytes, ended, idle);
    forward::send_rewritten(app, conn, parts, Either::Left(body), None)
        .await
        .unwrap_or_else(|e| error_response(&e))
}

/// A body passed through uninspected, counted.
async fn skipped(
    app: &Arc<App>,
    conn: ConnInfo,
    parts: http::request::Parts,
    body: Either<(bytes::Bytes, Incoming), Incoming>,
    why: &'static str,
) -> Response<RespBody> {
    app.metrics.field_body_skipped(why);
    let idle = app.config.listen.body_idle_timeout;
    let body = match body {
        Either::Right(body) => {
            return forward::in_call(app, conn, Request::from_parts(parts, body)).await
        }
        Either::Left((prefix, rest)) => CallerBody::with_prefix(prefix, rest, idle),
    };
    forward::send_rewritten(app, conn, parts, Either::Left(body), None)
        .await
        .unwrap_or_else(|e| error_response(&e))
}

/// The version the rules are decided at (see the module's decisions): looked up only when
/// `worth_asking` (some rule here would act on a known version).
pub(super) async fn version_for(
    app: &App,
    conn: &ConnInfo,
    parts: &mut http::request::Parts,
    worth_asking: bool,
) -> Seen {
    if let Some(v) = app.config.rules.rs_version {
        return Seen::Known(v);
    }
    if let Some(cached) = app.versions.peek() {
        return cached.map_or_else(Seen::Unknown, Seen::Known);
    }
    if !worth_asking {
        return Seen::Unknown(Unknown::NotAsked);
    }
    if let Some(why) = version::credential_problem(&parts.headers) {
        return Seen::Unknown(why);
    }
    let headers = version::look_up_headers(app, conn, &mut parts.headers);
    let verified = app
        .callers
        .is_verified(app.callers.fingerprint(&parts.headers));
    let learned = app.versions.learn(&app.upstream, &headers, verified).await;
    learned.map_or_else(Seen::Unknown, Seen::Known)
}

/// The table index of the call's record rule, and what the step needs; `None` without a hit.
fn summarise(app: &App, found: &Inspection) -> Option<(usize, Found)> {
    let table = &app.config.rules.table;
    let rules = table.fields().rules();
    let primary = found
        .refusal
        .as_ref()
        .map(|r| r.rule)
        .or_else(|| {
            found
                .hits
                .iter()
                .find(|h| matches!(h.action, "renamed" | "dropped" | "stripped"))
                .map(|h| h.rule)
        })
        .or_else(|| found.hits.first().map(|h| h.rule))?;
    let index = table.field_index(primary)?;
    let name = |i: usize| rules.get(i).map_or("", |r| r.name.as_str());
    let hits: Vec<Value> = found.hits.iter().map(|h| h.detail(name(h.rule))).collect();
    let refusal = found
        .refusal
        .as_ref()
        .map(|r| ApiError::new(StatusCode::BAD_REQUEST, r.error_code, r.description.clone()));
    let headers = found
        .hits
        .iter()
        .any(|h| rules.get(h.rule).is_some_and(|r| r.headers));
    Some((
        index,
        Found {
            detail: json!({ "fields": hits }),
            changed: found.changed,
            refusal,
            headers,
        },
    ))
}

/// The field rules' step inside the envelope: the refusal, or the (rewritten) body sent once.
pub async fn run(
    ctx: &Ctx<'_>,
    parts: http::request::Parts,
    body: CallBody,
    note: &mut Note,
) -> StepResult {
    let found = note.fields.take();
    note.as_it_came();
    let Some(found) = found else {
        return Ok(ctx.pass_through(parts, body).await);
    };
    note.unmarked = !found.headers;
    if let Some(e) = found.refusal {
        note.sent = false;
        note.action = None;
        note.own_code = Some(e.error_code.clone());
        note.detail = Some(found.detail);
        return Err(e);
    }
    if found.changed {
        note.translated(found.detail);
        note.unmarked = !found.headers;
    } else {
        note.detail = Some(found.detail);
    }
    Ok(ctx.pass_through(parts, body).await)
}
