//! R14, runtime module configuration (`shared/API-CATALOGUE.md` §4):
//! `POST /v1/modules/config/bdb/{uid}` and `POST /v1/bdbs/{uid}/modules/config` (deprecated
//! 7.4, still served by every release, the same handler for both), plus the argument merge and
//! the Redis 8 mapping that `PUT /v1/bdbs/{uid}` (`bdb_update`) shares.
//!
//! Body `{"modules": [{"module_name", "module_args"}]}`; answers, first failure wins:
//! 400 `invalid_schema` (not JSON, not an object, unknown key, `modules` not a non-empty list,
//! an entry not an object, `module_name` not a non-empty string), 400 `missing_field`
//! (`modules`, `module_name` or `module_args` absent or null), 400 `param_error` (`module_args`
//! not a string, or holding `&`, `<`, `>`, `"`), 404 `db_not_exist`, 400 `module_not_exist` (no
//! enabled module of that name, case-insensitive), 406 `unsupported_module_config` "Module does
//! not support runtime configuration of arguments" (anything but search, timeseries and bf:
//! ReJSON, graph, user modules), 400 `param_error` (a mapped value of the wrong type, Redis 8
//! only); else 200 with an empty body, applied at once (no action) to every entry or none.
//!
//! Decisions:
//! - Arguments merge by `NAME VALUE` pairs ([`merge_args`]): a name already there takes the new
//!   value (names compared case-insensitively), new names are appended, the order is kept.
//!   When either side is not an even list of tokens (a flag such as `NOGC`), the new string
//!   replaces the old one whole. An empty `module_args` changes nothing.
//! - Redis 8 databases (RS166878, inference): `module_args` is merged as above **and** the
//!   pairs with a known new name ([`MAPPED`]: MINPREFIX, MAXPREFIXEXPANSIONS, TIMEOUT into
//!   `search`; RETENTION_POLICY into `timeseries`; ERROR_RATE, INITIAL_SIZE,
//!   CF_MAX_EXPANSIONS into `probabilistic`) are written into the capability object, stored on
//!   the database whole (defaults included) and shown with `?extended=true` (`redis8`). Other
//!   names stay in `module_args` only.
//! - The 406 and `db_not_exist` carry RS's documented texts; `unsupported_module_config` is our
//!   code (the docs name none for the 406).

use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::redis8::{effective, runs_redis8};
use super::routes::{Answer, Rejection};
use super::state::{Bdb, SimState};
use crate::error::ApiError;

/// Modules with a runtime configuration command.
const CONFIGURABLE: &[&str] = &["search", "timeseries", "bf"];

/// How a mapped value is parsed.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Int,
    Float,
}

/// (module, old argument name, capability object, new key, value type): the Redis Open Source
/// "version < 8.0 → ≥ 8.0" tables, restricted to keys the simulator's objects carry.
pub const MAPPED: &[(&str, &str, &str, &str, Kind)] = &[
    (
        "search",
        "MINPREFIX",
        "search",
        "search-min-prefix",
        Kind::Int,
    ),
    (
        "search",
        "MAXPREFIXEXPANSIONS",
        "search",
        "search-max-prefix-expansions",
        Kind::Int,
    ),
    ("search", "TIMEOUT", "search", "search-timeout", Kind::Int),
    (
        "timeseries",
        "RETENTION_POLICY",
        "timeseries",
        "ts-retention-policy",
        Kind::Int,
    ),
    (
        "bf",
        "ERROR_RATE",
        "probabilistic",
        "bf-error-rate",
        Kind::Float,
    ),
    (
        "bf",
        "INITIAL_SIZE",
        "probabilistic",
        "bf-initial-size",
        Kind::Int,
    ),
    (
        "bf",
        "CF_MAX_EXPANSIONS",
        "probabilistic",
        "cf-max-expansions",
        Kind::Int,
    ),
];

/// Capability objects being rewritten: object name → the whole new object.
pub type Objects = BTreeMap<&'static str, Map<String, Value>>;

struct Entry {
    name: String,
    args: String,
}

