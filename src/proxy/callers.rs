//! Who is calling the deprecated routes, as far as admission needs to know (issue 20, item 3):
//! which credentials the cluster has recently accepted ([`Callers::is_verified`]), and how
//! many calls each client address has running with credentials it has not
//! ([`Callers::enter`], `shim.max_unverified_calls_per_ip`).
//!
//! Decisions:
//! - A caller is *verified* when the cluster accepted its `Authorization` on a deprecated call
//!   within [`VERIFIED_TTL`] (the audit record's `verified`). Only a keyed 64-bit fingerprint
//!   of the header is kept (SipHash with this process's random key), never the credential.
//!   At most [`MAX_VERIFIED`] are remembered; when full, expired ones go first, then the
//!   oldest.
//! - Every other call (no credentials, junk ones, or ones not yet accepted) counts against its
//!   client address (the forwarded client when `X-Forwarded-For` is trusted, as in the audit)
//!   from dispatch to its end, the version look-up and the body's arrival included. Over the
//!   bound it is refused `429 too_many_unverified_calls` with `Retry-After`, audited. So a few
//!   hosts trickling bodies cannot hold the process's call permits or queue on the version
//!   look-up, while verified callers are never held by them.
//! - The per-address table holds only addresses with a call running: its size is bounded by
//!   the connections.

use crate::error::ApiError;
use crate::locks::lock;
use http::{HeaderMap, StatusCode};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the cluster's acceptance of a credential is remembered.
pub const VERIFIED_TTL: Duration = Duration::from_secs(600);
/// How many accepted credentials are remembered.
pub const MAX_VERIFIED: usize = 4096;
/// `error_code` of a call refused by the per-address bound.
pub const TOO_MANY_UNVERIFIED: &str = "too_many_unverified_calls";
/// `Retry-After` (seconds) of that refusal.
const RETRY_AFTER_SECS: u64 = 2;

/// The fingerprint of a caller's credentials (never the credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(u64);

pub struct Callers {
    keys: std::collections::hash_map::RandomState,
    verified: Mutex<HashMap<Fingerprint, Instant>>,
    running: Mutex<HashMap<IpAddr, usize>>,
    max_per_ip: AtomicUsize,
}

/// An unverified call's place in its address's count, given back on drop.
pub struct Place {
    callers: Arc<Callers>,
    ip: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut running = lock(&self.callers.running);
        if let Some(n) = running.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                running.remove(&self.ip);
            }
        }
    }
}

impl Callers {
    pub fn new(max_unverified_per_ip: usize) -> Arc<Callers> {
        Arc::new(Callers {
            keys: Default::default(),
            verified: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            max_per_ip: AtomicUsize::new(max_unverified_per_ip),
        })
    }

    /// A new bound after a reload; calls running keep their places.
    pub fn set_limit(&self, max_unverified_per_ip: usize) {
        self.max_per_ip
            .store(max_unverified_per_ip, Ordering::Relaxed);
    }

    /// The fingerprint of the caller's `Authorization`, if it has one.
    pub fn fingerprint(&self, headers: &HeaderMap) -> Option<Fingerprint> {
        let auth = headers.get(http::header::AUTHORIZATION)?;
        Some(Fingerprint(self.keys.hash_one(auth.as_bytes())))
    }

    /// Whether the cluster accepted these credentials within [`VERIFIED_TTL`].
    pub fn is_verified(&self, fp: Option<Fingerprint>) -> bool {
        let Some(fp) = fp else { return false };
        lock(&self.verified)
            .get(&fp)
            .is_some_and(|at| at.elapsed() < VERIFIED_TTL)
    }

    /// The cluster accepted these credentials now.
    pub fn mark_verified(&self, fp: Fingerprint) {
        let now = Instant::now();
        let mut verified = lock(&self.verified);
        if verified.len() >= MAX_VERIFIED && !verified.contains_key(&fp) {
            verified.retain(|_, at| at.elapsed() < VERIFIED_TTL);
            if verified.len() >= MAX_VERIFIED {
                if let Some(oldest) = verified.iter().min_by_key(|(_, at)| **at).map(|(k, _)| *k) {
                    verified.remove(&oldest);
                }
            }
        }
        verified.insert(fp, now);
    }

    /// How many credentials are remembered (for the tests and the bound's proof).
    pub fn remembered(&self) -> usize {
        lock(&self.verified).len()
    }

    /// Admits a call from `ip`: a verified one always (`None`), an unverified one while its
    /// address has fewer than `shim.max_unverified_calls_per_ip` running.
    pub fn enter(self: &Arc<Self>, ip: IpAddr, verified: bool) -> Result<Option<Place>, ApiError> {
        if verified {
            return Ok(None);
        }
        let max = self.max_per_ip.load(Ordering::Relaxed);
        let mut running = lock(&self.running);
        let n = running.entry(ip).or_insert(0);
        if *n >= max {
            if *n == 0 {
                running.remove(&ip);
            }
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                TOO_MANY_UNVERIFIED,
                format!("this client address has {max} deprecated-route calls running with credentials the cluster has not accepted yet (shim.max_unverified_calls_per_ip); retry shortly"),
            )
            .retry_in(RETRY_AFTER_SECS));
        }
        *n += 1;
        Ok(Some(Place {
            callers: self.clone(),
            ip,
        }))
    }

    /// Addresses with an unverified call running.
    pub fn addresses(&self) -> usize {
        lock(&self.running).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, v.parse().expect("header"));
        h
    }

    #[test]
    fn an_address_gets_its_bound_of_unverified_calls_and_its_places_back() {
        let callers = Callers::new(2);
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        let a = callers.enter(ip, false).expect("first");
        let _b = callers.enter(ip, false).expect("second");
        let refused = callers.enter(ip, false).err().expect("third refused");
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.error_code, TOO_MANY_UNVERIFIED);
        assert!(callers.enter(ip, true).expect("verified").is_none());
        let other: IpAddr = "192.0.2.8".parse().expect("ip");
        assert!(callers.enter(other, false).is_ok(), "another address");
        drop(a);
        assert!(callers.enter(ip, false).is_ok(), "a place came back");
    }

    #[test]
    fn the_table_forgets_an_address_with_nothing_running() {
        let callers = Callers::new(4);
        let ip: IpAddr = "2001:db8::1".parse().expect("ip");
        let p = callers.enter(ip, false).expect("enter");
        assert_eq!(callers.addresses(), 1);
        drop(p);
        assert_eq!(callers.addresses(), 0);
        let none = Callers::new(0);
        assert!(none.enter(ip, false).is_err());
        assert_eq!(none.addresses(), 0, "a refusal leaves no entry");
    }

    #[test]
    fn credentials_are_verified_only_once_accepted_and_the_memory_is_bounded() {
        let callers = Callers::new(1);
        let admin = callers.fingerprint(&auth("Basic YWRtaW46cHc="));
        assert!(!callers.is_verified(admin));
        callers.mark_verified(admin.expect("fingerprint"));
        assert!(callers.is_verified(admin));
        assert!(!callers.is_verified(callers.fingerprint(&auth("Basic eDp5"))));
        assert!(!callers.is_verified(callers.fingerprint(&HeaderMap::new())));
        for i in 0..(MAX_VERIFIED + 10) {
            let fp = callers.fingerprint(&auth(&format!("Basic {i}")));
            callers.mark_verified(fp.expect("fingerprint"));
        }
        assert_eq!(callers.remembered(), MAX_VERIFIED);
    }
}
