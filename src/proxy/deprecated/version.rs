//! R11 on the request path: learning the cluster's RS version for the rule gates (API-RULES §6).
//! The pure half (parsing, reading the look-up's body) is [`crate::rules::version`].
//!
//! Decisions:
//! - `rules.rs_version` wins: no look-up is ever sent when it is set.
//! - Otherwise the first call whose rule needs a look-up ([`rules::version_need`] is `LookUp`;
//!   never R1, which only reads what is cached) sends `GET /v1/bootstrap` (or `GET /v1/nodes`
//!   with `version_source = "nodes-min"`) with **that caller's** `Authorization`,
//!   `X-Forwarded-For` chain and `X-Request-Id`, like every other call the shim makes.
//! - Single flight: concurrent first calls wait on one look-up (a `tokio` mutex held across it)
//!   and then read its result from the cache.
//! - A known version is cached for `rules.version_cache_ttl` (default 60 s). An unknown one is
//!   cached for at most [`UNKNOWN_TTL`] (5 s) when the cluster itself is the cause (unreachable,
//!   5xx, an unparsable or missing version), so a failing cluster is not asked on every call;
//!   it is **not cached at all** after a 401/403 or another 4xx, which says nothing about the
//!   cluster, only about this caller (its credentials, or a front end refusing its request):
//!   the next caller asks again.
//! - Issue 20, unknown is not pass-through: a call whose decision needs the version and cannot
//!   have it is still gated by its lifecycle and audited (`cluster_version: "unknown"`). It is
//!   observed (forwarded untouched, unmarked) when the caller is the cause (no credentials, which
//!   never trigger a look-up; a malformed or oversized credential, [`credential_problem`]; a
//!   4xx), since the cluster then answers it as it would natively. When the cluster is the cause,
//!   a rule that would translate or retire the route answers `503 cluster_version_unknown` with
//!   `Retry-After` (the cached unknown's lifetime) instead of guessing; an observe-only rule is
//!   observed.
//! - The look-up runs in a tracked task of its own, before the call's envelope: a caller that
//!   hangs up during it cancels nothing. A call that would change the cluster's state if
//!   translated gets its intent record before the look-up ([`intent_before_look_up`], issue
//!   20: the intent precedes the call's first request upstream), so it always gets its outcome.
//! - The cache is per [`App`](crate::proxy::app::App), i.e. per upstream: a reload (which may
//!   change the upstream) starts with an empty cache.

use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::hop_headers::Hop;
use crate::rules::version::{Seen, Unknown};
use crate::rules::{self, Rule, VersionNeed};
use http::{HeaderMap, StatusCode};

/// The `error_code` of a call refused because the cluster could not say its version.
pub const UNKNOWN_CODE: &str = "cluster_version_unknown";

/// Longest `Authorization` value a look-up is sent with: a Basic pair or an RS token is far
/// shorter; a longer one is junk, and its look-up would only be refused (or answered 400 by a
/// front end) for everyone sharing the cache.
pub const MAX_CREDENTIAL: usize = 4096;

/// A look-up must be sent before the rule can be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MustLookUp;

/// What the executor knows before deciding, without sending anything: `Ok(seen)` when the
/// decision can be taken now.
pub fn known_now(app: &App, rule: &Rule) -> Result<Seen, MustLookUp> {
    if let Some(v) = app.config.rules.rs_version {
        return Ok(Seen::Known(v));
    }
    let cached = || {
        app.versions
            .peek()
            .map(|r| r.map_or_else(Seen::Unknown, Seen::Known))
    };
    match rules::version_need(rule, rule.mode) {
        VersionNeed::None => Ok(Seen::NotNeeded),
        VersionNeed::CachedOnly => Ok(cached().unwrap_or(Seen::Unknown(Unknown::NotAsked))),
        VersionNeed::LookUp => cached().ok_or(MustLookUp),
    }
}

/// Why this caller's credentials cannot be used for a look-up, if they cannot: none at all
/// ([`Unknown::NotAsked`]), or one that is malformed or longer than [`MAX_CREDENTIAL`]
/// ([`Unknown::Caller`]).
pub fn credential_problem(caller: &HeaderMap) -> Option<Unknown> {
    let Some(value) = caller.get(http::header::AUTHORIZATION) else {
        return Some(Unknown::NotAsked);
    };
    let well_formed = value.len() <= MAX_CREDENTIAL
        && value.to_str().ok().is_some_and(|v| {
            let (scheme, token) = v.split_once(' ').unwrap_or((v, ""));
            ["basic", "jwt", "bearer"].contains(&scheme.to_ascii_lowercase().as_str())
                && !token.trim().is_empty()
        });
    (!well_formed).then_some(Unknown::Caller)
}

/// The refusal of a call that needed the version while the cluster could not say it.
pub fn unknown_error() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        UNKNOWN_CODE,
        "the cluster's version could not be learned (GET /v1/bootstrap failed), and this route's handling depends on it; retry shortly",
    )
    .blamed_on(crate::error::Blame::Upstream)
    .retry_in(crate::proxy::versions::UNKNOWN_TTL.as_secs())
}

/// The identity headers of a look-up made for this caller (see
/// [`super::step::identity_headers`]). The call's request id is fixed here and written back
/// into the caller's headers, so the look-up and the call's audit record carry the same one.
pub fn look_up_headers(app: &App, conn: &ConnInfo, caller: &mut HeaderMap) -> HeaderMap {
    let request_id = crate::audit::request_id(caller);
    if let Ok(v) = http::HeaderValue::from_str(&request_id) {
        caller.insert(crate::audit::record::REQUEST_ID_HEADER, v);
    }
    let hop = Hop {
        client_ip: conn.peer.ip(),
        tls: conn.tls,
        host: None,
    };
    super::step::identity_headers(app, caller, hop, &request_id)
}

/// The intent record of a call that would change the cluster's state if translated, written
/// before the version look-up that decides it (issue 20): `Ok(true)` once written (or failed
/// in `continue` mode), the refusal in `fail` mode.
pub(super) async fn intent_before_look_up(
    app: &App,
    conn: &ConnInfo,
    parts: &http::request::Parts,
    rule: usize,
) -> Result<bool, ApiError> {
    let table = &app.config.rules.table;
    let pq = parts.uri.path_and_query().map_or("", |pq| pq.as_str());
    let (Some(r), Some(matched)) = (
        table.rules().get(rule),
        table.match_rule(rule, &parts.method, pq),
    ) else {
        return Ok(false);
    };
    let step = super::translate_step(r);
    if !step.changes_state(&matched, parts) {
        return Ok(false);
    }
    let (record, _) = super::begin::begin_record(app, conn, parts, &matched, &step.shape(&matched));
    super::begin::intent(app, &record).await.map(|()| true)
}
