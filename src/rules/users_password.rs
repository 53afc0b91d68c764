//! R13: `PUT | POST | DELETE /v1/users/password` (API-CATALOGUE §3). Before 7.8.2 the body's
//! `username` and `old_password` were the credentials; from 7.8.2 the cluster reads the
//! `Authorization` header only, and on the RS161290 builds it changes the *caller's* password
//! whatever the body's `username` names. Pure: the caller reads the body (at most [`MAX_BODY`],
//! larger is its `413 request_too_large`), and, only when [`needs_guard`] says so, every node's
//! version for the guard.
//!
//! Contract (§3.4): step 1, a request with `Authorization` (any scheme) is guarded (step 5), then
//! forwarded untouched; step 2, without one, a legacy body (an object with string `username` and
//! `old_password`) becomes a Basic header, by version band; step 3, any other body is forwarded;
//! step 4, a pair that cannot be a Basic header is `400 invalid_credentials_format`; step 5, the
//! RS161290 guard answers `406 unsafe_on_cluster_build`.
//!
//! Decisions:
//! - `Authorization: Basic` whose credentials decode to exactly `:` (`Basic Og==`, sent by
//!   generated clients when only body credentials are set) counts as *no header* (§3.4 step 2).
//!   It is never forwarded: step 2 replaces it ([`Decision::Send`] sets the header) or, where the
//!   body carries the credentials (known < 7.8.2) and on step 3, drops it
//!   ([`Decision::ForwardWithoutAuthorization`]). Several `Authorization` fields count as no
//!   header only when every one is that empty pair.
//! - The guard fires when a header is present, `guard.fires_safety()` (in, or "maybe" for a
//!   build-less version, §11), and the body's `username` may name someone else: not byte-equal
//!   to the Basic user name, any `username` under a non-Basic or undecodable header (the user is
//!   unknown), a non-string `username` (whatever the cluster makes of it), or a body naming
//!   `username` twice (which one the cluster reads is undocumented). A `null` or absent
//!   `username` defaults to the authenticated user on every build: no guard. [`needs_guard`] is
//!   the same test, so the caller fetches the nodes' versions only when it matters; `guard` is
//!   not read otherwise. A caller that could not read the nodes passes what §1.6 makes it choose
//!   (`Maybe` fails closed); this core does not decide that.
//! - Step 2 never trips the guard: without a header the body's user is the authenticated one.
//! - Step 2 by band: known ≥ 7.8.2, PUT/POST drop `old_password` and keep every other key (the
//!   body is re-serialised; key order is not kept, `serde_json` has no `preserve_order` here and
//!   order is not semantic), DELETE keeps the body whole (`old_password` names the password to
//!   delete); unknown, the header **and** the original body (§1.6, as R1); known < 7.8.2, the body
//!   goes untouched and only an empty Basic header is removed. The credential checks run only
//!   when a header is built: a pair an old cluster reads from the body is not refused.
//! - The pair is checked and encoded by R1's own code ([`authorize::plan`] on an R1-shaped
//!   body): same `invalid_credentials_format` text, same [`BasicCredentials`] secret wrapper.
//!   `authorize` keeps its encoder private, so this costs one small re-serialisation.
//! - A body naming `username` or `old_password` twice is not the legacy form (step 3): the header
//!   built would name one and an old cluster might read the other.
//! - Secrets: passwords never enter [`Audit`] or an error text, and [`Body`]'s `Debug` shows only
//!   a length (a rewritten PUT/POST body still holds `new_password`). The 406 names the target
//!   `username`, which is not a secret.
//! - `old_password` on PUT/POST from a modern caller is not stripped (§3.4 step 8): the audit
//!   records its presence and the caller decides (≥ 8.2.0) what to do with that.
//! - Another method is not this rule: [`Decision::Forward`], unguarded.

use super::authorize::{self, BasicCredentials};
use super::build_range::Membership;
use super::version::{Version, V7_8_2};
use crate::error::ApiError;
use base64::Engine;
use http::header::AUTHORIZATION;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value};
use std::fmt;

mod parsed;

use parsed::Parsed;

/// Largest body read (§3.4).
pub const MAX_BODY: usize = 64 * 1024;

