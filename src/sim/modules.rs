//! Module upload and delete on 7.x (API-RULES §4.2–§4.4, §4.6): `POST /v1/modules` and
//! `DELETE /v1/modules/{uid}` synchronous; `POST /v2/modules` and `DELETE /v2/modules/{uid}`
//! asynchronous, as `module_upload` / `module_delete` actions (`action_type: "task"`) that
//! apply at completion and fail through the `fail_next_action` switch. On 8.x all four are 404
//! unless `v1_modules_on_8x` / `v2_modules_on_8x` (see `routes`). Also how the simulator
//! recognises a package, which the user-defined APIs (`user_defined`) share.
//!
//! Decisions:
//! - A package is the bytes of the form part named `module`. When they are a JSON object with
//!   string `module_name` and `semantic_version` (a stand-in for RAMP's `module.json`), those
//!   win, with optional `display_name`, `min_redis_version`, `capabilities` and
//!   `dependencies` (an object; non-empty = "declares dependencies"). Otherwise the file name
//!   names it, as RAMP bundles are named: `<module>.<platform...>.<major>.<minor>.<patch>.zip`
//!   (`rejson.Linux-ubuntu18.04-x86_64.2.0.8.zip` → `rejson` 2.0.8; a name matching a catalog
//!   module case-insensitively takes the catalog's spelling, `ReJSON`).
//! - No `module` part, or an empty one → 400 `no_module`; unrecognisable → 400 `invalid_module`;
//!   same name and version already in the catalog → 400 `module_exists`; dependencies on v1
//!   → 400 `dependencies_not_supported` (v2 accepts them). v1 documents only 400 for upload.
//! - The module uid is derived from name and version (FNV-1a, 32 hex), so the same package
//!   gets the same uid on every simulator: native v1 and translated v2 can be compared.
//! - Delete: unknown uid → 404 `module_not_found`; a module enabled on a database → 406
//!   `module_in_use`; v1 on a module with dependencies → 406 `dependencies_not_supported`.
//!   v1 answers 200 with an empty body; v2 `{"action_uid"}`.

use serde_json::{json, Map, Value};
use std::time::Duration;

use super::actions::{self, Change};
use super::faults::Faults;
use super::multipart;
use super::routes::Answer;
use super::seed::CAPS_BASE;
use super::state::{Module, SimState};
use super::version::version_number;
use crate::error::ApiError;

/// A recognised package.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    pub module_name: String,
    pub semantic_version: String,
    pub has_dependencies: bool,
    pub manifest: Map<String, Value>,
}

/// The package in a multipart body's `module` part.
pub fn package(
    state: &SimState,
    content_type: Option<&str>,
    raw: &[u8],
) -> Result<Package, ApiError> {
    let no_module =
        || ApiError::bad_request("no_module", "Module wasn't provided or could not be found");
    let boundary = content_type
        .and_then(multipart::boundary)
        .ok_or_else(no_module)?;
    let parts = multipart::parse(raw, &boundary).map_err(|e| {
        ApiError::bad_request("no_module", format!("Malformed multipart body: {e}"))
    })?;
    let part = parts
        .iter()
        .find(|p| p.name == "module")
        .ok_or_else(no_module)?;
    if part.data.is_empty() {
        return Err(no_module());
    }
    let invalid = || {
        ApiError::bad_request(
            "invalid_module",
            "Module either corrupted or packaged files are wrong",
        )
    };
    let (name, version, manifest) = match serde_json::from_slice::<Value>(part.data) {
        Ok(Value::Object(m)) => {
            let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
            (s("module_name"), s("semantic_version"), m.clone())
        }
        _ => {
            let (n, v) = part.filename.as_deref().and_then(from_file_name).unzip();
            (n, v, Map::new())
        }
    };
    let (Some(name), Some(version)) = (name, version) else {
        return Err(invalid());
    };
    if name.is_empty() || version_number(&version) == 0 {
        return Err(invalid());
    }
    let module_name = state
        .modules
        .iter()
        .find(|m| m.module_name.eq_ignore_ascii_case(&name))
        .map_or(name, |m| m.module_name.clone());
    let has_dependencies = manifest
        .get("dependencies")
        .and_then(Value::as_object)
        .is_some_and(|d| !d.is_empty());
    Ok(Package {
        module_name,
        semantic_version: version,
        has_dependencies,
        manifest,
    })
}

/// `<module>.<...>.<major>.<minor>.<patch>.zip` → (module, "major.minor.patch").
fn from_file_name(file: &str) -> Option<(String, String)> {
    let stem = file.rsplit(['/', '\\']).next()?.strip_suffix(".zip")?;
    let segs: Vec<&str> = stem.split('.').collect();
    let n = segs.len();
    if n < 4
        || !segs[n - 3..]
            .iter()
            .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some((segs[0].to_owned(), segs[n - 3..].join(".")))
}

