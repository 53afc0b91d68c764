//! F1's role look-up cache in numbers (issue 23): `role_lookups_total{result}` and
//! `role_cache_evictions_total`. The counters belong to the process registry; each `App`'s
//! [`RoleCache`](crate::proxy::deprecated::fields_role::RoleCache) holds clones of them, so a
//! reload (a new, empty cache) keeps counting where the last one stopped.
//!
//! Decisions:
//! - `result` has four values, fixed here: `hit` (a fresh answer from the cache), `fetched`
//!   (a look-up sent and answered, now cached), `failed` (a look-up sent and not answered
//!   usably: any status but 200, not a JSON array, no reply, a timeout; never cached) and
//!   `skipped` (no usable `Authorization`: no look-up made). Nothing from a caller or the
//!   cluster becomes a label.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// The cache's counters (clones share their value).
#[derive(Debug, Clone, Default)]
pub struct RoleCounters {
    pub hit: Counter,
    pub fetched: Counter,
    pub failed: Counter,
    pub skipped: Counter,
    pub evicted: Counter,
}

impl RoleCounters {
    /// Registers both families in `registry`; the counters they show.
    pub fn register(registry: &mut Registry) -> RoleCounters {
        let lookups = Family::<ResultLabels, Counter>::default();
        registry.register(
            "role_lookups",
            "F1 role look-ups by result: hit (cached answer), fetched (sent, answered, cached), failed (sent, not usable, not cached), skipped (no usable credentials)",
            lookups.clone(),
        );
        let evicted = Counter::default();
        registry.register(
            "role_cache_evictions",
            "F1 role cache entries dropped to keep its bound of callers",
            evicted.clone(),
        );
        let of = |result| lookups.get_or_create(&ResultLabels { result }).clone();
        RoleCounters {
            hit: of("hit"),
            fetched: of("fetched"),
            failed: of("failed"),
            skipped: of("skipped"),
            evicted,
        }
    }
}
