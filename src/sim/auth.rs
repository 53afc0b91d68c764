//! HTTP Basic auth of the simulated cluster: two built-in users, an admin (every permission)
//! and a `db_viewer` (read-only), answering 401/403 in the RS error shape.

use base64::Engine;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};

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

/// The caller's role from the `Authorization` header, or a 401.
pub fn authenticate(headers: &HeaderMap) -> Result<Role, ApiError> {
    let (user, password) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(decode_basic)
        .ok_or_else(unauthorized)?;
    if (user.as_str(), password.as_str()) == DEMO_ADMIN {
        Ok(Role::Admin)
    } else if (user.as_str(), password.as_str()) == DEMO_VIEWER {
        Ok(Role::DbViewer)
    } else {
        Err(unauthorized())
    }
}

/// The 403 for a read-only caller on a route that changes something.
pub fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "insufficient_permissions",
        "The user's role does not have the permission this request needs",
    )
}

fn unauthorized() -> ApiError {
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
        let admin = with_auth(&basic(DEMO_ADMIN.0, DEMO_ADMIN.1));
        assert_eq!(authenticate(&admin), Ok(Role::Admin));
        let viewer = with_auth(&basic(DEMO_VIEWER.0, DEMO_VIEWER.1));
        assert_eq!(authenticate(&viewer), Ok(Role::DbViewer));
    }

    #[test]
    fn wrong_or_garbled_credentials_are_401() {
        for value in [
            basic(DEMO_ADMIN.0, "nope"),
            "Bearer abc".to_owned(),
            "Basic !!!".to_owned(),
        ] {
            let err = authenticate(&with_auth(&value)).expect_err("401");
            assert_eq!(err.status, StatusCode::UNAUTHORIZED);
        }
        assert!(authenticate(&HeaderMap::new()).is_err());
    }
}