/// What the executor sends, when step 2 builds a header.
#[derive(Clone, PartialEq, Eq)]
pub enum Body {
    /// The original body, byte for byte (DELETE; unknown version).
    Original,
    /// The body without `old_password` (PUT/POST on known ≥ 7.8.2), as JSON: send it with
    /// `Content-Type: application/json` and its own `Content-Length`.
    Rewritten(Vec<u8>),
}

impl fmt::Debug for Body {
    // A rewritten body still holds `new_password`: show its size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Original => f.write_str("Original"),
            Body::Rewritten(bytes) => write!(f, "Rewritten(<{} bytes>)", bytes.len()),
        }
    }
}

/// What goes into the audit record (§3.4 step 9): never a password or the `Authorization` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub method: Method,
    /// The authenticated user: the Basic header's name, or the body's `username` when the body
    /// carries the credentials (step 2). `None` for another scheme or no credentials at all.
    pub user: Option<String>,
    /// The body's `username` (the target); a non-string one as its JSON text.
    pub target: Option<String>,
    /// Step 2 added the header (the reply is marked, §3.4 step 6).
    pub translated: bool,
    /// The shim answered itself (400 or 406).
    pub refused: bool,
    /// The body has an `old_password` key (observed on PUT/POST from 8.2.0, step 8).
    pub old_password_present: bool,
    /// The request came with `Authorization: Basic Og==`, treated as no header.
    pub empty_basic: bool,
}

/// The decision for one call of the route.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Forward the request untouched (step 1 past the guard; step 3 without any header; known
    /// < 7.8.2 without a header).
    Forward { audit: Audit },
    /// Forward the body untouched but remove `Authorization` (a `Basic Og==`): known < 7.8.2
    /// with a legacy body, and step 3.
    ForwardWithoutAuthorization { audit: Audit },
    /// Set (replace) `Authorization` to `authorization` and send `body` (step 2).
    Send {
        authorization: BasicCredentials,
        body: Body,
        audit: Audit,
    },
    /// Answer this without calling the cluster (step 4: 400; step 5: 406).
    Refuse { error: ApiError, audit: Audit },
}

/// Whether [`plan`] reads `guard`: a header is present and the body may name another user (see
/// the module's decisions). When false the caller needs no node versions.
pub fn needs_guard(method: &Method, headers: &HeaderMap, body: &[u8]) -> bool {
    if !is_route_method(method) {
        return false;
    }
    match auth(headers) {
        Auth::Absent { .. } => false,
        auth => may_target_another(&auth, &Parsed::read(body)),
    }
}

/// Steps 1–5 for one call. `version`: the cluster's cached version (`None`: unknown). `guard`:
/// where the cluster's nodes stand against [`super::build_range::RS161290`], computed with
/// [`super::build_range::any`]/[`super::build_range::any_node`]; read only when [`needs_guard`]
/// is true (pass [`Membership::Out`] otherwise).
pub fn plan(
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    version: Option<Version>,
    guard: Membership,
) -> Decision {
    let auth = auth(headers);
    let parsed = Parsed::read(body);
    let mut audit = Audit {
        method: method.clone(),
        user: match &auth {
            Auth::Basic(user) => Some(user.clone()),
            Auth::Absent { .. } | Auth::Other => None,
        },
        target: parsed.target(),
        translated: false,
        refused: false,
        old_password_present: parsed
            .object
            .as_ref()
            .is_some_and(|o| o.contains_key("old_password")),
        empty_basic: matches!(auth, Auth::Absent { empty_basic: true }),
    };
    if !is_route_method(method) {
        return Decision::Forward { audit };
    }
    let empty_basic = match auth {
        Auth::Absent { empty_basic } => empty_basic,
        header => {
            // Step 1, guarded (step 5).
            if may_target_another(&header, &parsed) && guard.fires_safety() {
                audit.refused = true;
                let error = unsafe_on_cluster_build(audit.target.as_deref().unwrap_or_default());
                return Decision::Refuse { error, audit };
            }
            return Decision::Forward { audit };
        }
    };
    let forward = |audit| {
        if empty_basic {
            Decision::ForwardWithoutAuthorization { audit }
        } else {
            Decision::Forward { audit }
        }
    };
    let Some((user, password, object)) = parsed.legacy() else {
        return forward(audit); // Step 3.
    };
    audit.user = Some(user.to_owned());
    if version.is_some_and(|v| !v.at_least(V7_8_2)) {
        return forward(audit); // The old cluster reads the body's credentials.
    }
    let authorization = match credentials(user, password) {
        Ok(Some(authorization)) => authorization,
        Ok(None) => return forward(audit),
        Err(error) => {
            audit.refused = true;
            return Decision::Refuse { error, audit };
        }
    };
    let body = if version.is_some() && *method != Method::DELETE {
        let mut object = object.clone();
        object.remove("old_password");
        Body::Rewritten(to_json(object))
    } else {
        Body::Original
    };
    audit.translated = true;
    Decision::Send {
        authorization,
        body,
        audit,
    }
}

