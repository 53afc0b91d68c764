//! The old synchronous module upgrade, as RS ≤ 7.8 serves it natively:
//! `POST /v1/modules/upgrade/bdb/{uid}` (deprecated; gone on 8.0) and its sibling
//! `POST /v1/bdbs/{uid}/modules/upgrade` (every release). This is the reference the shim's
//! translation is compared against, so it is written independently of `src/rules/module_upgrade`.
//!
//! Order (API.md §5): parse the body (400 `invalid_json` / `invalid_request`), find the database
//! (404 `bdb_not_found`), then per entry, first failure wins: new module in the catalog (400
//! `missing_module`), a matching module enabled on the database (400 `missing_module`),
//! downgrade (406 `module_downgrade_unsupported`), Redis (406 `redis_incompatible_version`),
//! cluster version (406 `redis_pack_incompatible_version`), capabilities (406
//! `unsupported_module_capabilities`); then 409 when the database is busy with an action.
//! Only the named modules change, at once; Redis is never touched.

use http::StatusCode;
use serde_json::{json, Map, Value};

use super::body;
use super::compat::{self, Misfit};
use super::module_upgrade::busy;
use super::routes::bdb_not_found;
use super::state::{Bdb, BdbModule, SimState};
use crate::error::ApiError;

/// One normalised entry of shapes A–D (API.md §2).
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyEntry {
    pub new_module: String,
    pub current_module: Option<String>,
    pub module_name: Option<String>,
    pub new_module_args: Option<String>,
}

/// Serves the old route (or its sibling) and answers with the old reply for the first entry:
/// `{"uid","name","module_id","module_name","semantic_version","module_args"}`.
pub fn upgrade_modules(state: &mut SimState, uid: u64, raw: &[u8]) -> Result<Value, ApiError> {
    let entries = parse(raw)?;
    let bdb = state.bdb(uid).ok_or_else(|| bdb_not_found(uid))?;
    let mut replacements = Vec::with_capacity(entries.len());
    for entry in &entries {
        replacements.push(validate(state, bdb, entry)?);
    }
    if let Some(running) = state.busy_with(bdb) {
        return Err(busy(uid, &running));
    }
    let bdb = state.bdb_mut(uid).ok_or_else(|| bdb_not_found(uid))?;
    for (old_id, new) in &replacements {
        if let Some(slot) = bdb.module_list.iter_mut().find(|m| &m.module_id == old_id) {
            *slot = new.clone();
        }
    }
    let first = replacements.first().map(|(_, m)| m);
    Ok(json!({
        "uid": bdb.uid,
        "name": bdb.name,
        "module_id": first.map(|m| m.module_id.as_str()),
        "module_name": first.map(|m| m.module_name.as_str()),
        "semantic_version": first.map(|m| m.semantic_version.as_str()),
        "module_args": first.map(|m| m.module_args.as_str()),
    }))
}

/// Normalises shapes A–D into entries. A body with `modules` is A/B/C; one without is the flat
/// shape D.
pub fn parse(raw: &[u8]) -> Result<Vec<LegacyEntry>, ApiError> {
    let map = body::object(raw, false)?;
    for key in ["preserve_roles", "may_discard_data", "force_restart"] {
        body::opt_bool(&map, key)?;
    }
    let list = match map.get("modules") {
        Some(Value::Array(list)) if list.is_empty() => {
            return Err(body::shape("modules", "must not be empty"))
        }
        Some(Value::Array(list)) => list,
        Some(Value::Null) | None if map.contains_key("new_module") => {
            return Ok(vec![entry(&map, "")?]);
        }
        Some(Value::Null) | None => return Err(body::shape("modules", "is required")),
        Some(_) => return Err(body::shape("modules", "must be a list")),
    };
    list.iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(m) => entry(m, &format!("modules[{i}].")),
            _ => Err(body::shape(&format!("modules[{i}]"), "must be an object")),
        })
        .collect()
}

/// `current_semantic_version` (shape B) is type-checked and otherwise unused: a database has
/// one module per name, so `module_name` alone finds it.
fn entry(map: &Map<String, Value>, ctx: &str) -> Result<LegacyEntry, ApiError> {
    body::entry_str(map, "current_semantic_version", ctx)?;
    Ok(LegacyEntry {
        new_module: body::req_str(map, "new_module", ctx)?,
        current_module: body::entry_str(map, "current_module", ctx)?,
        module_name: body::entry_str(map, "module_name", ctx)?,
        new_module_args: body::entry_str(map, "new_module_args", ctx)?,
    })
}

