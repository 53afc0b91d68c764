//! The cluster's RS version as last learned (R11, API-RULES §6), per upstream: what the rule
//! gates read. It holds only what the look-up found and sends the look-up through the
//! [`Upstream`] it is given; when to look up, and with whose identity, is decided on the
//! request path ([`crate::proxy::deprecated::version`], which also states the decisions).

use crate::rules::version::VersionSource;
use crate::rules::Version;
use crate::upstream::Upstream;
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
    pub async fn learn(&self, upstream: &Upstream, headers: &HeaderMap) -> Option<Version> {
        if let Some(v) = self.peek() {
            return v;
        }
        let _flight = self.flight.lock().await;
        if let Some(v) = self.peek() {
            return v;
        }
        let learned = self.look_up(upstream, headers).await;
        self.store(learned);
        match learned {
            Learned::Known(v) => Some(v),
            Learned::ClusterUnknown | Learned::Forbidden => None,
        }
    }

    async fn look_up(&self, upstream: &Upstream, headers: &HeaderMap) -> Learned {
        let path = self.source.path();
        match upstream.call(Method::GET, path, headers, None).await {
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
