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
use crate::rules::version::VersionSource;
use crate::rules::{self, Rule, Version, VersionNeed};
use http::{HeaderMap, Method, StatusCode};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest time an unknown version (the cluster failed the look-up) is reused.
pub const UNKNOWN_TTL: Duration = Duration::from_secs(5);

/// What is known about the cluster's version, and until when.
#[derive(Debug)]
pub struct VersionCache {
    source: VersionSource,
    ttl: Duration,
    slot: Mutex<Option<(Instant, Option<Version>)>>,
    flight: tokio::sync::Mutex<()>,
}

/// How a look-up ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Learned {
    Known(Version),
    /// The cluster answered without a usable version, or could not be reached.
    ClusterUnknown,
    /// 401/403: this caller may not read it. Not cached.
    Forbidden,
}

impl VersionCache {
    pub fn new(source: VersionSource, ttl: Duration) -> VersionCache {
        VersionCache {
            source,
            ttl,
            slot: Mutex::new(None),
            flight: tokio::sync::Mutex::new(()),
        }
    }

    /// The cached answer while fresh: `Some(None)` is a cached "unknown"; `None`, nothing cached.
    pub fn peek(&self) -> Option<Option<Version>> {
        let slot = crate::locks::lock(&self.slot);
        match *slot {
            Some((until, v)) if Instant::now() < until => Some(v),
            _ => None,
        }
    }

    fn store(&self, learned: Learned) {
        let (ttl, v) = match learned {
            Learned::Known(v) => (self.ttl, Some(v)),
            Learned::ClusterUnknown => (self.ttl.min(UNKNOWN_TTL), None),
            Learned::Forbidden => return,
        };
        *crate::locks::lock(&self.slot) = Some((Instant::now() + ttl, v));
    }

    /// The version, sending the look-up with `headers` when nothing fresh is cached; one
    /// look-up at a time.
    pub async fn learn(&self, app: &App, headers: &HeaderMap) -> Option<Version> {
        if let Some(v) = self.peek() {
            return v;
        }
        let _flight = self.flight.lock().await;
        if let Some(v) = self.peek() {
            return v;
        }
        let learned = self.look_up(app, headers).await;
        self.store(learned);
        match learned {
            Learned::Known(v) => Some(v),
            Learned::ClusterUnknown | Learned::Forbidden => None,
        }
    }

    async fn look_up(&self, app: &App, headers: &HeaderMap) -> Learned {
        let path = self.source.path();
        match app.upstream.call(Method::GET, path, headers, None).await {
            Ok(f) if f.status == StatusCode::OK => match self.source.read(&f.body) {
                Some(v) => {
                    tracing::info!(version = %v, source = path, "learned the cluster's version");
                    Learned::Known(v)
                }
                None => {
                    tracing::warn!(
                        source = path,
                        "the cluster's version is unreadable; deprecated routes pass through"
                    );
                    Learned::ClusterUnknown
                }
            },
            Ok(f) if matches!(f.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                tracing::debug!(
                    source = path,
                    status = f.status.as_u16(),
                    "version look-up refused for this caller"
                );
                Learned::Forbidden
            }
            Ok(f) => {
                tracing::warn!(
                    source = path,
                    status = f.status.as_u16(),
                    "version look-up failed; deprecated routes pass through"
                );
                Learned::ClusterUnknown
            }
            Err(e) => {
                tracing::warn!(source = path, error = %crate::escape::Escaped(&e.to_string()), "version look-up failed; deprecated routes pass through");
                Learned::ClusterUnknown
            }
        }
    }
}

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
/// [`super::endpoint::identity_headers`]). The call's request id is fixed here and written back
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
    super::endpoint::identity_headers(app, caller, hop, &request_id)
}
