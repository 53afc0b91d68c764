//! `PUT /v1/bdbs/{uid}`, as far as R14 needs it (`shared/API-CATALOGUE.md` §4.3): a changed
//! `module_list` (every release) and, from 8.0, the `search`, `timeseries` and `probabilistic`
//! capability objects, applied by an asynchronous `SMUpdateBDB` action (the database is
//! `active-change-pending` with its `action_uid` meanwhile, as during an upgrade). Admin only
//! (`update_bdb`).
//!
//! Answers, first failure wins: 400 `invalid_json` / `invalid_request` (naming the field) for a
//! bad body, 404 `bdb_not_found`, 406 `module_list_read_only` when the `put_module_list` switch
//! is `"406"` and the body has a `module_list`, 406 `unsupported_module_list_change` (an entry
//! naming a module the database does not have, or another version of it), 400 `param_error`
//! (a mapped argument of the wrong type), 409 `action_in_progress`; else 200 with the database
//! object (`status: "active-change-pending"`, `action_uid`), the change applied on completion.
//!
//! Decisions (no page shows either kind of change through this route, §4.1):
//! - Only `module_list` and, on 8.x, the three objects are accepted; any other field is
//!   `400 invalid_request` ("not a field the simulator can change"), as is an object on 7.x.
//! - A `module_list` entry is matched by `module_id`, else by `module_name` (case-insensitive);
//!   `module_args` (a string, or null for none) **replaces** the database's value (merging is
//!   the caller's job; the old config route merges). Modules left out are unchanged;
//!   `semantic_version`, when given, must be the current one.
//! - On a Redis 8 database changed `module_args` are also mapped into the capability objects,
//!   as the old routes do (`module_config::MAPPED`); an explicit object in the same body wins,
//!   and an entry sent back unchanged maps nothing (so a GET-modify-PUT keeps the objects).
//! - An object is merged key by key into what the database has (defaults included): a key must
//!   be one the simulator's object carries, with a value of the same JSON type. The database
//!   must run Redis 8 and have the module (else `400 invalid_request`).

use serde_json::{Map, Value};

use super::actions::Change;
use super::body;
use super::catalogue_b::{start_bdb_action, Ctx, PutModuleList};
use super::module_config::{check_args, map_into, Objects};
use super::module_upgrade::busy;
use super::redis8::{capability_defaults, capability_view, effective, runs_redis8, CAPABILITIES};
use super::routes::{bdb_not_found, Answer, Rejection};
use super::state::{Bdb, BdbModule, SimState};
use crate::error::ApiError;

/// Serves `PUT /v1/bdbs/{uid}`.
pub fn update(
    state: &mut SimState,
    ctx: &Ctx<'_>,
    uid: u64,
    raw: &[u8],
) -> Result<Answer, Rejection> {
    let map = body::object(raw, false)?;
    let bdb = state.bdb(uid).ok_or_else(|| bdb_not_found(uid))?.clone();
    let objects_served = ctx.version.is_8x();
    for key in map.keys() {
        let object = CAPABILITIES.iter().any(|(_, o)| o == key);
        if key != "module_list" && !(object && objects_served) {
            return Err(body::shape(key, "is not a field the simulator can change").into());
        }
    }
    let mut change = Change::default();
    let mut objects = Objects::new();
    if let Some(list) = map.get("module_list") {
        if ctx.faults.get().put_module_list == PutModuleList::Refuse {
            return Err(ApiError::new(
                http::StatusCode::NOT_ACCEPTABLE,
                "module_list_read_only",
                "module_list cannot be changed with PUT /v1/bdbs/{uid}",
            )
            .into());
        }
        for new in module_list(&bdb, list)? {
            let unchanged = bdb.module_list.contains(&new);
            if unchanged {
                continue;
            }
            if runs_redis8(&bdb) {
                map_into(&bdb, &new.module_name, &new.module_args, &mut objects)?;
            }
            change.modules.retain(|(id, _)| id != &new.module_id);
            change.modules.push((new.module_id.clone(), new));
        }
    }
    for (module, object) in CAPABILITIES {
        if let Some(given) = map.get(object).filter(|v| !v.is_null()) {
            let merged = objects
                .entry(object)
                .or_insert_with(|| effective(&bdb, object));
            merge_object(&bdb, module, object, given, merged)?;
        }
    }
    if let Some(running) = state.busy_with(&bdb) {
        return Err(busy(uid, &running).into());
    }
    for (name, object) in objects {
        change
            .bdb_fields
            .insert(name.to_owned(), Value::Object(object));
    }
    let fate = ctx.faults.take_action_fate();
    start_bdb_action(state, uid, change, fate, ctx.duration);
    let mut reply = state.bdb(uid).map(Bdb::to_json).unwrap_or(Value::Null);
    if let Some(now) = state.bdb(uid) {
        capability_view(&mut reply, now, false);
    }
    Ok(Answer::Json(reply))
}