/// Checks one entry; on success returns (replaced module_id, its new `module_list` entry).
fn validate(state: &SimState, bdb: &Bdb, e: &LegacyEntry) -> Result<(String, BdbModule), ApiError> {
    let new = state.module(&e.new_module).ok_or_else(|| {
        missing(format!(
            "Module is not present in cluster: {}",
            e.new_module
        ))
    })?;
    // A module is only ever replaced by another version of itself, as on the new route
    // (`module_upgrade::resolve_entries`): a `current_module` of another name matches nothing.
    let current = find_current(bdb, e, &new.module_name)
        .filter(|m| m.module_name.eq_ignore_ascii_case(&new.module_name));
    let current = current.ok_or_else(|| {
        missing(format!(
            "No matching module is enabled on database {} for module {}",
            bdb.uid, e.new_module
        ))
    })?;
    let caps = state
        .module(&current.module_id)
        .map(|m| m.capabilities.clone())
        .unwrap_or_default();
    let checks = compat::check_downgrade(current, new)
        .and_then(|()| compat::check_redis(new, &bdb.redis_version, &bdb.version, true))
        .and_then(|()| compat::check_pack(new, state.lowest_software_version()))
        .and_then(|()| compat::check_capabilities(&caps, new));
    checks.map_err(not_acceptable)?;
    let replacement = BdbModule {
        module_id: new.uid.clone(),
        module_name: new.module_name.clone(),
        module_args: e
            .new_module_args
            .clone()
            .unwrap_or_else(|| current.module_args.clone()),
        semantic_version: new.semantic_version.clone(),
    };
    Ok((current.module_id.clone(), replacement))
}

/// The enabled module an entry replaces: by `current_module` uid when given; else by
/// `module_name` (case-insensitive: the docs write both "ReJson" and "ReJSON"); else by the new
/// module's name.
fn find_current<'a>(bdb: &'a Bdb, e: &LegacyEntry, new_name: &str) -> Option<&'a BdbModule> {
    let list = &bdb.module_list;
    match (&e.current_module, &e.module_name) {
        (Some(id), _) => list.iter().find(|m| &m.module_id == id),
        (None, Some(name)) => list
            .iter()
            .find(|m| m.module_name.eq_ignore_ascii_case(name)),
        (None, None) => list
            .iter()
            .find(|m| m.module_name.eq_ignore_ascii_case(new_name)),
    }
}

fn missing(text: String) -> ApiError {
    ApiError::bad_request("missing_module", text)
}

fn not_acceptable(m: Misfit) -> ApiError {
    ApiError::new(StatusCode::NOT_ACCEPTABLE, m.error_code, m.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_a_to_d_normalise_to_entries() {
        let a = br#"{"modules":[{"current_module":"c","new_module":"n","new_module_args":""}],"preserve_roles":true,"may_discard_data":false}"#;
        let b = br#"{"modules":[{"module_name":"ReJSON","current_semantic_version":"2.4.13","new_module":"n"}],"preserve_roles":true}"#;
        let c = br#"{"modules":[{"current_module":"c","module_name":"ReJson","new_module":"n"}],"force_restart":true}"#;
        let d = br#"{"current_module":"c","new_module":"n","new_module_args":"X 1"}"#;
        for raw in [&a[..], &b[..], &c[..], &d[..]] {
            let entries = parse(raw).expect("accepted");
            assert_eq!(entries.len(), 1);
            assert_eq!(entries[0].new_module, "n");
        }
        assert_eq!(
            parse(d).expect("d")[0].new_module_args.as_deref(),
            Some("X 1")
        );
        assert_eq!(
            parse(b).expect("b")[0].module_name.as_deref(),
            Some("ReJSON")
        );
    }

    #[test]
    fn a_module_is_never_replaced_by_another_module() {
        use crate::sim::seed::{seed, REJSON_2_6_6, SEARCH_2_8_9};
        use crate::sim::version::SimVersion;
        let mut state = seed(SimVersion::V7_4);
        let before = state.bdb(1).map(|b| b.module_list.clone());
        for body in [
            format!(r#"{{"current_module":"{REJSON_2_6_6}","new_module":"{SEARCH_2_8_9}"}}"#),
            format!(r#"{{"module_name":"ReJSON","new_module":"{SEARCH_2_8_9}"}}"#),
        ] {
            let err = upgrade_modules(&mut state, 1, body.as_bytes()).expect_err("refused");
            assert_eq!(err.error_code, "missing_module", "{body}");
        }
        assert_eq!(state.bdb(1).map(|b| b.module_list.clone()), before);
    }

    #[test]
    fn malformed_bodies_name_the_field() {
        let err = |raw: &[u8]| parse(raw).expect_err("rejected");
        assert_eq!(err(b"{").error_code, "invalid_json");
        assert_eq!(
            err(br#"{"modules":[{}]}"#).extra["field"],
            "modules[0].new_module"
        );
        assert_eq!(err(br#"{"modules":"x"}"#).extra["field"], "modules");
        assert_eq!(err(br#"{"modules":[]}"#).extra["field"], "modules");
        assert_eq!(
            err(br#"{"new_module":"n","force_restart":"yes"}"#).extra["field"],
            "force_restart"
        );
    }
}
