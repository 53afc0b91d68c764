//! R13 on the request path: `PUT | POST | DELETE /v1/users/password` with body credentials gets
//! a Basic `Authorization` from them, and the RS161290 guard refuses what those builds would
//! apply to the caller instead (API-CATALOGUE §3.4; the pure core is
//! [`crate::rules::users_password`]).
//!
//! Decisions:
//! - The body (at most 64 KiB, reserved) is read by the envelope before the lifecycle gate
//!   ([`pre_read`]), as R1's: R13's deprecated form is credentials in the body without a header,
//!   and the audit and exemptions name the user whose credentials the cluster then checks.
//! - The guard needs every node's version (§11: during a rolling upgrade a request may run on
//!   either release), so a call the core says may target another user
//!   ([`users_password::needs_guard`]) reads `GET /v1/nodes` with the caller's credentials, on
//!   every such call (never older than the 5 s the contract allows). When that read fails, the
//!   cached version stands in for the nodes; when nothing is known the call is refused
//!   `503 cluster_version_unknown` with `Retry-After` (fail closed: the shim cannot tell whether
//!   the build would change the wrong password, and it never guesses that it would not).
//! - The reply streams through verbatim; a `404` is audited `route_absent_suspected` (the 8.x
//!   CONFLICT, §3.4 step 7), never re-routed or retried. The audit never holds a password or the
//!   `Authorization` value.

use super::authorize::Login;
use super::rewrite::{send_bytes, with_login};
use super::step::{Answer, CallBody, Ctx, Note, StepResult};
use crate::audit::AuditRecord;
use crate::error::ApiError;
use crate::proxy::app::App;
use crate::rules::build_range::{self, Membership, RS161290};
use crate::rules::users_password::{self, Audit, Body, Decision};
use crate::rules::Version;
use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{Method, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};

/// Reads the body before the gate; `Some` when it carries a login in the body with no usable
/// header (the deprecated form), whose user the record then names (claimed until the cluster
/// answers) and whose credentials a user exemption is verified with.
pub(super) async fn pre_read(
    app: &App,
    parts: &Parts,
    body: Incoming,
    record: &mut AuditRecord,
) -> (Result<CallBody, ApiError>, Option<Login>) {
    let name = "of /v1/users/password (64 KiB)";
    let read =
        super::body::read_small(app, &parts.headers, body, users_password::MAX_BODY, name).await;
    let (bytes, reservation) = match read {
        Ok(read) => read,
        Err(e) => return (Err(e), None),
    };
    // Read as on an unknown version: the header is then built from the body whenever the body
    // has the legacy form and no usable header came.
    let plan = users_password::plan(&parts.method, &parts.headers, &bytes, None, Membership::Out);
    let login = match plan {
        Decision::Send {
            authorization,
            audit,
            ..
        } => {
            record.user.clone_from(&audit.user);
            Some(Login {
                verify_with: Some(authorization.header_value()),
            })
        }
        // Unencodable body credentials (step 4; the guard cannot fire with `Membership::Out`).
        Decision::Refuse { audit, .. } if audit.user.is_some() => {
            record.user.clone_from(&audit.user);
            Some(Login { verify_with: None })
        }
        _ => None,
    };
    (Ok(CallBody::Read(bytes, reservation)), login)
}

fn detail(audit: &Audit, status: Option<StatusCode>) -> Value {
    let mut d = json!({
        "method": audit.method.as_str(),
        "user": audit.user,
        "target": audit.target,
        "translated": audit.translated,
        "refused": audit.refused,
        "old_password_present": audit.old_password_present,
    });
    if status == Some(StatusCode::NOT_FOUND) {
        d["route_absent_suspected"] = json!(true);
    }
    d
}

/// Where the cluster's nodes stand against RS161290: every node's version when the caller may
/// read `GET /v1/nodes`, else the cached version, else unknown (refused).
async fn guard(ctx: &Ctx<'_>, headers: &http::HeaderMap) -> Result<Membership, ApiError> {
    let identity = ctx.identity(headers);
    let path = "/v1/nodes";
    let read = || ctx.app.upstream.call(Method::GET, path, &identity, None);
    let nodes = match crate::telemetry::in_call("nodes look-up", &Method::GET, path, read).await {
        Ok(f) if f.status.is_success() => node_versions(&f.body),
        _ => None,
    };
    match (nodes, ctx.version) {
        (Some(nodes), _) if !nodes.is_empty() => Ok(build_range::any_node(&RS161290, &nodes)),
        (_, Some(v)) => Ok(build_range::any_node(&RS161290, &[v])),
        _ => Err(super::version::unknown_error()),
    }
}

/// Every node's `software_version`; `None` when the reply is not a list of nodes or one of them
/// has no readable version (the guard then does not pretend to know).
fn node_versions(body: &[u8]) -> Option<Vec<Version>> {
    let nodes: Vec<Value> = serde_json::from_slice(body).ok()?;
    nodes
        .iter()
        .map(|n| n["software_version"].as_str().and_then(Version::parse))
        .collect()
}

/// R13's step.
pub async fn run(ctx: &Ctx<'_>, mut parts: Parts, body: CallBody, note: &mut Note) -> StepResult {
    note.as_it_came();
    // Always read by the envelope before the gate (`rules::form_in_body`).
    let (bytes, _reservation) = body.read()?;
    ctx.admit()?;
    let membership = if users_password::needs_guard(&parts.method, &parts.headers, &bytes) {
        guard(ctx, &parts.headers).await?
    } else {
        Membership::Out
    };
    let plan = users_password::plan(
        &parts.method,
        &parts.headers,
        &bytes,
        ctx.version,
        membership,
    );
    let (resp, audit) = match plan {
        Decision::Refuse { error, audit } => {
            note.user.clone_from(&audit.user);
            note.detail = Some(detail(&audit, None));
            return Err(error);
        }
        Decision::Forward { audit } => {
            let resp = send_bytes(ctx.app, ctx.conn, parts, bytes, None).await;
            (resp, audit)
        }
        Decision::ForwardWithoutAuthorization { audit } => {
            parts.headers.remove(AUTHORIZATION);
            let resp = send_bytes(ctx.app, ctx.conn, parts, bytes, None).await;
            (resp, audit)
        }
        Decision::Send {
            authorization,
            body,
            audit,
        } => {
            let rewritten = match body {
                Body::Original => None,
                Body::Rewritten(b) => Some(b),
            };
            let bytes = with_login(&mut parts, authorization.header_value(), rewritten, bytes);
            let resp = send_bytes(ctx.app, ctx.conn, parts, bytes, None).await;
            (resp, audit)
        }
    };
    note.user.clone_from(&audit.user);
    let d = detail(&audit, Some(resp.status()));
    if audit.translated {
        note.translated(d);
    } else {
        note.detail = Some(d);
    }
    Ok(Answer::Reply(resp))
}