/// The entries of a `module_list`, each the database's module with its new `module_args`.
fn module_list(bdb: &Bdb, list: &Value) -> Result<Vec<BdbModule>, ApiError> {
    let Value::Array(list) = list else {
        return Err(body::shape("module_list", "must be a list"));
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let ctx = format!("module_list[{i}].");
        let Value::Object(entry) = item else {
            return Err(body::shape(
                &format!("module_list[{i}]"),
                "must be an object",
            ));
        };
        let known = [
            "module_id",
            "module_name",
            "module_args",
            "semantic_version",
        ];
        body::only_known(entry, &known, &ctx)?;
        let id = body::entry_str(entry, "module_id", &ctx)?;
        let name = body::entry_str(entry, "module_name", &ctx)?;
        let version = body::entry_str(entry, "semantic_version", &ctx)?;
        let current = match (&id, &name) {
            (Some(id), _) => bdb.module_list.iter().find(|m| &m.module_id == id),
            (None, Some(n)) => bdb
                .module_list
                .iter()
                .find(|m| m.module_name.eq_ignore_ascii_case(n)),
            (None, None) => return Err(body::shape(&format!("{ctx}module_name"), "is required")),
        };
        let same_name = |m: &&BdbModule| {
            name.as_ref()
                .is_none_or(|n| m.module_name.eq_ignore_ascii_case(n))
        };
        let same_version =
            |m: &&BdbModule| version.as_ref().is_none_or(|v| &m.semantic_version == v);
        let Some(current) = current.filter(same_name).filter(same_version) else {
            return Err(ApiError::new(
                http::StatusCode::NOT_ACCEPTABLE,
                "unsupported_module_list_change",
                format!(
                    "{ctx} names no module enabled on database {}: modules are added when a \
                     database is created and upgraded with POST /v1/bdbs/{}/upgrade",
                    bdb.uid, bdb.uid
                ),
            ));
        };
        let mut new = current.clone();
        match entry.get("module_args") {
            None => {}
            Some(Value::Null) => new.module_args = String::new(),
            Some(Value::String(s)) => {
                check_args(s).map_err(|e| body::shape(&format!("{ctx}module_args"), e))?;
                new.module_args = s.clone();
            }
            Some(_) => {
                return Err(body::shape(
                    &format!("{ctx}module_args"),
                    "must be a string",
                ))
            }
        }
        out.push(new);
    }
    Ok(out)
}