/// Serves both routes.
pub fn configure(state: &mut SimState, uid: u64, raw: &[u8]) -> Result<Answer, Rejection> {
    let entries = parse(raw)?;
    let bdb = state.bdb(uid).ok_or_else(|| {
        ApiError::not_found("db_not_exist", format!("Database {uid} does not exist"))
    })?;
    let mut list = bdb.module_list.clone();
    let mut objects = Objects::new();
    for e in &entries {
        let slot = list
            .iter_mut()
            .find(|m| m.module_name.eq_ignore_ascii_case(&e.name))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "module_not_exist",
                    format!("Module {} is not enabled on database {uid}", e.name),
                )
            })?;
        if !CONFIGURABLE.contains(&slot.module_name.as_str()) {
            return Err(unsupported().into());
        }
        if runs_redis8(bdb) {
            map_into(bdb, &slot.module_name, &e.args, &mut objects)?;
        }
        slot.module_args = merge_args(&slot.module_args, &e.args);
    }
    if let Some(bdb) = state.bdb_mut(uid) {
        bdb.module_list = list;
        for (name, object) in objects {
            bdb.extra.insert(name.to_owned(), Value::Object(object));
        }
    }
    Ok(Answer::Empty)
}

/// The 406 of a module without a runtime configuration command.
fn unsupported() -> ApiError {
    ApiError::new(
        http::StatusCode::NOT_ACCEPTABLE,
        "unsupported_module_config",
        "Module does not support runtime configuration of arguments",
    )
}

fn parse(raw: &[u8]) -> Result<Vec<Entry>, ApiError> {
    let Ok(value) = serde_json::from_slice::<Value>(raw) else {
        return Err(schema("The request body is not valid JSON"));
    };
    let Value::Object(map) = value else {
        return Err(schema("The request body must be a JSON object"));
    };
    if let Some(k) = map.keys().find(|k| *k != "modules") {
        return Err(schema(&format!("{k} is not a known field")));
    }
    let list = match map.get("modules") {
        None | Some(Value::Null) => return Err(missing("modules")),
        Some(Value::Array(list)) if !list.is_empty() => list,
        Some(_) => return Err(schema("modules must be a non-empty list")),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Value::Object(entry) = item else {
            return Err(schema(&format!("modules[{i}] must be an object")));
        };
        let known = ["module_name", "module_args"];
        if let Some(k) = entry.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(schema(&format!("modules[{i}].{k} is not a known field")));
        }
        let name = match entry.get("module_name") {
            None | Some(Value::Null) => return Err(missing(&format!("modules[{i}].module_name"))),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => {
                return Err(schema(&format!(
                    "modules[{i}].module_name must be a non-empty string"
                )))
            }
        };
        let args = match entry.get("module_args") {
            None | Some(Value::Null) => return Err(missing(&format!("modules[{i}].module_args"))),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(param(&format!("modules[{i}].module_args must be a string"))),
        };
        check_args(&args).map_err(|e| param(&format!("modules[{i}].module_args {e}")))?;
        out.push(Entry { name, args });
    }
    Ok(out)
}

/// The documented pattern: no `&`, `<`, `>` or `"`.
pub fn check_args(args: &str) -> Result<(), &'static str> {
    if args.contains(['&', '<', '>', '"']) {
        Err("must not hold &, <, > or \"")
    } else {
        Ok(())
    }
}

fn schema(text: &str) -> ApiError {
    ApiError::bad_request("invalid_schema", text)
}

fn missing(field: &str) -> ApiError {
    ApiError::bad_request("missing_field", format!("{field} is required")).with("field", field)
}

fn param(text: &str) -> ApiError {
    ApiError::bad_request("param_error", text)
}

/// Merges `new` into `current` by `NAME VALUE` pairs (see the module docs).
pub fn merge_args(current: &str, new: &str) -> String {
    let old: Vec<&str> = current.split_whitespace().collect();
    let add: Vec<&str> = new.split_whitespace().collect();
    if add.is_empty() {
        return current.to_owned();
    }
    if !old.len().is_multiple_of(2) || !add.len().is_multiple_of(2) {
        return add.join(" ");
    }
    let mut pairs: Vec<(&str, &str)> = old.chunks(2).filter_map(pair).collect();
    for (name, value) in add.chunks(2).filter_map(pair) {
        match pairs.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(slot) => slot.1 = value,
            None => pairs.push((name, value)),
        }
    }
    let words: Vec<String> = pairs.iter().map(|(n, v)| format!("{n} {v}")).collect();
    words.join(" ")
}

fn pair<'a>(chunk: &[&'a str]) -> Option<(&'a str, &'a str)> {
    match chunk {
        [name, value] => Some((name, value)),
        _ => None,
    }
}

