//! Authentication of the simulated cluster: two built-in users, an admin (every permission)
//! and a `db_viewer` (read-only), by HTTP Basic with any of the user's passwords (the lists of
//! [`super::users`]) or by a JWT the cluster issued (`Authorization: JWT <token>` or
//! `Bearer <token>`, see [`super::authorize`]); 401/403 in the RS error shape. On 8.2,
//! `control_plane_basic_authentication: false` turns Basic away (401).

use base64::Engine;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};

use super::state::SimState;
use super::users::User;
use super::version::SimVersion;
use crate::error::ApiError;

/// The built-in admin: every permission, including `edit_bdb_module` and
/// `update_bdb_with_action`.
pub const DEMO_ADMIN: (&str, &str) = ("admin@example.com", "sim-admin-pass");
/// The built-in `db_viewer`: reads only; every POST is 403.
pub const DEMO_VIEWER: (&str, &str) = ("viewer@example.com", "sim-viewer-pass");

/// `WWW-Authenticate` challenge sent with every 401 (RFC 7617 §2).
pub const REALM_CHALLENGE: &str = "Basic realm=\"Redis Software cluster (simulated)\"";

/// The role of an authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    DbViewer,
}

impl Role {
    /// Whether the role may change things (RS: `edit_bdb_module`, `update_bdb_with_action`).
    pub fn may_write(self) -> bool {
        matches!(self, Role::Admin)
    }
}

/// The caller's role from the `Authorization` header (Basic, or a live JWT), or a 401.
pub fn authenticate(
    headers: &HeaderMap,
    state: &SimState,
    version: SimVersion,
) -> Result<Role, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unauthorized)?;
    if let Some(token) = bearer_token(value) {
        return state
            .tokens
            .role_of(token, std::time::Instant::now())
            .ok_or_else(unauthorized);
    }
    if basic_disabled(state, version) {
        return Err(unauthorized());
    }
    basic_role(state, value).ok_or_else(unauthorized)
}

/// The role of a valid `Basic` header value (whatever the 8.2 switch says).
pub fn basic_role(state: &SimState, value: &str) -> Option<Role> {
    basic_user(state, value).map(|u| u.role)
}

/// The user a valid `Basic` header value names (whatever the 8.2 switch says).
pub fn basic_user<'s>(state: &'s SimState, value: &str) -> Option<&'s User> {
    let (user, password) = decode_basic(value)?;
    state.users.check(&user, &password)
}

/// The role of a user with one of their passwords.
pub fn user_role(state: &SimState, user: &str, password: &str) -> Option<Role> {
    state.users.check(user, password).map(|u| u.role)
}

/// The token of `JWT <token>` or `Bearer <token>` (scheme case-insensitive).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let ours = scheme.eq_ignore_ascii_case("jwt") || scheme.eq_ignore_ascii_case("bearer");
    ours.then(|| token.trim())
}

/// 8.2 with `control_plane_basic_authentication: false`: Basic is refused everywhere.
pub fn basic_disabled(state: &SimState, version: SimVersion) -> bool {
    version.has_8_2_switches()
        && state.cluster.get("control_plane_basic_authentication")
            == Some(&serde_json::Value::Bool(false))
}

/// The 403 for a read-only caller on a route that changes something.
pub fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "insufficient_permissions",
        "The user's role does not have the permission this request needs",
    )
}

pub fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Missing or wrong credentials",
    )
}

/// Adds the Basic challenge to a 401.
pub fn add_challenge<B>(resp: &mut Response<B>) {
    if resp.status() == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(REALM_CHALLENGE),
        );
    }
}

/// "Basic base64(user:password)" → (user, password). The scheme is case-insensitive
/// (RFC 9110 §11.1).
fn decode_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::seed::seed;

    fn with_auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("header"),
        );
        h
    }

    fn basic(user: &str, pass: &str) -> String {
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        format!("Basic {enc}")
    }

    #[test]
    fn built_in_users_get_their_roles() {
        let s = seed(SimVersion::V8_0);
        let admin = with_auth(&basic(DEMO_ADMIN.0, DEMO_ADMIN.1));
        assert_eq!(authenticate(&admin, &s, SimVersion::V8_0), Ok(Role::Admin));
        let viewer = with_auth(&basic(DEMO_VIEWER.0, DEMO_VIEWER.1));
        assert_eq!(
            authenticate(&viewer, &s, SimVersion::V8_0),
            Ok(Role::DbViewer)
        );
    }

    #[test]
    fn wrong_or_garbled_credentials_are_401() {
        let s = seed(SimVersion::V7_8);
        for value in [
            basic(DEMO_ADMIN.0, "nope"),
            "Bearer abc".to_owned(),
            "Basic !!!".to_owned(),
        ] {
            let err = authenticate(&with_auth(&value), &s, SimVersion::V7_8).expect_err("401");
            assert_eq!(err.status, StatusCode::UNAUTHORIZED);
        }
        assert!(authenticate(&HeaderMap::new(), &s, SimVersion::V7_8).is_err());
    }

    #[test]
    fn a_second_password_authenticates_too() {
        let mut s = seed(SimVersion::V7_8);
        let second = with_auth(&basic(DEMO_VIEWER.0, "rotated"));
        assert!(authenticate(&second, &s, SimVersion::V7_8).is_err());
        s.users
            .find_mut(DEMO_VIEWER.0)
            .map(|u| u.add_password("rotated"));
        assert_eq!(
            authenticate(&second, &s, SimVersion::V7_8),
            Ok(Role::DbViewer)
        );
    }
}
