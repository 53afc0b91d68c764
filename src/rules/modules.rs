//! R4–R6: module upload `POST /v1/modules` and delete `DELETE /v1/modules/{uid}` (API-RULES §4).
//! In [7.2, 8.0) they become `/v2/modules` plus a wait for the action (async → sync, §4.7); on
//! 8.x they are `410 route_removed` naming the user-defined module APIs (§4.8).
//!
//! Decisions:
//! - The upload body is streamed to `/v2/modules` unchanged (same multipart boundary); nothing
//!   here reads it. The size limit (`rules.module_upload_max_size`, default 512 MiB) is the
//!   executor's, and so is the drained body of a 410.
//! - Action states come from the module-upgrade route's judge (`action_state`), so an
//!   unfamiliar status keeps polling until the deadline rather than ending in a false success.
//!   The failure reply differs: upload 400 (`invalid_module` when the action names no code; v1
//!   documents only 400), delete 406 (`module_delete_failed`).
//! - A completed upload replies with `GET /v1/modules/{uid}` (the module object, without
//!   `action_uid`); a 404 there is `500 upload_failed`; any other status is relayed.
//! - The 410 is blamed on the client: the call names a route the cluster no longer has.

use super::matcher::Value as Param;
use crate::error::{ApiError, Blame};
use crate::rules::module_upgrade::model::Action;
use crate::rules::module_upgrade::translate::{action_state, ActionState};
use http::StatusCode;
use serde_json::{Map, Value};

/// What a 8.x cluster gets for `/v1/modules` (config `rules.modules_on_8x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModulesOn8x {
    /// 410 `route_removed` (§4.8).
    #[default]
    Gone,
    /// Translate to `/v2/modules` as on 7.x, for clusters verified to still serve it.
    ForwardV2,
}

/// Default upload size limit (§4.7 step 1).
pub const DEFAULT_MAX_UPLOAD: usize = 512 * 1024 * 1024;
/// The upload successor.
pub const V2_UPLOAD: &str = "/v2/modules";

/// The delete successor for a module uid.
pub fn v2_delete_path(uid: Param<'_>) -> String {
    format!("/v2/modules/{uid}")
}

/// What `/v2/modules` accepted (its 200 body: a module object plus `action_uid`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Accepted {
    pub action_uid: Option<String>,
    pub module_uid: Option<String>,
}

/// Reads the v2 200 body. Unknown or missing fields are `None`: the executor then polls the
/// module (upload) or replies at once (delete without an action).
pub fn accepted(reply: &[u8]) -> Accepted {
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(reply) else {
        return Accepted::default();
    };
    Accepted {
        action_uid: text(o.get("action_uid")),
        module_uid: text(o.get("uid")),
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The next step of a wait, from one polled action.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    KeepPolling,
    /// Upload: fetch `GET /v1/modules/{uid}` and reply with [`upload_reply`]. Delete: reply
    /// 200 with an empty body.
    Done,
    /// Reply with this error.
    Fail(ApiError),
}

/// Upload: judge a polled action (§4.7 step 3).
pub fn upload_step(action: &Action) -> Step {
    step(action, StatusCode::BAD_REQUEST, "invalid_module")
}

/// Delete: judge a polled action (§4.7 step 4).
pub fn delete_step(action: &Action) -> Step {
    step(action, StatusCode::NOT_ACCEPTABLE, "module_delete_failed")
}

fn step(action: &Action, status: StatusCode, default_code: &str) -> Step {
    match action_state(action) {
        ActionState::Running => Step::KeepPolling,
        ActionState::Completed => Step::Done,
        ActionState::Failed(judged) => {
            let code = action
                .error_code
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .unwrap_or(default_code);
            // The shared judge words its fallback text for upgrades.
            let text = match judged.text.strip_prefix("upgrade action ") {
                Some(rest) => format!("module action {rest}"),
                None => judged.text,
            };
            Step::Fail(
                ApiError::new(status, code, text)
                    .with("action_uid", action.action_uid.clone())
                    .blamed_on(Blame::Upstream),
            )
        }
    }
}

/// The reply after a completed upload, from `GET /v1/modules/{uid}`: `Ok(module object)` to send
/// with 200, or the error to send. `None` for a status to relay as the cluster sent it.
pub fn upload_reply(status: StatusCode, body: &[u8]) -> Option<Result<Value, ApiError>> {
    if status == StatusCode::NOT_FOUND {
        return Some(Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "upload_failed",
            "the upload action completed but the module is not in the cluster's catalog",
        )
        .blamed_on(Blame::Upstream)));
    }
    if status != StatusCode::OK {
        return None;
    }
    Some(match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut module)) => {
            module.remove("action_uid");
            Ok(Value::Object(module))
        }
        _ => Err(ApiError::upstream_invalid_reply(
            "GET /v1/modules/{uid} did not answer with a module object",
        )),
    })
}

/// 504 when the wait ran out; the action may still finish.
pub fn timeout(upload: bool, action_uid: Option<&str>) -> ApiError {
    let (code, what) = if upload {
        ("upload_timeout", "module upload")
    } else {
        ("delete_timeout", "module delete")
    };
    let text = match action_uid {
        Some(uid) => format!(
            "{what} action {uid} had not finished in time; it may still complete, follow it with GET /v1/actions/{uid}"
        ),
        None => format!("{what} had not finished in time"),
    };
    ApiError::new(StatusCode::GATEWAY_TIMEOUT, code, text).with("action_uid", action_uid)
}

/// The 8.x answer (R6, §4.8): the error to send with the gone band's marks and successor.
pub fn gone(upload: bool) -> ApiError {
    let text = if upload {
        "POST /v1/modules is not available on Redis Software 8.x. Add custom modules with \
         POST /v2/modules/user-defined and POST /v2/local/modules/user-defined/artifacts on every node."
    } else {
        "DELETE /v1/modules/{uid} is not available on Redis Software 8.x. Remove custom modules \
         with DELETE /v2/modules/user-defined/{uid} and DELETE \
         /v2/local/modules/user-defined/artifacts/{module_name}/{version} on every node."
    };
    ApiError::new(StatusCode::GONE, "route_removed", text)
}

/// Whether a uid the cluster sent can go into a request path as it is: 1 to 128 letters,
/// digits, `-` or `_`. Anything else is an invalid reply, never put in a path.
pub fn plain_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 128
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What goes into the audit record (§4.7 step 6); never the package bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audit {
    pub module_uid: Option<String>,
    pub module_name: Option<String>,
    pub semantic_version: Option<String>,
    pub action_uid: Option<String>,
}

/// Audit fields from a module object (the v2 reply or the final look-up).
pub fn audit(module: &Map<String, Value>) -> Audit {
    Audit {
        module_uid: text(module.get("uid")),
        module_name: text(module.get("module_name")),
        semantic_version: text(module.get("semantic_version")),
        action_uid: text(module.get("action_uid")),
    }
}

#[cfg(test)]
#[path = "modules_tests.rs"]
mod tests;
