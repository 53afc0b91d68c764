//! The read routes: databases (with `?fields=` trimming and, for Redis 8 databases,
//! `?extended=true` capability objects), modules, nodes, cluster, bootstrap and actions.
//! Plain functions from the state to a JSON value.

use serde_json::{Map, Value};

use super::actions::{render_v1, render_v2};
use super::routes::{bdb_not_found, Route};
use super::state::{Bdb, SimState};
use crate::error::ApiError;

/// Answers a read route; `query` is the raw query string, if any.
pub fn read(state: &SimState, route: &Route, query: Option<&str>) -> Result<Value, ApiError> {
    let fields = fields_param(query);
    let extended = query.is_some_and(|q| q.split('&').any(|p| p == "extended=true"));
    let show = |b: &Bdb| {
        let mut v = b.to_json();
        super::redis8::capability_view(&mut v, b, extended);
        trim(v, fields.as_deref())
    };
    match route {
        Route::Bdbs => Ok(Value::Array(state.bdbs.iter().map(show).collect())),
        Route::Bdb(uid) => state.bdb(*uid).map(show).ok_or_else(|| bdb_not_found(uid)),
        Route::Modules => Ok(to_json(&state.modules)),
        Route::Module(uid) => state.module(uid).map(to_json).ok_or_else(|| {
            ApiError::not_found("module_not_found", format!("Module {uid} does not exist"))
        }),
        Route::Nodes => Ok(to_json(&state.nodes)),
        Route::Cluster => Ok(Value::Object(state.cluster.clone())),
        Route::ActionV1(uid) => state
            .action(uid)
            .map(render_v1)
            .ok_or_else(|| no_action(uid)),
        Route::ActionV2(uid) => state
            .action(uid)
            .map(render_v2)
            .ok_or_else(|| no_action(uid)),
        Route::BdbActions(uid) => {
            state.bdb(*uid).ok_or_else(|| bdb_not_found(uid))?;
            let object = format!("bdb:{uid}");
            Ok(Value::Array(
                state
                    .actions
                    .iter()
                    .filter(|a| a.object_name == object)
                    .map(render_v2)
                    .collect(),
            ))
        }
        Route::Actions => Ok(Value::Array(state.actions.iter().map(render_v1).collect())),
        Route::Bootstrap => super::cluster::bootstrap(state),
        _ => Err(ApiError::new(
            http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Not a read route",
        )),
    }
}

fn to_json<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn no_action(uid: &str) -> ApiError {
    ApiError::not_found("action_not_found", format!("Action {uid} does not exist"))
}

/// The `fields` query parameter as a list of names (`?fields=uid,name`; a percent-encoded
/// comma separates too).
fn fields_param(query: Option<&str>) -> Option<Vec<String>> {
    let raw = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("fields="))?
        .replace("%2C", ",")
        .replace("%2c", ",");
    Some(
        raw.split(',')
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect(),
    )
}

/// Keeps only the named keys of an object; unknown names are ignored.
fn trim(value: Value, fields: Option<&[String]>) -> Value {
    match (value, fields) {
        (Value::Object(map), Some(fields)) => {
            let kept: Map<String, Value> = map
                .into_iter()
                .filter(|(k, _)| fields.iter().any(|f| f == k))
                .collect();
            Value::Object(kept)
        }
        (value, _) => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::seed::seed;
    use crate::sim::version::SimVersion;
    use serde_json::json;

    #[test]
    fn fields_trim_a_database() {
        let s = seed(SimVersion::V8_0);
        let v = read(
            &s,
            &Route::Bdb(1),
            Some("x=1&fields=uid%2Credis_version,bogus"),
        )
        .expect("ok");
        assert_eq!(v, json!({"uid": 1, "redis_version": "7.2"}));
    }

    #[test]
    fn unknown_objects_are_404_with_their_codes() {
        let s = seed(SimVersion::V8_0);
        let code = |r: Route| read(&s, &r, None).expect_err("404").error_code;
        assert_eq!(code(Route::Bdb(99)), "bdb_not_found");
        assert_eq!(code(Route::Module("ff".into())), "module_not_found");
        assert_eq!(code(Route::ActionV1("nope".into())), "action_not_found");
        assert_eq!(code(Route::BdbActions(99)), "bdb_not_found");
    }
}