/// The catalog entry a package becomes.
pub fn module_of(p: &Package, bundled: bool) -> Module {
    let s = |k: &str, d: &str| {
        p.manifest
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or(d)
            .to_owned()
    };
    let capabilities = match p.manifest.get("capabilities").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        None => CAPS_BASE.iter().map(|c| (*c).to_owned()).collect(),
    };
    let mut extra = Map::new();
    extra.insert("author".into(), json!(s("author", "RedisLabs")));
    extra.insert("is_bundled".into(), json!(bundled));
    if let Some(deps) = p
        .manifest
        .get("dependencies")
        .filter(|_| p.has_dependencies)
    {
        extra.insert("dependencies".into(), deps.clone());
    }
    Module {
        uid: stable_uid(&p.module_name, &p.semantic_version),
        module_name: p.module_name.clone(),
        display_name: s("display_name", &p.module_name),
        semantic_version: p.semantic_version.clone(),
        version: version_number(&p.semantic_version),
        min_redis_version: s("min_redis_version", "7.1.0"),
        compatible_redis_version: String::new(),
        min_redis_pack_version: String::new(),
        capabilities,
        extra,
    }
}

/// 32 hex characters from name and version (two FNV-1a 64 passes with different offsets).
pub fn stable_uid(name: &str, version: &str) -> String {
    let fnv = |seed: u64| {
        format!("{name}\0{version}").bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x8422_2325_cbf2_9ce4)
    )
}

/// `POST /v1/modules` (`v2` false) or `POST /v2/modules`.
pub fn upload(
    state: &mut SimState,
    faults: &Faults,
    v2: bool,
    content_type: Option<&str>,
    raw: &[u8],
    duration: Duration,
) -> Result<Answer, ApiError> {
    let p = package(state, content_type, raw)?;
    if !v2 && p.has_dependencies {
        return Err(ApiError::bad_request(
            "dependencies_not_supported",
            "This endpoint does not support dependencies, see v2",
        ));
    }
    exists_check(state, &p, http::StatusCode::BAD_REQUEST)?;
    let module = module_of(&p, false);
    let mut reply = serde_json::to_value(&module).unwrap_or(Value::Null);
    if !v2 {
        state.modules.push(module);
        return Ok(Answer::Json(reply));
    }
    let object = format!("module:{}", module.uid);
    let change = Change {
        add_module: Some(module),
        ..Change::default()
    };
    let fate = faults.take_action_fate();
    let action_uid = actions::start_named(state, "module_upload", &object, change, fate, duration);
    reply["action_uid"] = json!(action_uid);
    Ok(Answer::Json(reply))
}

/// `module_exists` when the catalog already holds this name and version.
pub fn exists_check(
    state: &SimState,
    p: &Package,
    status: http::StatusCode,
) -> Result<(), ApiError> {
    let dup = state.modules.iter().any(|m| {
        m.module_name.eq_ignore_ascii_case(&p.module_name)
            && m.semantic_version == p.semantic_version
    });
    if dup {
        return Err(ApiError::new(
            status,
            "module_exists",
            format!(
                "Module already in system: {} {}",
                p.module_name, p.semantic_version
            ),
        ));
    }
    Ok(())
}

/// `DELETE /v1/modules/{uid}` or `DELETE /v2/modules/{uid}`.
pub fn delete(
    state: &mut SimState,
    faults: &Faults,
    v2: bool,
    uid: &str,
    duration: Duration,
) -> Result<Answer, ApiError> {
    let module = state.module(uid).ok_or_else(|| {
        ApiError::not_found("module_not_found", format!("Module {uid} does not exist"))
    })?;
    let not_acceptable =
        |code: &str, text: String| ApiError::new(http::StatusCode::NOT_ACCEPTABLE, code, text);
    if !v2 && module.extra.contains_key("dependencies") {
        return Err(not_acceptable(
            "dependencies_not_supported",
            format!("Module {uid} has dependencies: use DELETE /v2/modules/{uid}"),
        ));
    }
    let in_use = state
        .bdbs
        .iter()
        .find(|b| b.module_list.iter().any(|m| m.module_id == uid));
    if let Some(bdb) = in_use {
        return Err(not_acceptable(
            "module_in_use",
            format!("Module {uid} is enabled on database {}", bdb.uid),
        ));
    }
    if !v2 {
        state.modules.retain(|m| m.uid != uid);
        return Ok(Answer::Empty);
    }
    let change = Change {
        remove_module: Some(uid.to_owned()),
        ..Change::default()
    };
    let fate = faults.take_action_fate();
    let object = format!("module:{uid}");
    let action_uid = actions::start_named(state, "module_delete", &object, change, fate, duration);
    Ok(Answer::Json(json!({ "action_uid": action_uid })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_file_names_name_the_module() {
        assert_eq!(
            from_file_name("/tmp/rejson.Linux-ubuntu18.04-x86_64.2.0.8.zip"),
            Some(("rejson".into(), "2.0.8".into()))
        );
        assert_eq!(from_file_name("custom-module.zip"), None);
        assert_eq!(from_file_name("a.b.1.2.x.zip"), None);
        assert_eq!(from_file_name("rejson.2.0.8.tgz"), None);
    }

    #[test]
    fn uids_are_stable_hex_and_differ_by_version() {
        let a = stable_uid("ReJSON", "2.6.20");
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, stable_uid("ReJSON", "2.6.20"));
        assert_ne!(a, stable_uid("ReJSON", "2.6.21"));
    }
}