/// The step-5 refusal, naming the target user (§3.4 step 5, exact text).
pub fn unsafe_on_cluster_build(username: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "unsafe_on_cluster_build",
        format!(
            "RS161290: this Redis Software build changes the caller's own password, not \
             {username}'s. Authenticate as that user or upgrade to 7.8.6-119 / 7.22.0-216 or later"
        ),
    )
}

/// Whether `value` is a Basic header whose credentials are exactly `:` (`Basic Og==`): an empty
/// user and password, which counts as no header (§3.4 step 2).
pub fn is_empty_basic(value: &http::HeaderValue) -> bool {
    matches!(basic_user(value), Some(BasicUser::Empty))
}

fn is_route_method(method: &Method) -> bool {
    *method == Method::PUT || *method == Method::POST || *method == Method::DELETE
}

/// The request's `Authorization`, as far as this rule cares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Auth {
    /// None, or only `Basic Og==` (`empty_basic`).
    Absent { empty_basic: bool },
    /// A Basic header naming this user (the password is never kept).
    Basic(String),
    /// Another scheme, an undecodable Basic, or several fields: the user is unknown.
    Other,
}

fn auth(headers: &HeaderMap) -> Auth {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(first) = values.next() else {
        return Auth::Absent { empty_basic: false };
    };
    let rest: Vec<_> = values.collect();
    if is_empty_basic(first) && rest.iter().all(|v| is_empty_basic(v)) {
        return Auth::Absent { empty_basic: true };
    }
    if !rest.is_empty() {
        return Auth::Other;
    }
    match basic_user(first) {
        Some(BasicUser::Named(user)) => Auth::Basic(user),
        Some(BasicUser::Empty) | None => Auth::Other,
    }
}

enum BasicUser {
    /// The credentials are exactly `:`.
    Empty,
    Named(String),
}

/// The user name of a Basic header: the decoded credentials up to the first `:` (RFC 7617 §2).
/// `None` for another scheme or a malformed value. The decoded password is dropped here.
fn basic_user(value: &http::HeaderValue) -> Option<BasicUser> {
    let text = value.to_str().ok()?.trim();
    let (scheme, credentials) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()?;
    if decoded == b":" {
        return Some(BasicUser::Empty);
    }
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = std::str::from_utf8(&decoded[..colon]).ok()?;
    Some(BasicUser::Named(user.to_owned()))
}

/// Step 5's second half: the body's `username` may differ from the authenticated user.
fn may_target_another(auth: &Auth, parsed: &Parsed) -> bool {
    if parsed.duplicated("username") {
        return true;
    }
    let Some(username) = parsed.username() else {
        return false;
    };
    match (auth, username) {
        (Auth::Basic(user), Value::String(target)) => user.as_bytes() != target.as_bytes(),
        (Auth::Basic(_), _) | (Auth::Other, _) => true,
        (Auth::Absent { .. }, _) => false,
    }
}

/// R1's checks and encoding for the pair (§3.2: "as R1"). `Ok(None)`: R1 would not build a
/// header (cannot happen for two strings; forwarded as step 3 if it ever does).
fn credentials(user: &str, password: &str) -> Result<Option<BasicCredentials>, ApiError> {
    let pair = serde_json::json!({"username": user, "password": password});
    let bytes = serde_json::to_vec(&pair).unwrap_or_default();
    match authorize::plan(&bytes, None) {
        authorize::Decision::Send { authorization, .. } => Ok(Some(authorization)),
        authorize::Decision::Refuse { error, .. } => Err(error),
        authorize::Decision::Forward => Ok(None),
    }
}

fn to_json(object: Map<String, Value>) -> Vec<u8> {
    // Serialising a map of JSON values cannot fail.
    serde_json::to_vec(&Value::Object(object)).unwrap_or_else(|_| b"{}".to_vec())
}

#[cfg(test)]
#[path = "users_password_tests.rs"]
mod tests;
