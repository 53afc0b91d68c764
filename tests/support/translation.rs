//! The old route's translation rig (`tests/shim_translation*.rs`): a shim in front of a
//! simulated 8.0 cluster (on its seed, or with 7.4 nodes), the old-route call with its
//! deprecation marks checked, and what the cluster received and became.

use super::harness::{Shim, Sim};
use super::legacy::{admin, assert_deprecated, old_route, upgrade_posts};
use super::{post_json, Reply};
use deprecation_shim::sim::seed;
use deprecation_shim::sim::{SimConfig, SimVersion, Simulator};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

pub const QUICK: Duration = Duration::from_millis(150);

/// An 8.0 cluster on its seed, and a shim with `extra_toml` in front of it.
pub async fn cluster(extra_toml: &str) -> (Shim, Sim) {
    let sim = Sim::timed(SimVersion::V8_0, QUICK).await;
    let upstream = sim.addr;
    (Shim::in_front_of(upstream, extra_toml).await, sim)
}

/// An 8.0 cluster whose nodes still run 7.4.6 (the 7.4 seed), so every old-route error of the
/// seed table, `min_redis_pack_version` included, can be provoked.
pub async fn cluster_on_7_4_nodes(extra_toml: &str) -> (Shim, Sim) {
    let sim = Sim::with(SimConfig {
        version: SimVersion::V8_0,
        state: Some(seed::seed(SimVersion::V7_4)),
        action_duration: QUICK,
    })
    .await;
    (Shim::in_front_of(sim.addr, extra_toml).await, sim)
}

/// Sends an old-route call as the admin and checks the deprecation marks every reply carries.
pub async fn call(shim: SocketAddr, uid: u64, body: Value) -> Reply {
    let reply = post_json(shim, &old_route(uid), &admin(), &body).await;
    assert_deprecated(&reply, uid);
    reply
}

/// The one body the cluster received on the new route.
pub fn the_upgrade_body(sim: &Simulator) -> Value {
    let posts = upgrade_posts(sim);
    assert_eq!(posts.len(), 1, "exactly one upgrade POST: {posts:?}");
    assert_eq!(posts[0].path, "/v1/bdbs/1/upgrade");
    serde_json::from_slice(&posts[0].body).expect("JSON body")
}

/// Database 1 after a successful call: `before` with only `module_name`'s entry replaced.
pub fn assert_only_module_changed(before: &Value, after: &Value, module_name: &str, entry: Value) {
    let mut expected = before.clone();
    let list = expected["module_list"].as_array_mut().expect("module_list");
    let slot = list
        .iter_mut()
        .find(|m| m["module_name"] == module_name)
        .expect("module enabled before");
    *slot = entry;
    assert_eq!(after, &expected);
    assert_eq!(after["redis_version"], "7.2");
    assert_eq!(after["version"], "7.2.4");
}
