//! R14 on the request path, `translate` only (`auto` observes, API-CATALOGUE §4.4): the old
//! runtime-configuration routes `POST /v1/modules/config/bdb/{uid}` and
//! `POST /v1/bdbs/{uid}/modules/config` → `GET /v1/bdbs/{uid}?extended=true`, then
//! `PUT /v1/bdbs/{uid}` with the merged `module_list` (Redis < 8) or the whole `search` /
//! `timeseries` / `probabilistic` objects (Redis ≥ 8), then the wait, then the old contract's
//! reply: `200` with an empty body (the pure core is [`crate::rules::module_config`]).
//!
//! Decisions:
//! - The body (at most 64 KiB, reserved) is read whole; its errors are the old route's codes.
//!   Arguments that have no documented mapping are `406 module_args_unmapped`: nothing is sent,
//!   and no argument name is ever guessed.
//! - The look-up answering 404 is `404 db_not_exist`; any other failure of it (or a reply the
//!   core cannot read) sends the old call untranslated and audits `lookup_failed` (§1.6).
//! - The PUT is sent once, never retried. Its 4xx/5xx (409 included) is relayed as the cluster
//!   sent it. Accepted, the shim polls its action (or, without one, the database) every
//!   `shim.poll_interval` until done, within `shim.wait_deadline` (then `504`); a failed action
//!   is `500 module_config_failed`.
//! - The audit gets the database, each module's name, its argument **names** only (values may
//!   be secrets), the target object, the `action_uid` and the PUT's status.

use super::step::{Answer, CallBody, Ctx, Note, StepResult};
use crate::error::ApiError;
use crate::rules::module_config::{self, ModuleArgs};
use crate::rules::module_upgrade::model::{parse_json, Action, Bdb};
use crate::rules::module_upgrade::translate::{
    action_state, bdb_settled, timeout_error, ActionState,
};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderMap, Method, Response, StatusCode};
use http_body_util::{Either, Full};
use serde_json::{json, Value};
use std::time::Instant;

/// R14's translation.
pub async fn run(ctx: &Ctx<'_>, parts: Parts, body: CallBody, note: &mut Note) -> StepResult {
    note.as_it_came();
    let (bytes, reservation) = match body {
        CallBody::Read(bytes, reservation) => (bytes, reservation),
        CallBody::Stream(body) => {
            super::rewrite::read_whole(
                ctx,
                &parts.headers,
                body,
                module_config::MAX_BODY,
                "of the module configuration routes (64 KiB)",
            )
            .await?
        }
    };
    ctx.admit()?;
    let uid = ctx.matched.params.int("uid").unwrap_or_default();
    let modules = module_config::parse(&bytes)?;
    let headers = ctx.identity(&parts.headers);
    let path = format!("/v1/bdbs/{uid}");
    let read_path = format!("{path}?extended=true");
    let read = || {
        ctx.app
            .upstream
            .call(Method::GET, &read_path, &headers, None)
    };
    let looked = crate::telemetry::in_call("pre-validation read", &Method::GET, &path, read).await;
    let bdb = match looked {
        Ok(f) if f.status == StatusCode::NOT_FOUND => {
            return Err(ApiError::not_found(
                "db_not_exist",
                format!("database {uid} does not exist"),
            ))
        }
        Ok(f) if f.status.is_success() => serde_json::from_slice::<Value>(&f.body).ok(),
        _ => None,
    };
    let Some((bdb, redis8)) = bdb.and_then(|b| module_config::is_redis8(&b).map(|r8| (b, r8)))
    else {
        note.detail = Some(json!({"bdb_uid": uid, "lookup_failed": true}));
        return Ok(ctx
            .pass_through(parts, CallBody::Read(bytes, reservation))
            .await);
    };
    let mut detail = audit_detail(uid, &modules, redis8);
    note.detail = Some(detail.clone());
    let put_body = if redis8 {
        module_config::plan_redis8(&bdb, &modules)?
    } else {
        module_config::plan_redis7(&bdb, &modules)?
    };
    let started = Instant::now();
    let put = ctx
        .app
        .upstream
        .call(
            Method::PUT,
            &path,
            &headers,
            Some(Bytes::from(put_body.to_string())),
        )
        .await;
    note.add_upstream(started.elapsed());
    let put = put?;
    detail["status"] = json!(put.status.as_u16());
    if !put.status.is_success() {
        note.detail = Some(detail);
        return Ok(Answer::Reply(relayed(put.status, put.body)));
    }
    let action_uid = serde_json::from_slice::<Value>(&put.body)
        .ok()
        .and_then(|v| v["action_uid"].as_str().map(str::to_owned))
        .filter(|a| !a.is_empty());
    detail["action_uid"] = json!(action_uid);
    note.action_uid.clone_from(&action_uid);
    note.translated(detail);
    ctx.interruptible(wait(ctx, &headers, uid, action_uid.as_deref(), note))
        .await?;
    Ok(Answer::Empty)
}

