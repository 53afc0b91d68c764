//! F1's look-up on the request path (API-CATALOGUE §9.1; the decision is pure,
//! [`crate::rules::fields::role`]): `GET /v1/roles` and `GET /v1/bdbs?fields=uid,roles_permissions`
//! with the caller's credentials, single-flight and cached per caller's credentials.
//!
//! Decisions:
//! - The cache key is the fingerprint of the caller's `Authorization` (a keyed hash, never the
//!   credential, [`crate::proxy::callers::Callers::fingerprint`]): a caller only ever gets
//!   facts its own credentials read. No `Authorization`, or a malformed one: no look-up, the
//!   hit is audited `lookup: failed` and the body goes as it came.
//! - Single-flight per key: concurrent calls with the same credentials wait for one pair of
//!   GETs. Callers with other credentials never wait behind it.
//! - A fresh answer is reused for [`ROLE_TTL`] (30 s): a role created meanwhile is seen at the
//!   latest after that. A failed look-up (any status but 200, a reply that is not a JSON
//!   array, no reply, a timeout) is never cached, not even for the same caller.
//! - At most [`MAX_ENTRIES`] keys: a new key in a full cache first drops the expired idle
//!   entries, then the oldest idle one; when every entry is in flight the call looks up
//!   uncached. Hits, look-ups sent (answered or failed), calls without usable credentials and
//!   evictions are counted in the process's counters ([`crate::metrics::roles`], on
//!   `/metrics` as `role_lookups_total{result}` and `role_cache_evictions_total`).
//! - Failure is decided here as "forward untouched, audit `lookup: failed`" (contract §1.6):
//!   the server still honours `role` until its sunset, so passing it on is safe.

use super::version;
use crate::listener::ConnInfo;
use crate::metrics::roles::RoleCounters;
use crate::proxy::app::App;
use crate::rules::fields::role::RoleFacts;
use http::{HeaderMap, Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one caller's look-up is reused.
pub const ROLE_TTL: Duration = Duration::from_secs(30);
/// Most callers' answers held at once.
pub const MAX_ENTRIES: usize = 1024;

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Arc<RoleFacts>)>>>;

/// The per-caller, single-flight cache of F1's look-up.
#[derive(Debug)]
pub struct RoleCache<K = crate::proxy::callers::Fingerprint> {
    ttl: Duration,
    max: usize,
    slots: Mutex<HashMap<K, Slot>>,
    counters: RoleCounters,
}

impl<K> Default for RoleCache<K> {
    /// A cache with counters of its own (registered nowhere).
    fn default() -> Self {
        RoleCache::new(ROLE_TTL, MAX_ENTRIES)
    }
}

impl<K> RoleCache<K> {
    pub fn new(ttl: Duration, max: usize) -> RoleCache<K> {
        RoleCache::counted(ttl, max, RoleCounters::default())
    }

    /// A cache counting into `counters` (the process's, [`crate::metrics::Metrics::role_counters`]).
    pub fn counted(ttl: Duration, max: usize, counters: RoleCounters) -> RoleCache<K> {
        RoleCache {
            ttl,
            max: max.max(1),
            slots: Mutex::new(HashMap::new()),
            counters,
        }
    }

    /// Look-ups sent so far (each a pair of GETs), answered or failed.
    pub fn look_ups(&self) -> u64 {
        self.counters.fetched.get() + self.counters.failed.get()
    }

    /// Answers given from the cache.
    pub fn hits(&self) -> u64 {
        self.counters.hit.get()
    }

    /// Entries dropped to keep the bound.
    pub fn evicted(&self) -> u64 {
        self.counters.evicted.get()
    }

    /// Counts a call that could not look up (no usable credentials).
    pub fn skipped(&self) {
        self.counters.skipped.inc();
    }
}

