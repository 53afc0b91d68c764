//! `PUT | POST | DELETE /v1/users/password` (API-CATALOGUE §3, rule R13 `users_password`): replace
//! a user's password list with one password, add one, or delete one, as the simulated release
//! and **build** do it (§3.3). The route authenticates itself, like `/v1/users/authorize`.
//!
//! Decisions:
//! - The behaviour follows the answering node's build ([`SimState::node_build`], what
//!   `GET /v1/bootstrap` shows and `SimConfig::with_build` or a state file sets), not only the
//!   release: below 7.8.2-0 the legacy form; from 7.8.2-0 the header form; RS161290 on
//!   `[7.8.2-0, 7.8.6-119)` and `[7.22.0-0, 7.22.0-216)` (§3.1). A build that does not parse
//!   counts as the release's default build.
//! - **Legacy** (< 7.8.2): the `Authorization` header is ignored (when it names another user
//!   than the body, the body's user is the one changed: inference, §3.3). `username` and
//!   `old_password` are required (400 `invalid_request`); an unknown `username` is
//!   404 `user_not_exist`; an `old_password` not in the user's list is 401.
//! - **Header form** (≥ 7.8.2): only `Basic` credentials authenticate here (none, wrong, or a
//!   JWT → 401; 8.2 with Basic switched off → 401), as `/v1/users/authorize` from 7.8.2. The
//!   target is the body's `username`, else the caller. On the RS161290 builds the caller's own
//!   list is changed whatever `username` says. Elsewhere a non-admin naming another user is
//!   403 `unauthorized_action` (checked before existence, so a viewer learns nothing), an
//!   unknown target 404 `user_not_exist`. PUT/POST ignore `old_password`.
//! - Both forms: PUT/POST need a non-empty string `new_password` (400 `invalid_request`),
//!   which must not already be one of the target's passwords (400
//!   `new_password_same_as_current`, PUT included). DELETE names the password to delete in
//!   `old_password` (400 `invalid_request` when missing); one the target does not have is
//!   400 `password_not_found` (our code); the last one is 400 `cannot_delete_last_password`.
//!   A full list ([`super::users::MAX_PASSWORDS`]) is 400 `too_many_passwords` (ours).
//!   Password complexity is not modelled (`password_not_complex` never happens).
//! - Success is **200 with an empty body** (the docs show a status only): the sim's choice.
//! - On 8.0 and 8.2 the switch `users_password_on_8x` (`"serve"`, default, or `"404"`;
//!   [`super::faults`]) can make the route unregistered: every method answers as an unknown
//!   route does (401 without credentials, else 404 `not_found`), §3.1 CONFLICT.

use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::auth::{self, Role};
use super::body;
use super::faults::Faults;
use super::routes::Answer;
use super::state::SimState;
use super::version::{parse_build, Build, SimVersion};
use crate::error::ApiError;

/// What the method does to the target's password list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordOp {
    /// `PUT`: the list becomes `[new_password]`.
    Replace,
    /// `POST`: `new_password` joins the list.
    Add,
    /// `DELETE`: `old_password` leaves the list.
    Delete,
}

/// Whether 8.x serves the route (switch `users_password_on_8x`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UsersPasswordOn8x {
    /// Served, as the latest docs say.
    #[default]
    #[serde(rename = "serve")]
    Serve,
    /// Unregistered, as the `OPTIONS` probe of 8.0.20-68 / 8.2.0-25 suggests.
    #[serde(rename = "404")]
    NotFound,
}

const FIRST_HEADER_BUILD: Build = (7, 8, 2, 0);
/// RS161290: the caller's own list is changed on these builds, `[from, to)`.
const RS161290: [(Build, Build); 2] = [
    ((7, 8, 2, 0), (7, 8, 6, 119)),
    ((7, 22, 0, 0), (7, 22, 0, 216)),
];

/// Whether `path` is this route and the release and switch make it unregistered.
pub fn switched_off(version: SimVersion, faults: &Faults, path: &str) -> bool {
    let ours = path.strip_suffix('/').unwrap_or(path) == "/v1/users/password";
    ours && version.is_8x() && faults.get().users_password_on_8x == UsersPasswordOn8x::NotFound
}