fn audit_detail(uid: u64, modules: &[ModuleArgs], redis8: bool) -> Value {
    let audit = module_config::audit(uid, modules, redis8);
    let modules: Vec<Value> = audit
        .modules
        .iter()
        .map(|m| {
            json!({"module_name": m.module_name, "arg_names": m.arg_names,
                   "target": m.target.map(|t| t.as_str())})
        })
        .collect();
    json!({"bdb_uid": audit.bdb_uid, "modules": modules})
}

/// The cluster's answer as it sent it (status and JSON body).
fn relayed(status: StatusCode, body: Bytes) -> Response<crate::proxy::reply::RespBody> {
    let mut resp = Response::new(Either::Right(Full::new(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// Polls the action (or the database, without one) until the change is done.
async fn wait(
    ctx: &Ctx<'_>,
    headers: &HeaderMap,
    uid: u64,
    action_uid: Option<&str>,
    note: &mut Note,
) -> Result<(), ApiError> {
    let shim = &ctx.app.config.shim;
    let deadline = Instant::now() + shim.wait_deadline;
    let mut by_action = action_uid.map(|a| format!("/v1/actions/{a}"));
    let bdb_path = format!("/v1/bdbs/{uid}");
    loop {
        let path = by_action.as_deref().unwrap_or(&bdb_path);
        let started = Instant::now();
        let poll = || ctx.app.upstream.call(Method::GET, path, headers, None);
        let polled = crate::telemetry::in_call("action poll", &Method::GET, path, poll).await;
        note.add_upstream(started.elapsed());
        match polled {
            // The caller lost access while waiting: the wait ends, as the cluster said.
            Ok(f) if matches!(f.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                let code = if f.status == StatusCode::UNAUTHORIZED {
                    "unauthorized"
                } else {
                    "insufficient_permissions"
                };
                return Err(ApiError::new(
                    f.status,
                    code,
                    format!("the cluster refused the wait's poll of {path}"),
                ));
            }
            Ok(f) if f.status == StatusCode::NOT_FOUND && by_action.is_some() => {
                by_action = None;
                continue;
            }
            Ok(f) if f.status.is_success() && by_action.is_some() => {
                if let Ok(action) = parse_json::<Action>(path, &f.body) {
                    match action_state(&action) {
                        ActionState::Completed => return Ok(()),
                        ActionState::Failed(e) => return Err(config_failed(e)),
                        ActionState::Running => {}
                    }
                }
            }
            Ok(f)
                if f.status.is_success()
                    && parse_json::<Bdb>(path, &f.body).is_ok_and(|b| bdb_settled(&b)) =>
            {
                return Ok(());
            }
            // Transient (5xx, no answer): only GETs repeat, until the deadline.
            _ => {}
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(timeout_error(action_uid, shim.wait_deadline));
        }
        tokio::time::sleep(shim.poll_interval.min(deadline - now)).await;
    }
}

/// A failed update action: `500 module_config_failed`, the action's text kept.
fn config_failed(e: ApiError) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "module_config_failed",
        e.text,
    )
}