/// Merges a given capability object into `merged` (type-checked against the defaults).
fn merge_object(
    bdb: &Bdb,
    module: &str,
    object: &str,
    given: &Value,
    merged: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let has_module = bdb.module_list.iter().any(|m| m.module_name == module);
    if !runs_redis8(bdb) || !has_module {
        return Err(body::shape(
            object,
            &format!("needs a Redis 8 database with the {module} module"),
        ));
    }
    let Value::Object(given) = given else {
        return Err(body::shape(object, "must be an object"));
    };
    let defaults = capability_defaults(object);
    for (key, value) in given {
        let field = format!("{object}.{key}");
        let Some(default) = defaults.get(key) else {
            return Err(body::shape(&field, "is not a known field"));
        };
        let same_type = match default {
            Value::Number(_) => value.is_number(),
            Value::String(_) => value.is_string(),
            Value::Bool(_) => value.is_boolean(),
            _ => false,
        };
        if !same_type {
            return Err(body::shape(&field, "has the wrong type"));
        }
        merged.insert(key.clone(), value.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::faults::Faults;
    use crate::sim::seed::{seed, seed_with_redis8};
    use crate::sim::version::SimVersion;
    use std::time::{Duration, Instant};

    fn put(s: &mut SimState, v: SimVersion, uid: u64, raw: &str) -> Result<Answer, Rejection> {
        let faults = Faults::default();
        let ctx = Ctx {
            version: v,
            faults: &faults,
            duration: Duration::ZERO,
            query: None,
        };
        let r = update(s, &ctx, uid, raw.as_bytes());
        crate::sim::actions::tick(s, Instant::now());
        r
    }

    fn code(r: Result<Answer, Rejection>) -> String {
        match r {
            Err(Rejection::Api(e)) => e.error_code,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn module_args_change_through_an_action() {
        let mut s = seed(SimVersion::V7_8);
        let body = r#"{"module_list":[{"module_name":"search","module_args":"PARTITIONS AUTO MINPREFIX 3"}]}"#;
        let Ok(Answer::Json(reply)) = put(&mut s, SimVersion::V7_8, 1, body) else {
            panic!("accepted");
        };
        assert_eq!(reply["status"], "active-change-pending");
        let bdb = s.bdb(1).expect("bdb");
        assert_eq!(
            bdb.module_list[1].module_args,
            "PARTITIONS AUTO MINPREFIX 3"
        );
        assert_eq!(bdb.module_list[0].module_args, "", "ReJSON unchanged");
        assert_eq!(bdb.status, "active");
    }

    #[test]
    fn objects_are_8x_redis_8_only_and_type_checked() {
        let mut s = seed_with_redis8(SimVersion::V8_0);
        let ok = r#"{"search":{"search-timeout":900},"module_list":[{"module_name":"search","module_args":"MINPREFIX 4 TIMEOUT 1"}]}"#;
        assert!(put(&mut s, SimVersion::V8_0, 5, ok).is_ok());
        let search = s.bdb(5).and_then(|b| b.extra.get("search")).cloned();
        let search = search.expect("stored");
        assert_eq!(
            (&search["search-timeout"], &search["search-min-prefix"]),
            (&Value::from(900), &Value::from(4))
        );
        let bad = |uid, raw| {
            code(put(
                &mut seed_with_redis8(SimVersion::V8_0),
                SimVersion::V8_0,
                uid,
                raw,
            ))
        };
        assert_eq!(
            bad(5, r#"{"search":{"search-timeout":"x"}}"#),
            "invalid_request"
        );
        assert_eq!(bad(5, r#"{"search":{"nope":1}}"#), "invalid_request");
        assert_eq!(
            bad(1, r#"{"search":{"search-timeout":1}}"#),
            "invalid_request"
        );
        assert_eq!(bad(5, r#"{"name":"x"}"#), "invalid_request");
        assert_eq!(
            bad(
                1,
                r#"{"module_list":[{"module_name":"bf","module_args":""}]}"#
            ),
            "unsupported_module_list_change"
        );
        assert_eq!(
            bad(
                1,
                r#"{"module_list":[{"module_name":"search","semantic_version":"9.9.9"}]}"#
            ),
            "unsupported_module_list_change"
        );
        let mut s7 = seed(SimVersion::V7_22);
        let r = put(&mut s7, SimVersion::V7_22, 1, r#"{"search":{}}"#);
        assert_eq!(code(r), "invalid_request", "no objects before 8.0");
    }
}