/// The request, by the node's build.
pub fn change(
    state: &mut SimState,
    version: SimVersion,
    op: PasswordOp,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<Answer, ApiError> {
    let build = state
        .node_build()
        .or_else(|| parse_build(version.software_version()))
        .unwrap_or(FIRST_HEADER_BUILD);
    let (target, map) = if build < FIRST_HEADER_BUILD {
        legacy_target(state, raw)?
    } else {
        header_target(state, version, headers, raw, has_rs161290(build))?
    };
    apply(state, op, &target, &map)?;
    Ok(Answer::Empty)
}

/// Whether `build` changes the caller's own list whatever `username` says.
pub fn has_rs161290(build: Build) -> bool {
    RS161290
        .iter()
        .any(|(from, to)| (*from..*to).contains(&build))
}

/// < 7.8.2: the body's `username` and `old_password` are the credentials.
fn legacy_target(state: &SimState, raw: &[u8]) -> Result<(String, Map<String, Value>), ApiError> {
    let map = body::object(raw, true)?;
    let username = body::req_str(&map, "username", "")?;
    let old = body::req_str(&map, "old_password", "")?;
    let user = state
        .users
        .find(&username)
        .ok_or_else(|| user_not_exist(&username))?;
    if !user.has_password(&old) {
        return Err(auth::unauthorized());
    }
    Ok((username, map))
}

/// ≥ 7.8.2: Basic credentials; the body's `username` names the target (but see RS161290).
fn header_target(
    state: &SimState,
    version: SimVersion,
    headers: &HeaderMap,
    raw: &[u8],
    rs161290: bool,
) -> Result<(String, Map<String, Value>), ApiError> {
    if auth::basic_disabled(state, version) {
        return Err(auth::unauthorized());
    }
    let caller = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| auth::basic_user(state, v))
        .ok_or_else(auth::unauthorized)?;
    let map = body::object(raw, true)?;
    let named = body::opt_str(&map, "username")?;
    let target = match named {
        Some(name) if !rs161290 => name,
        _ => return Ok((caller.username.clone(), map)),
    };
    if target != caller.username && caller.role != Role::Admin {
        return Err(ApiError::new(
            http::StatusCode::FORBIDDEN,
            "unauthorized_action",
            "Updating another user's password is acceptable by an admin user only",
        ));
    }
    state
        .users
        .find(&target)
        .ok_or_else(|| user_not_exist(&target))?;
    Ok((target, map))
}

/// Changes `target`'s list (who it is has been settled).
fn apply(
    state: &mut SimState,
    op: PasswordOp,
    target: &str,
    map: &Map<String, Value>,
) -> Result<(), ApiError> {
    let user = state
        .users
        .find_mut(target)
        .ok_or_else(|| user_not_exist(target))?;
    match op {
        PasswordOp::Replace | PasswordOp::Add => {
            let new = body::req_str(map, "new_password", "")?;
            if user.has_password(&new) {
                return Err(ApiError::bad_request(
                    "new_password_same_as_current",
                    "The new password is already one of the user's passwords",
                ));
            }
            if op == PasswordOp::Replace {
                user.replace_passwords(&new);
            } else if !user.add_password(&new) {
                return Err(ApiError::bad_request(
                    "too_many_passwords",
                    format!(
                        "A user has at most {} passwords",
                        super::users::MAX_PASSWORDS
                    ),
                ));
            }
        }
        PasswordOp::Delete => {
            let old = body::req_str(map, "old_password", "")?;
            if !user.has_password(&old) {
                return Err(ApiError::bad_request(
                    "password_not_found",
                    "old_password is not one of the user's passwords",
                ));
            }
            if user.password_count() == 1 {
                return Err(ApiError::bad_request(
                    "cannot_delete_last_password",
                    "A user's last password cannot be deleted",
                ));
            }
            user.remove_password(&old);
        }
    }
    Ok(())
}

fn user_not_exist(username: &str) -> ApiError {
    ApiError::not_found("user_not_exist", format!("User {username} does not exist"))
}

#[cfg(test)]
mod tests;
