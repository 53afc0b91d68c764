//! JSON Web Tokens of the simulated cluster (API-RULES §2.6): `POST /v1/users/authorize`
//! (credentials in the body before 7.8.2, in the Basic header from 7.8.2 on),
//! `POST /v1/users/refresh_jwt`, and the live tokens every route accepts as
//! `Authorization: JWT <token>` or `Bearer <token>`.
//!
//! Decisions:
//! - Tokens are opaque: 64 hex characters from two random v4 UUIDs (244 random bits), not real
//!   JWTs; nothing about them can be guessed or decoded. They live in the state's
//!   [`Tokens`], which never serialises and whose `Debug` shows only a count.
//! - `ttl` outside 1..=86400, or not an integer → 400 `invalid_ttl` (inference, §2.4); default 300.
//! - Before 7.8.2 the header is ignored: body credentials or 401 (§2.6, inference). From 7.8.2
//!   the body's `username`/`password` are ignored: Basic header credentials or 401. On 8.2
//!   with Basic switched off, authorize is 401 whatever is sent.
//! - At most [`MAX_TOKENS`] live tokens; expired ones are dropped first, then the oldest.

use http::HeaderMap;
use serde_json::{json, Map, Value};
use std::fmt;
use std::time::{Duration, Instant};

use super::auth::{self, Role};
use super::body;
use super::state::SimState;
use super::version::SimVersion;
use crate::error::ApiError;

/// Live tokens held at once; a caller can push this, so it is bounded.
pub const MAX_TOKENS: usize = 10_000;
/// RS's default and maximum token lifetime, in seconds.
pub const DEFAULT_TTL: u64 = 300;
pub const MAX_TTL: u64 = 86_400;

#[derive(Clone)]
struct Token {
    value: String,
    role: Role,
    expires: Instant,
}

/// The live tokens.
#[derive(Clone, Default)]
pub struct Tokens(Vec<Token>);

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tokens({} live)", self.0.len())
    }
}

impl Tokens {
    /// Issues a token for `role`, valid for `ttl`.
    pub fn issue(&mut self, role: Role, ttl: Duration, now: Instant) -> String {
        self.0.retain(|t| t.expires > now);
        if self.0.len() >= MAX_TOKENS {
            self.0.remove(0);
        }
        let value = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.0.push(Token {
            value: value.clone(),
            role,
            expires: now + ttl,
        });
        value
    }

    /// The role of a live token.
    pub fn role_of(&self, token: &str, now: Instant) -> Option<Role> {
        self.0
            .iter()
            .find(|t| t.value == token && t.expires > now)
            .map(|t| t.role)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `POST /v1/users/authorize`.
pub fn authorize(
    state: &mut SimState,
    version: SimVersion,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<Value, ApiError> {
    let map = body::object(raw, true)?;
    let ttl = ttl(&map)?;
    if auth::basic_disabled(state, version) {
        return Err(auth::unauthorized());
    }
    let role = if version.authorize_reads_header() {
        header_value(headers).and_then(|v| auth::basic_role(state, v))
    } else {
        body_credentials(&map)?.and_then(|(u, p)| auth::user_role(state, &u, &p))
    }
    .ok_or_else(auth::unauthorized)?;
    let token = state.tokens.issue(role, ttl, Instant::now());
    Ok(json!({ "access_token": token }))
}

/// `POST /v1/users/refresh_jwt`: a new token for the holder of a live one.
pub fn refresh(state: &mut SimState, headers: &HeaderMap, raw: &[u8]) -> Result<Value, ApiError> {
    let map = body::object(raw, true)?;
    let ttl = ttl(&map)?;
    let now = Instant::now();
    let role = header_value(headers)
        .and_then(auth::bearer_token)
        .and_then(|t| state.tokens.role_of(t, now))
        .ok_or_else(|| {
            ApiError::new(
                http::StatusCode::UNAUTHORIZED,
                "unauthorized",
                "The token is invalid or password has expired",
            )
        })?;
    let token = state.tokens.issue(role, ttl, now);
    Ok(json!({ "access_token": token }))
}

fn header_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

fn ttl(map: &Map<String, Value>) -> Result<Duration, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid_ttl",
            format!("ttl must be an integer from 1 to {MAX_TTL} seconds"),
        )
    };
    let secs = match map.get("ttl") {
        None | Some(Value::Null) => DEFAULT_TTL,
        Some(v) => v.as_u64().ok_or_else(bad)?,
    };
    if !(1..=MAX_TTL).contains(&secs) {
        return Err(bad());
    }
    Ok(Duration::from_secs(secs))
}

/// `username` and `password` from the body, when both are strings.
fn body_credentials(map: &Map<String, Value>) -> Result<Option<(String, String)>, ApiError> {
    let user = body::opt_str(map, "username")?;
    let password = body::opt_str(map, "password")?;
    Ok(user.zip(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_stay_bounded() {
        let mut t = Tokens::default();
        let now = Instant::now();
        let a = t.issue(Role::Admin, Duration::from_secs(1), now);
        assert_eq!(a.len(), 64);
        assert_eq!(t.role_of(&a, now), Some(Role::Admin));
        assert_eq!(t.role_of(&a, now + Duration::from_secs(1)), None);
        for _ in 0..MAX_TOKENS + 5 {
            t.issue(Role::DbViewer, Duration::from_secs(60), now);
        }
        assert_eq!(t.len(), MAX_TOKENS);
        assert_eq!(t.role_of(&a, now), None, "the oldest went first");
        assert!(!format!("{t:?}").contains(&a[..8]));
    }

    #[test]
    fn ttl_outside_the_documented_range_is_400() {
        for body in [
            json!({"ttl": 0}),
            json!({"ttl": 86401}),
            json!({"ttl": "5"}),
        ] {
            let Value::Object(m) = body else { continue };
            assert_eq!(ttl(&m).expect_err("400").error_code, "invalid_ttl");
        }
        assert_eq!(ttl(&Map::new()), Ok(Duration::from_secs(300)));
    }
}
