//! The cluster's RS version as last learned (R11, API-RULES §6), per upstream: what the rule
//! gates read. It holds only what the look-up found and sends the look-up through the
//! [`Upstream`] it is given; when to look up, and with whose identity, is decided on the
//! request path ([`crate::proxy::deprecated::version`], which also states the decisions).

use crate::rules::version::{Unknown, VersionSource};
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
    /// A known version, or a cluster-caused unknown (`Err`), and until when.
    slot: Mutex<Option<(Instant, Result<Version, Unknown>)>>,
    /// One look-up at a time for callers whose credentials the cluster accepted recently, and
    /// one at a time for the others: junk callers queue behind each other, never in front of
    /// a verified caller (issue 20).
    flights: [tokio::sync::Mutex<()>; 2],
}

/// How a look-up ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Learned {
    Known(Version),
    /// The cluster answered without a usable version, or could not be reached.
    ClusterUnknown,
    /// 401/403 or another 4xx: this caller's doing (its credentials, or a front end refusing
    /// its request). Not cached: it says nothing about the cluster.
    CallerFault,
}

impl VersionCache {
    pub fn new(source: VersionSource, ttl: Duration) -> VersionCache {
        VersionCache {
            source,
            ttl,
            slot: Mutex::new(None),
            flights: Default::default(),
        }
    }

    /// The cached answer while fresh: `Some(Err(Unknown::Cluster))` is a cached "the cluster
    /// could not say"; `None`, nothing cached.
    pub fn peek(&self) -> Option<Result<Version, Unknown>> {
        let slot = crate::locks::lock(&self.slot);
        match *slot {
            Some((until, v)) if Instant::now() < until => Some(v),
            _ => None,
        }
    }

    fn store(&self, learned: Learned) {
        let (ttl, v) = match learned {
            Learned::Known(v) => (self.ttl, Ok(v)),
            Learned::ClusterUnknown => (self.ttl.min(UNKNOWN_TTL), Err(Unknown::Cluster)),
            Learned::CallerFault => return,
        };
        *crate::locks::lock(&self.slot) = Some((Instant::now() + ttl, v));
    }

    /// The version, sending the look-up with `headers` when nothing fresh is cached; one
    /// look-up at a time in the caller's lane (`verified`: the cluster accepted its
    /// credentials recently).
    pub async fn learn(
        &self,
        upstream: &Upstream,
        headers: &HeaderMap,
        verified: bool,
    ) -> Result<Version, Unknown> {
        if let Some(v) = self.peek() {
            return v;
        }
        let _flight = self.flights[usize::from(verified)].lock().await;
        if let Some(v) = self.peek() {
            return v;
        }
        let learned = self.look_up(upstream, headers).await;
        self.store(learned);
        match learned {
            Learned::Known(v) => Ok(v),
            Learned::ClusterUnknown => Err(Unknown::Cluster),
            Learned::CallerFault => Err(Unknown::Caller),
        }
    }

    async fn look_up(&self, upstream: &Upstream, headers: &HeaderMap) -> Learned {
        let path = self.source.path();
        let call = upstream.call(Method::GET, path, headers, None);
        match crate::telemetry::fetched("version look-up", &Method::GET, path, call).await {
            Ok(f) if f.status == StatusCode::OK => match self.source.read(&f.body) {
                Some(v) => {
                    tracing::info!(version = %v, source = path, "learned the cluster's version");
                    Learned::Known(v)
                }
                None => {
                    tracing::warn!(
                        source = path,
                        "the cluster's version is unreadable; version-gated rules answer 503 meanwhile"
                    );
                    Learned::ClusterUnknown
                }
            },
            Ok(f) if f.status.is_client_error() => {
                tracing::debug!(
                    source = path,
                    status = f.status.as_u16(),
                    "version look-up refused for this caller"
                );
                Learned::CallerFault
            }
            Ok(f) => {
                tracing::warn!(
                    source = path,
                    status = f.status.as_u16(),
                    "version look-up failed; version-gated rules answer 503 meanwhile"
                );
                Learned::ClusterUnknown
            }
            Err(e) => {
                tracing::warn!(source = path, error = %crate::escape::Escaped(&e.to_string()), "version look-up failed; version-gated rules answer 503 meanwhile");
                Learned::ClusterUnknown
            }
        }
    }
}
