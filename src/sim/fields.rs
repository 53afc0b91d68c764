//! The simulated cluster's side of the field rules (API-CATALOGUE §9, §12's matrix): the
//! fields F1, F3–F7 touch, modelled only as far as their differential tests need.
//!
//! Decisions:
//! - `PUT /v1/cluster` ([`cluster_write`]): `sentinel_ssl_policy` takes no effect on any
//!   simulated release (all ≥ 7.4.2, F6: "You can only change the discovery service policy
//!   using `sentinel_tls_mode`"), and the cluster object returns both names with the same
//!   value; `use_ipv6` is ignored and not returned on 8.2 (F5, inference of §12).
//! - `POST /v1/bdbs` and `POST /v2/bdbs` (`{"bdb": …}`) create a database ([`create_bdb`]):
//!   `name` required; `module_list` entries by `module_id` (which chooses the version) or else
//!   by `module_name` (its latest version); `semantic_version` is not read. F7: `audit_settings`
//!   is refused below 8.2 (`400 invalid_schema`); on 8.2 `db_conns_auditing: true` without
//!   `audit_settings` is stored as `audit_mode: "connection"`, and `db_conns_auditing` is then
//!   returned as `audit_mode != "disabled"`. Any other key is kept as given.
//! - `POST /v1/users` ([`create_user`]): `username` or `email` (then shown as `email`, the
//!   login's name in RS's user object), `password`, and `role` (the
//!   two roles the simulator models, `admin` and `db_viewer`), or `role_uids` naming a role of
//!   `POST /v1/roles` with one of those `management`s (`super::roles`); the uids are kept.

use serde_json::{json, Map, Value};

use super::auth::Role;
use super::body;
use super::seed;
use super::state::{BdbModule, SimState};
use super::version::SimVersion;
use crate::error::ApiError;

/// F5/F6 on a write of the cluster object: the keys that take no effect are dropped.
pub fn cluster_write(version: SimVersion, map: &mut Map<String, Value>) {
    map.remove("sentinel_ssl_policy");
    if version >= SimVersion::V8_2 {
        map.remove("use_ipv6");
    }
}

/// After a write: both sentinel names return the one policy (F6).
pub fn cluster_view(cluster: &mut Map<String, Value>) {
    if let Some(mode) = cluster.get("sentinel_tls_mode").cloned() {
        cluster.insert("sentinel_ssl_policy".into(), mode);
    }
}

/// `POST /v1/bdbs` / `POST /v2/bdbs`: the new database.
pub fn create_bdb(
    state: &mut SimState,
    version: SimVersion,
    v2: bool,
    raw: &[u8],
) -> Result<Value, ApiError> {
    let mut map = body::object(raw, false)?;
    if v2 {
        map = match map.remove("bdb") {
            Some(Value::Object(bdb)) => bdb,
            _ => return Err(body::shape("bdb", "must be an object")),
        };
    }
    let name = body::req_str(&map, "name", "bdb")?;
    let modules = match map.remove("module_list") {
        Some(Value::Array(list)) => list
            .iter()
            .map(|entry| module(state, entry))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(body::shape("module_list", "must be an array")),
        None => Vec::new(),
    };
    auditing(version, &mut map)?;
    let uid = state.bdbs.iter().map(|b| b.uid).max().unwrap_or(0) + 1;
    let redis = version.latest_redis();
    let mut bdb = seed::bdb(
        uid,
        &name,
        (redis.redis_version, redis.version),
        false,
        modules,
    );
    map.remove("name");
    for (k, v) in map {
        bdb.extra.insert(k, v);
    }
    let shown = serde_json::to_value(&bdb).unwrap_or(Value::Null);
    state.bdbs.push(bdb);
    Ok(shown)
}

/// F7 on create (see the module's decisions).
fn auditing(version: SimVersion, map: &mut Map<String, Value>) -> Result<(), ApiError> {
    let legacy = body::opt_bool(map, "db_conns_auditing")?;
    if version < SimVersion::V8_2 {
        if map.contains_key("audit_settings") {
            return Err(ApiError::bad_request(
                "invalid_schema",
                "Unknown field audit_settings",
            ));
        }
        return Ok(());
    }
    if !map.contains_key("audit_settings") {
        let mode = if legacy == Some(true) {
            "connection"
        } else {
            "disabled"
        };
        map.insert("audit_settings".into(), json!({ "audit_mode": mode }));
    }
    let on = map
        .get("audit_settings")
        .and_then(|a| a.get("audit_mode"))
        .and_then(Value::as_str)
        .is_some_and(|m| m != "disabled");
    map.insert("db_conns_auditing".into(), Value::Bool(on));
    Ok(())
}

fn module(state: &SimState, entry: &Value) -> Result<BdbModule, ApiError> {
    let by_id = entry.get("module_id").and_then(Value::as_str);
    let by_name = entry.get("module_name").and_then(Value::as_str);
    let found = match (by_id, by_name) {
        (Some(id), _) => state.module(id),
        (None, Some(name)) => state
            .modules
            .iter()
            .filter(|m| m.module_name.eq_ignore_ascii_case(name))
            .max_by_key(|m| m.version),
        (None, None) => None,
    };
    let m = found.ok_or_else(|| {
        ApiError::bad_request(
            "missing_module",
            "module_list entry names no module of this cluster",
        )
    })?;
    Ok(BdbModule {
        module_id: m.uid.clone(),
        module_name: m.module_name.clone(),
        module_args: entry
            .get("module_args")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        semantic_version: m.semantic_version.clone(),
    })
}

/// `POST /v1/users`: the new user (never its password).
pub fn create_user(state: &mut SimState, raw: &[u8]) -> Result<Value, ApiError> {
    let map = body::object(raw, false)?;
    let (username, by_email) = match body::opt_str(&map, "username")? {
        Some(u) => (u, false),
        None => (body::req_str(&map, "email", "user")?, true),
    };
    let password = body::req_str(&map, "password", "user")?;
    let by_uids = super::roles::of_uids(state, &map)?;
    let role = match (by_uids, body::opt_str(&map, "role")?.as_deref()) {
        (Some(role), _) => role,
        (None, Some("admin")) => Role::Admin,
        (None, Some("db_viewer")) => Role::DbViewer,
        _ => {
            return Err(body::shape(
                "role",
                "must be admin or db_viewer (the roles the simulator models)",
            ))
        }
    };
    let role_uids: Vec<u64> = map
        .get("role_uids")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    if state.users.find(&username).is_some() {
        return Err(ApiError::new(
            http::StatusCode::CONFLICT,
            "user_exists",
            format!("User {username} already exists"),
        ));
    }
    let uid = state
        .users
        .create(&username, &password, role, role_uids.clone());
    let mut shown =
        json!({"uid": uid, "username": username, "role": super::users::role_name(role)});
    if let (false, Some(o)) = (role_uids.is_empty(), shown.as_object_mut()) {
        o.insert("role_uids".into(), json!(role_uids));
    }
    // RS's user object names the login `email` (there is no `username` key): a user created
    // by `email` shows it, in this reply and in every later one (`users_update`'s `extra`).
    if let (true, Some(o)) = (by_email, shown.as_object_mut()) {
        o.insert("email".into(), json!(username));
        if let Some(user) = state.users.by_uid_mut(uid) {
            user.extra.insert("email".into(), json!(username));
        }
    }
    Ok(shown)
}
