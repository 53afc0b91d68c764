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
//!   it is **not cached at all** after a 401/403, which says nothing about the cluster, only
//!   that this caller may not read it: the next caller asks again. Unknown means pass-through.
//! - The look-up is awaited before the call's own task starts: a caller that hangs up during it
//!   cancels only a GET; nothing of its call was sent, so nothing is audited.
//! - The cache is per [`App`](crate::proxy::app::App), i.e. per upstream: a reload (which may
//!   change the upstream) starts with an empty cache.

use crate::listener::ConnInfo;
use crate::proxy::app::App;
use crate::proxy::hop_headers::Hop;
use crate::rules::{self, Rule, Version, VersionNeed};
use http::HeaderMap;

/// A look-up must be sent before the rule can be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MustLookUp;

/// What the executor knows before deciding, without sending anything: `Ok(version)` when the
/// decision can be taken now.
pub fn known_now(app: &App, rule: &Rule) -> Result<Option<Version>, MustLookUp> {
    if let Some(v) = app.config.rules.rs_version {
        return Ok(Some(v));
    }
    match rules::version_need(rule, rule.mode) {
        VersionNeed::None => Ok(None),
        VersionNeed::CachedOnly => Ok(app.versions.peek().flatten()),
        VersionNeed::LookUp => app.versions.peek().ok_or(MustLookUp),
    }
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
