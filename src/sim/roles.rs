//! The simulated cluster's roles (`GET`/`POST /v1/roles`), modelled as far as F1's look-up
//! needs (API-CATALOGUE §9.1): `uid`, `name`, `management`, and 8.2's `resources` kept as
//! given.
//!
//! Decisions:
//! - No role exists at first: the predefined "DB Viewer"-style roles are gone on 7.2.4 and
//!   later (F2), which every simulated release is.
//! - The F2 model switch `"predefined_roles": "seeded"` ([`Predefined`], API-CATALOGUE §12 row
//!   F2: "as if in use") lists the five removed custom roles again (`uid` 1001–1005, out of
//!   the way of created roles), as a cluster upgraded from < 7.2.4 keeps them while users or
//!   databases use them. A view, not state: clearing the switch removes them. The same switch
//!   lists the two removed Redis ACLs ([`super::redis_acls`]).
//! - `management` must be one of the `RoleName`s; `name` is free text, required and unique.
//! - A user created with `role_uids` takes the first listed role's `management`, as far as the
//!   simulator's two roles go (`admin`, `db_viewer`; any other is refused).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::auth::Role;
use super::body;
use super::state::SimState;
use crate::error::ApiError;

const MANAGEMENT: [&str; 7] = [
    "none",
    "db_viewer",
    "cluster_viewer",
    "db_member",
    "cluster_member",
    "user_manager",
    "admin",
];

/// F2's model switch: whether the predefined roles and ACLs removed in 7.2.4 are listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Predefined {
    /// Gone, as on a cluster created on 7.2.4 or later.
    #[default]
    Absent,
    /// Listed, as on an upgraded cluster that still uses them.
    Seeded,
}

/// The custom roles removed in 7.2.4 (RN 7.2.4-52), named as the release note names them.
const REMOVED: [(&str, &str); 5] = [
    ("Cluster Member", "cluster_member"),
    ("Cluster Viewer", "cluster_viewer"),
    ("DB Member", "db_member"),
    ("DB Viewer", "db_viewer"),
    ("None", "none"),
];

/// `GET /v1/roles`: the created roles, after the removed predefined ones when seeded.
pub fn list(state: &SimState, how: Predefined) -> Value {
    let seeded = (how == Predefined::Seeded).then(|| {
        REMOVED.iter().zip(1001u64..).map(
            |((name, management), uid)| json!({"uid": uid, "name": name, "management": management}),
        )
    });
    Value::Array(
        seeded
            .into_iter()
            .flatten()
            .chain(state.roles.iter().cloned())
            .collect(),
    )
}

/// `POST /v1/roles`: the new role.
pub fn create(state: &mut SimState, raw: &[u8]) -> Result<Value, ApiError> {
    let map = body::object(raw, false)?;
    let name = body::req_str(&map, "name", "role")?;
    let management = body::req_str(&map, "management", "role")?;
    if !MANAGEMENT.contains(&management.as_str()) {
        return Err(body::shape("management", "must be a RoleName"));
    }
    if state.roles.iter().any(|r| r["name"] == name.as_str()) {
        return Err(ApiError::new(
            http::StatusCode::CONFLICT,
            "role_exists",
            format!("Role {name} already exists"),
        ));
    }
    let uid = state
        .roles
        .iter()
        .filter_map(|r| r["uid"].as_u64())
        .max()
        .unwrap_or(0)
        + 1;
    let mut role = json!({"uid": uid, "name": name, "management": management});
    if let (Some(resources), Some(o)) = (map.get("resources"), role.as_object_mut()) {
        o.insert("resources".into(), resources.clone());
    }
    state.roles.push(role.clone());
    Ok(role)
}

/// The role a user with `role_uids` gets (see the module's decisions).
pub fn of_uids(state: &SimState, map: &Map<String, Value>) -> Result<Option<Role>, ApiError> {
    let Some(uids) = map.get("role_uids") else {
        return Ok(None);
    };
    let first = uids
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_u64)
        .ok_or_else(|| body::shape("role_uids", "must be a non-empty array of integers"))?;
    let management = state
        .roles
        .iter()
        .find(|r| r["uid"].as_u64() == Some(first))
        .and_then(|r| r["management"].as_str())
        .ok_or_else(|| {
            ApiError::not_found("role_not_found", format!("Role {first} does not exist"))
        })?;
    match management {
        "admin" => Ok(Some(Role::Admin)),
        "db_viewer" => Ok(Some(Role::DbViewer)),
        _ => Err(body::shape(
            "role_uids",
            "must name an admin or db_viewer role (the roles the simulator models)",
        )),
    }
}