impl<K: Hash + Eq + Clone> RoleCache<K> {
    /// Entries held now.
    pub fn len(&self) -> usize {
        crate::locks::lock(&self.slots).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The facts for `key`: cached while fresh, else fetched once by `fetch` while other calls
    /// with the same key wait; `None` when the fetch failed (not cached).
    pub async fn get<F, Fut>(&self, key: K, fetch: F) -> Option<Arc<RoleFacts>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<RoleFacts>>,
    {
        let slot = self.slot(key);
        let mut held = slot.lock().await;
        if let Some((at, facts)) = held.as_ref() {
            if at.elapsed() < self.ttl {
                self.counters.hit.inc();
                return Some(facts.clone());
            }
        }
        let fetched = fetch().await.map(Arc::new);
        let counter = match fetched {
            Some(_) => &self.counters.fetched,
            None => &self.counters.failed,
        };
        counter.inc();
        *held = fetched.as_ref().map(|f| (Instant::now(), f.clone()));
        fetched
    }

    /// The key's slot, made room for (see the module's decisions).
    fn slot(&self, key: K) -> Slot {
        let mut slots = crate::locks::lock(&self.slots);
        if let Some(slot) = slots.get(&key) {
            return slot.clone();
        }
        if slots.len() >= self.max {
            let before = slots.len();
            let ttl = self.ttl;
            // Kept: in use, or filled and fresh.
            slots.retain(|_, s| idle(s).is_none_or(|at| at.is_some_and(|t| t.elapsed() < ttl)));
            if slots.len() >= self.max {
                let oldest = slots
                    .iter()
                    .filter_map(|(k, s)| Some((k.clone(), idle(s)??)))
                    .min_by_key(|(_, at)| *at)
                    .map(|(k, _)| k);
                if let Some(k) = oldest {
                    slots.remove(&k);
                }
            }
            let dropped = before.saturating_sub(slots.len());
            self.counters.evicted.inc_by(dropped as u64);
        }
        let slot = Slot::default();
        if slots.len() < self.max {
            slots.insert(key, slot.clone());
        }
        slot
    }
}

/// When nobody holds or waits for the slot: `Some(when it was filled)`, `Some(None)` when empty.
fn idle(slot: &Slot) -> Option<Option<Instant>> {
    if Arc::strong_count(slot) > 1 {
        return None;
    }
    slot.try_lock()
        .ok()
        .map(|held| held.as_ref().map(|(at, _)| *at))
}

/// The facts for this call's caller (`None`: the look-up failed or could not be made).
pub async fn facts(
    app: &App,
    conn: &ConnInfo,
    parts: &mut http::request::Parts,
) -> Option<Arc<RoleFacts>> {
    let key = match version::credential_problem(&parts.headers) {
        None => app.callers.fingerprint(&parts.headers),
        Some(_) => None,
    };
    let Some(key) = key else {
        app.roles.skipped();
        return None;
    };
    let headers = version::look_up_headers(app, conn, &mut parts.headers);
    app.roles.get(key, || fetch(app, headers)).await
}

async fn fetch(app: &App, headers: HeaderMap) -> Option<RoleFacts> {
    let roles = get_json(app, "/v1/roles", &headers).await?;
    let bdbs = get_json(app, "/v1/bdbs?fields=uid,roles_permissions", &headers).await?;
    RoleFacts::read(&roles, &bdbs)
}

async fn get_json(app: &App, path: &str, headers: &HeaderMap) -> Option<Value> {
    let look_up = || app.upstream.call(Method::GET, path, headers, None);
    match crate::telemetry::in_call("role look-up", &Method::GET, path, look_up).await {
        Ok(f) if f.status == StatusCode::OK => serde_json::from_slice(&f.body).ok(),
        Ok(f) => {
            tracing::debug!(
                path,
                status = f.status.as_u16(),
                "F1 role look-up refused; role forwarded as it came"
            );
            None
        }
        Err(e) => {
            tracing::warn!(path, error = %crate::escape::Escaped(&e.to_string()), "F1 role look-up failed; role forwarded as it came");
            None
        }
    }
}

#[cfg(test)]
#[path = "fields_role_tests.rs"]
mod tests;
