//! Where the shim of a differential test sends first (issue 21: "every rule's differential
//! runs once with the shim pointed at a follower first"). [`front_of`] starts the new cluster
//! and the shim in front of it: one node, or, inside [`with_follower_first`], three nodes over
//! one state with `upstream.nodes` listing a follower first (node 2, then the master 1, then 3).
//!
//! Decisions:
//! - The choice is a per-thread switch, not a parameter: the differential tests run again, as
//!   they are, from one `#[test]` that sets it (`#[tokio::test]` runs its body on the calling
//!   thread), so the tables are reused, never copied.
//! - The [`Sim`] of a multi-node cluster has the master's address, for a test's direct reads.

use super::harness::{nodes_config, Shim, Sim};
use deprecation_shim::sim::{RecordedRequest, SimConfig, Simulator};
use std::cell::Cell;

thread_local! {
    static FOLLOWER_FIRST: Cell<bool> = const { Cell::new(false) };
}

/// Runs `tests` (differential tests, called as plain functions) with every [`front_of`] on
/// this thread starting three nodes and a shim that tries a follower first.
pub fn with_follower_first(tests: impl FnOnce()) {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            FOLLOWER_FIRST.with(|f| f.set(false));
        }
    }
    FOLLOWER_FIRST.with(|f| f.set(true));
    let _reset = Reset;
    tests();
}

/// Whether [`front_of`] starts a follower-first cluster on this thread.
pub fn follower_first() -> bool {
    FOLLOWER_FIRST.with(Cell::get)
}

/// The new cluster from `cfg` and a shim in front of it with the test defaults and
/// `extra_toml` (see the module doc for the topology).
pub async fn front_of(cfg: SimConfig, extra_toml: &str) -> (Sim, Shim) {
    if !follower_first() {
        let sim = Sim::with(cfg).await;
        let shim = Shim::in_front_of(sim.addr, extra_toml).await;
        return (sim, shim);
    }
    let sim = Simulator::new(cfg);
    let nodes = sim.serve_nodes(None).await.expect("serve nodes");
    let url = |uid: u64| {
        let addr = nodes
            .iter()
            .find(|(u, _)| *u == uid)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("no node {uid}: the state needs three nodes"));
        format!("\"http://{addr}\"")
    };
    let master = sim.master().expect("a master");
    assert_eq!(master, 1, "node 1 starts as the master");
    let upstream = format!("[upstream]\nnodes = [{}, {}, {}]\n", url(2), url(1), url(3));
    let cfg = nodes_config(&upstream, extra_toml).unwrap_or_else(|e| panic!("shim config: {e}"));
    let shim = Shim::start(cfg).await;
    let addr = nodes[0].1;
    let sim = Sim {
        addr: nodes
            .iter()
            .find(|(u, _)| *u == master)
            .map_or(addr, |(_, a)| *a),
        sim,
        stop: None,
    };
    (sim, shim)
}

/// The requests the cluster served, as a one-node cluster would have seen them: in a
/// follower-first cluster, a follower's redirected requests (which applied nothing) and the
/// shim's `GET /v1/nodes` address look-up that follows the first of them are left out.
pub fn served(sim: &Simulator) -> Vec<RecordedRequest> {
    let master = sim.master();
    let mut learning = false;
    let mut out = Vec::new();
    for r in sim.requests() {
        if r.node.is_some() && r.node != master {
            learning = true;
            continue;
        }
        if learning && r.method == http::Method::GET && r.path == "/v1/nodes" {
            learning = false;
            continue;
        }
        out.push(r);
    }
    out
}
