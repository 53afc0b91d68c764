//! `GET /v1/license`: the cluster's license object, for any authenticated user, on every
//! release.
//!
//! Decisions:
//! - The object has the documented keys (`license`, `expired`, `activation_date`,
//!   `expiration_date`, `cluster_name`, `owner`, `shards_limit`, `ram_shards_limit`,
//!   `ram_shards_in_use`, `flash_shards_limit`, `flash_shards_in_use`, `features`), with
//!   fixed dates (valid from the seed's creation time for three years, so `expired: false`
//!   against the simulated clock).
//! - `license` is placeholder text, never key material: nothing in it could be mistaken for a
//!   real license key.
//! - Shards in use are the derived shards of [`super::stats_v1::shards`] (RAM only; flash 0).

use serde_json::{json, Value};

use super::state::SimState;

/// The license text shown: a placeholder, no key.
pub const LICENSE_TEXT: &str = "----- LICENSE START -----\n\
    simulated Redis Software license (placeholder text, no key material)\n\
    ----- LICENSE END -----\n";

/// `GET /v1/license`.
pub fn license(state: &SimState) -> Value {
    let in_use = super::stats_v1::shards(state).len();
    json!({
        "license": LICENSE_TEXT,
        "expired": false,
        "activation_date": "2024-03-11T09:00:00Z",
        "expiration_date": "2027-03-11T09:00:00Z",
        "cluster_name": state.cluster.get("name").cloned().unwrap_or(Value::Null),
        "owner": "Simulated Cluster Owner",
        "shards_limit": 100,
        "ram_shards_limit": 100,
        "ram_shards_in_use": in_use,
        "flash_shards_limit": 0,
        "flash_shards_in_use": 0,
        "features": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::seed::seed;
    use crate::sim::SimVersion;

    #[test]
    fn the_license_counts_the_derived_shards_and_holds_no_key() {
        let s = seed(SimVersion::V7_8);
        let l = license(&s);
        // orders-db 2 masters + 2 replicas, cache 1, legacy-sessions 2, geo-replicated 2.
        assert_eq!(l["ram_shards_in_use"], 9);
        assert_eq!(l["expired"], false);
        assert_eq!(l["cluster_name"], "cluster.sim.local");
        assert!(l["license"].as_str().is_some_and(|t| t.contains("no key")));
    }
}