/// Writes the mapped pairs of `args` (for `module`) into `objects`, starting each object from
/// what the database has. 400 `param_error` for a mapped value of the wrong type.
pub fn map_into(
    bdb: &Bdb,
    module: &str,
    args: &str,
    objects: &mut Objects,
) -> Result<(), ApiError> {
    let words: Vec<&str> = args.split_whitespace().collect();
    if !words.len().is_multiple_of(2) {
        return Ok(());
    }
    for (name, raw) in words.chunks(2).filter_map(pair) {
        let Some(&(_, _, object, key, kind)) = MAPPED
            .iter()
            .find(|(m, old, ..)| *m == module && old.eq_ignore_ascii_case(name))
        else {
            continue;
        };
        let value = match kind {
            Kind::Int => raw.parse::<u64>().ok().map(Value::from),
            Kind::Float => raw
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Value::from),
        };
        let value = value.ok_or_else(|| param(&format!("{name} {raw} is not a valid value")))?;
        objects
            .entry(object)
            .or_insert_with(|| effective(bdb, object))
            .insert(key.to_owned(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::seed::{seed, seed_with_redis8};
    use crate::sim::version::SimVersion;

    fn args(s: &SimState, uid: u64, module: &str) -> String {
        let bdb = s.bdb(uid).expect("bdb");
        let m = bdb.module_list.iter().find(|m| m.module_name == module);
        m.map(|m| m.module_args.clone()).unwrap_or_default()
    }

    #[test]
    fn pairs_merge_and_flags_replace() {
        assert_eq!(
            merge_args("PARTITIONS AUTO", "MINPREFIX 3 partitions 4"),
            "PARTITIONS 4 MINPREFIX 3"
        );
        assert_eq!(merge_args("", "MINPREFIX 3"), "MINPREFIX 3");
        assert_eq!(merge_args("NOGC", "MINPREFIX 3"), "MINPREFIX 3");
        assert_eq!(merge_args("A 1", "NOGC"), "NOGC");
        assert_eq!(merge_args("A 1", "  "), "A 1");
    }

    #[test]
    fn old_routes_apply_args_on_7x_and_map_them_on_redis_8() {
        let mut s = seed(SimVersion::V7_8);
        let body = br#"{"modules":[{"module_name":"Search","module_args":"MINPREFIX 3"}]}"#;
        assert_eq!(configure(&mut s, 1, body).ok(), Some(Answer::Empty));
        assert_eq!(args(&s, 1, "search"), "PARTITIONS AUTO MINPREFIX 3");
        assert!(s.bdb(1).and_then(|b| b.extra.get("search")).is_none());

        let mut s = seed_with_redis8(SimVersion::V8_0);
        let body = br#"{"modules":[{"module_name":"search","module_args":"MINPREFIX 3 TIMEOUT 900 FOO bar"}]}"#;
        assert!(configure(&mut s, 5, body).is_ok());
        let search = s.bdb(5).and_then(|b| b.extra.get("search")).cloned();
        let search = search.expect("stored object");
        assert_eq!(search["search-min-prefix"], 3);
        assert_eq!(search["search-timeout"], 900);
        assert_eq!(search["search-max-prefix-expansions"], 200, "defaults kept");
        assert_eq!(args(&s, 5, "search"), "MINPREFIX 3 TIMEOUT 900 FOO bar");
    }

    #[test]
    fn errors_follow_the_documented_codes() {
        let code = |uid: u64, raw: &str| {
            let mut s = seed_with_redis8(SimVersion::V8_0);
            match configure(&mut s, uid, raw.as_bytes()) {
                Err(Rejection::Api(e)) => (e.status.as_u16(), e.error_code),
                other => panic!("{raw}: {other:?}"),
            }
        };
        let one = |name: &str, args: &str| {
            format!(r#"{{"modules":[{{"module_name":"{name}","module_args":"{args}"}}]}}"#)
        };
        assert_eq!(code(1, "{"), (400, "invalid_schema".into()));
        assert_eq!(code(1, "{}"), (400, "missing_field".into()));
        assert_eq!(code(1, r#"{"modules":[]}"#), (400, "invalid_schema".into()));
        assert_eq!(
            code(1, r#"{"modules":[{"module_name":"search"}]}"#),
            (400, "missing_field".into())
        );
        assert_eq!(
            code(
                1,
                r#"{"modules":[{"module_name":"search","module_args":3}]}"#
            ),
            (400, "param_error".into())
        );
        assert_eq!(code(1, &one("search", "A &1")), (400, "param_error".into()));
        assert_eq!(
            code(99, &one("search", "A 1")),
            (404, "db_not_exist".into())
        );
        assert_eq!(
            code(2, &one("search", "A 1")),
            (400, "module_not_exist".into())
        );
        assert_eq!(
            code(1, &one("ReJSON", "A 1")),
            (406, "unsupported_module_config".into())
        );
        assert_eq!(
            code(5, &one("bf", "ERROR_RATE x")),
            (400, "param_error".into())
        );
    }
}
