//! `PUT /v1/users/{uid}` of the simulated cluster (F1's second route, API-CATALOGUE §9.1,
//! §12: `role` accepted on every release). RS documents it in
//! `L/requests/users/_index.md` ("Update user"): 200 with the updated user object, 400 for bad
//! or missing parameters, 404 for a user that does not exist, 406 for an invalid
//! configuration, error code `change_last_admin_role_not_allowed`.
//!
//! Decisions:
//! - The body is checked whole before anything changes: a bad type (`role`, `password`,
//!   `name`, `email` not strings, `email_alerts` not a boolean, `role_uids` not a non-empty
//!   array of role uids) or an unknown key is `400 invalid_request` naming the field; the user
//!   is left as it was.
//! - `role_uids` wins over `role` (as on `POST /v1/users`): the user takes the first listed
//!   role's `management` and keeps the uids. A legacy `role` alone (`admin` or `db_viewer`, the
//!   two roles the simulator models) sets the user's role and **empties** its `role_uids`: the
//!   docs do not say whether RS maps an old `role` onto a role uid of its own, so the
//!   simulator does not invent one (`shared/API-CATALOGUE.md` §14 material for a live
//!   cluster).
//! - Demoting the only admin is `406 change_last_admin_role_not_allowed` (the documented
//!   code; the status is our reading of "The requested configuration is invalid").
//! - No user with the uid: `404 user_not_found` (the code is ours; RS documents only the
//!   status). A segment that is not decimal digits is no route at all (`404 not_found`): RS
//!   declares `{int: uid}`, and `/v1/users/password` etc. are routes of their own.
//! - The reply is the user as `GET /__sim/state` shows it, with `role_uids` always present
//!   (RBAC replies carry it, §9.1) and never a password; a `password` replaces the user's
//!   password list. Only admins may call it: RS lets any user change their own name,
//!   password and alerts, which the simulator does not model.

use serde_json::{json, Map, Value};

use super::auth::Role;
use super::body;
use super::state::SimState;
use super::users::{role_name, User};
use crate::error::ApiError;

/// Keys of the user object a `PUT` may carry.
const KNOWN: [&str; 9] = [
    "password",
    "role",
    "role_uids",
    "name",
    "email",
    "email_alerts",
    "bdbs_email_alerts",
    "cluster_email_alerts",
    "auth_method",
];

/// A user uid from the path: decimal digits only.
pub fn user_uid(raw: &str) -> Result<u64, ApiError> {
    let parsed = if raw.bytes().all(|b| b.is_ascii_digit()) {
        raw.parse::<u64>().ok()
    } else {
        None
    };
    parsed.ok_or_else(|| user_not_found(raw))
}

pub fn user_not_found(uid: impl std::fmt::Display) -> ApiError {
    ApiError::not_found("user_not_found", format!("User {uid} does not exist"))
}

/// `PUT /v1/users/{uid}`: the updated user (never its password).
pub fn update(state: &mut SimState, uid: u64, raw: &[u8]) -> Result<Value, ApiError> {
    let map = body::object(raw, false)?;
    if state.users.by_uid(uid).is_none() {
        return Err(user_not_found(uid));
    }
    body::only_known(&map, &KNOWN, "")?;
    for key in ["name", "email", "auth_method"] {
        body::opt_str(&map, key)?;
    }
    for key in ["email_alerts", "cluster_email_alerts"] {
        body::opt_bool(&map, key)?;
    }
    let password = body::opt_str(&map, "password")?;
    let by_uids = super::roles::of_uids(state, &map)?;
    let legacy = match body::opt_str(&map, "role")?.as_deref() {
        None => None,
        Some("admin") => Some(Role::Admin),
        Some("db_viewer") => Some(Role::DbViewer),
        Some(_) => {
            return Err(body::shape(
                "role",
                "must be admin or db_viewer (the roles the simulator models)",
            ))
        }
    };
    let uids: Option<Vec<u64>> = map
        .get("role_uids")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect());
    let new_role = by_uids.or(legacy);
    if new_role.is_some_and(|r| r != Role::Admin) && state.users.is_last_admin(uid) {
        return Err(ApiError::new(
            http::StatusCode::NOT_ACCEPTABLE,
            "change_last_admin_role_not_allowed",
            "At least one user with admin role should exist",
        ));
    }
    let user = state
        .users
        .by_uid_mut(uid)
        .ok_or_else(|| user_not_found(uid))?;
    if let Some(role) = new_role {
        user.role = role;
        user.role_uids = uids.unwrap_or_default();
    }
    if let Some(password) = password {
        user.replace_passwords(&password);
    }
    for (key, value) in map {
        if !["password", "role", "role_uids"].contains(&key.as_str()) {
            user.extra.insert(key, value);
        }
    }
    Ok(shown(user))
}

/// The reply's user object: `role_uids` always, the password never.
fn shown(user: &User) -> Value {
    let mut o = Map::new();
    o.insert("uid".into(), json!(user.uid));
    o.insert("username".into(), json!(user.username));
    o.insert("role".into(), json!(role_name(user.role)));
    o.insert("role_uids".into(), json!(user.role_uids));
    for (k, v) in &user.extra {
        o.insert(k.clone(), v.clone());
    }
    Value::Object(o)
}

#[cfg(test)]
#[path = "users_update_tests.rs"]
mod tests;
