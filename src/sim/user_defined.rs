//! The user-defined module APIs of RS 8.x (API-RULES §4.5; 404 before 8.0, see `routes`):
//! `POST /v2/modules/user-defined` (a JSON config → a catalog entry), `DELETE
//! /v2/modules/user-defined/{uid}` (the catalog entry only, never the artifacts), and the
//! node-local `POST|GET /v2/local/modules/user-defined/artifacts`. On 8.2 both POSTs answer
//! `403 modules_upload_disabled`, whatever the role, unless the cluster's
//! `allow_modules_upload` is true (`PUT /v1/cluster`).
//!
//! Decisions: a missing or mistyped config field → 400 `invalid_request` naming it; a name and
//! semantic version already in the catalog → 406 `module_exists`; an artifact already on the
//! nodes → 406 `artifact_exists`; deleting a bundled module → 406 `module_is_bundled`. The
//! artifact package is recognised as in `uploads`. The simulated cluster is one node for these
//! node-local calls.

use http::StatusCode;
use serde_json::{json, Value};

use super::body;
use super::modules::{self, Package};
use super::routes::Answer;
use super::state::{Artifact, SimState};
use super::version::{version_number, SimVersion};
use crate::error::ApiError;

const STR_FIELDS: &[&str] = &[
    "module_name",
    "semantic_version",
    "display_name",
    "min_redis_version",
];
const LIST_FIELDS: &[&str] = &["commands", "capabilities"];

/// 403 `modules_upload_disabled` on 8.2 unless `allow_modules_upload`.
pub fn upload_allowed(state: &SimState, version: SimVersion) -> Result<(), ApiError> {
    let allowed = state.cluster.get("allow_modules_upload") == Some(&Value::Bool(true));
    if version.has_8_2_switches() && !allowed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "modules_upload_disabled",
            "Module uploads are disabled on this cluster (allow_modules_upload is false)",
        ));
    }
    Ok(())
}

/// `POST /v2/modules/user-defined`.
pub fn create(state: &mut SimState, version: SimVersion, raw: &[u8]) -> Result<Answer, ApiError> {
    upload_allowed(state, version)?;
    let map = body::object(raw, false)?;
    for key in STR_FIELDS {
        body::req_str(&map, key, "")?;
    }
    // Required, but commonly empty.
    body::opt_str(&map, "command_line_args")?
        .ok_or_else(|| body::shape("command_line_args", "is required"))?;
    for key in LIST_FIELDS {
        if !map.get(*key).is_some_and(Value::is_array) {
            return Err(body::shape(key, "must be a list"));
        }
    }
    body::opt_uint(&map, "version")?.ok_or_else(|| body::shape("version", "is required"))?;
    let s = |k: &str| {
        map.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let p = Package {
        module_name: s("module_name"),
        semantic_version: s("semantic_version"),
        has_dependencies: false,
        manifest: map.clone(),
    };
    modules::exists_check(state, &p, StatusCode::NOT_ACCEPTABLE)?;
    let module = modules::module_of(&p, false);
    let reply = serde_json::to_value(&module).unwrap_or(Value::Null);
    state.modules.push(module);
    Ok(Answer::Json(reply))
}

/// `DELETE /v2/modules/user-defined/{uid}`.
pub fn delete(state: &mut SimState, uid: &str) -> Result<Answer, ApiError> {
    let module = state.module(uid).ok_or_else(|| {
        ApiError::not_found("module_not_found", format!("Module {uid} does not exist"))
    })?;
    if module.extra.get("is_bundled") == Some(&Value::Bool(true)) {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "module_is_bundled",
            format!("Module {uid} is bundled with the cluster and cannot be deleted"),
        ));
    }
    state.modules.retain(|m| m.uid != uid);
    Ok(Answer::Empty)
}

/// `POST /v2/local/modules/user-defined/artifacts`.
pub fn upload_artifact(
    state: &mut SimState,
    version: SimVersion,
    content_type: Option<&str>,
    raw: &[u8],
) -> Result<Answer, ApiError> {
    upload_allowed(state, version)?;
    let p = modules::package(state, content_type, raw)?;
    let artifact = Artifact {
        module_name: p.module_name.clone(),
        version: version_number(&p.semantic_version),
        dependencies: p
            .manifest
            .get("dependencies")
            .and_then(Value::as_object)
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default(),
    };
    if state
        .artifacts
        .iter()
        .any(|a| a.module_name == artifact.module_name && a.version == artifact.version)
    {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "artifact_exists",
            format!(
                "Artifact {} {} is already on this node",
                p.module_name, p.semantic_version
            ),
        ));
    }
    let reply = json!(artifact);
    state.artifacts.push(artifact);
    Ok(Answer::Json(reply))
}
