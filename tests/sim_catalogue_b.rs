//! The simulated cluster's part of issue 22 (b), over real sockets, per release where the
//! releases differ: R12 the sibling module-upgrade route on 8.x, R15 the shard blueprint (old
//! GET, revamp), R16 syncer state, R17 maintenance mode. Final states are read back through
//! `GET /__sim/state`. R14 runtime module configuration is in `sim_module_config.rs`.

mod support;

use deprecation_shim::sim::{seed, FaultSet, SiblingOn8x, SimVersion};
use serde_json::{json, Value};
use std::time::Duration;

use support::catalogue::{call_as, each, module_args, ok, put, refused, state, switch, POST, PUT};
use support::harness::Sim;
use support::legacy::{assert_rs_error, viewer};
use support::{get, post_json, Reply};

const V8: [SimVersion; 2] = [SimVersion::V8_0, SimVersion::V8_2];
const WITH_REVAMP: [SimVersion; 3] = [SimVersion::V7_22, SimVersion::V8_0, SimVersion::V8_2];

// ---- R12 ---------------------------------------------------------------------------------

const SIBLING: &str = "/v1/bdbs/4/modules/upgrade";

#[tokio::test]
async fn sibling_route_is_unknown_on_8x_by_default_and_served_with_the_switch() {
    let body = json!({"modules": [{"current_module": seed::REJSON_2_6_6, "new_module": seed::REJSON_2_6_17}]});
    for v in V8 {
        let c = Sim::start(v).await;
        let before = state(&c).await["bdbs"].clone();
        refused(&c, POST, SIBLING, body.clone(), 404, "not_found").await;
        let r = get(c.addr, &format!("{SIBLING}/"), &viewer()).await;
        assert_rs_error(&r, 404, "not_found");
        assert_eq!(state(&c).await["bdbs"], before, "{v}");
        switch(&c, json!({"sibling_on_8x": "serve"})).await;
        let reply = ok(&c.post(SIBLING, body.clone()).await);
        assert_eq!(reply["module_id"], seed::REJSON_2_6_17, "{v}");
    }
    // "serve" includes Redis 8 databases: the pre-8 recipe (same module, new arguments) on 8.2.
    let c = Sim::start(SimVersion::V8_2).await;
    let serve = SiblingOn8x::Serve;
    c.faults().set(FaultSet {
        sibling_on_8x: serve,
        ..FaultSet::default()
    });
    let search = deprecation_shim::sim::redis8::SEARCH_8_2_1;
    let recipe = json!({"modules": [{"current_module": search, "new_module": search, "new_module_args": "WORKERS 4"}]});
    ok(&c.post("/v1/bdbs/5/modules/upgrade", recipe).await);
    assert_eq!(module_args(&c.bdb(5).await, "search"), "WORKERS 4");
    // Before 8.0 it is served without the switch.
    let c = Sim::start(SimVersion::V7_22).await;
    ok(&c.post(SIBLING, body).await);
}

// ---- R15 ---------------------------------------------------------------------------------

const OPTIMIZE: &str = "/v1/bdbs/1/actions/optimize_shards_placement";
const REVAMP: &str = "/v1/bdbs/1/actions/revamp";
const DRY_RUN: &str = "/v1/bdbs/1/actions/revamp?dry_run=true";

fn state_id(r: &Reply) -> u64 {
    let id = r.header("cluster-state-id").and_then(|h| h.parse().ok());
    id.expect("cluster-state-id")
}

#[tokio::test]
async fn the_old_get_answers_a_blueprint_and_a_state_id_on_every_release() {
    for v in SimVersion::ALL {
        let c = Sim::start(v).await;
        let query = format!("{OPTIMIZE}?shards_count=3&replication=enabled");
        let r = get(c.addr, &query, &viewer()).await;
        let plan = ok(&r);
        let ranges = each(&plan, |s| &s["slot_range"]);
        assert_eq!(
            ranges,
            [json!("0-5460"), json!("5461-10922"), json!("10923-16383")],
            "{v}"
        );
        assert_eq!(
            plan[0]["nodes"][1],
            json!({"node_uid": "2", "role": "slave"})
        );
        assert!(state_id(&r) >= 1);
    }
}

#[tokio::test]
async fn revamp_dry_run_gives_the_get_blueprint_for_the_mapped_inputs() {
    let cases = [
        ("", json!({})),
        ("shards_count=3&replication=enabled", json!({"shards_count": 3, "replication": true})),
        (
            "shards_count=5&replication=disabled&shards_placement=sparse&avoid_nodes=1%2C3&memory_size=2048&bigstore_ram_size=0",
            json!({"shards_count": 5, "replication": false, "shards_placement": "sparse",
                   "avoid_nodes": ["1", "3"], "memory_size": 2048, "bigstore_ram_size": 0}),
        ),
        (
            "shards_count=2&shards_placement=sparse&replication=enabled",
            json!({"shards_count": 2, "shards_placement": "sparse", "replication": true}),
        ),
    ];
    for v in WITH_REVAMP {
        let c = Sim::start(v).await;
        let before = state(&c).await;
        for (query, body) in &cases {
            let old = ok(&c.get(&format!("{OPTIMIZE}?{query}")).await);
            let new = put(&c, DRY_RUN, body).await;
            assert_eq!(ok(&new), old, "{v} {query}");
            assert_eq!(new.header("cluster-state-id"), None);
        }
        switch(&c, json!({"revamp_state_header": true})).await;
        let new = put(&c, DRY_RUN, &json!({})).await;
        assert_eq!(state_id(&new), state_id(&c.get(OPTIMIZE).await));
        assert_eq!(state(&c).await, before, "{v}: a dry run changes nothing");
    }
}

#[tokio::test]
async fn revamp_is_unknown_before_7_22_and_forbidden_to_a_viewer() {
    for v in [SimVersion::V7_4, SimVersion::V7_8] {
        let c = Sim::start(v).await;
        refused(&c, PUT, DRY_RUN, json!({}), 404, "not_found").await;
        ok(&get(c.addr, OPTIMIZE, &viewer()).await);
    }
    for v in WITH_REVAMP {
        let c = Sim::start(v).await;
        let r = call_as(&c, &viewer(), PUT, DRY_RUN, &json!({})).await;
        assert_rs_error(&r, 403, "insufficient_permissions");
        ok(&get(c.addr, OPTIMIZE, &viewer()).await);
    }
}

#[tokio::test]
async fn revamp_busy_switch_is_409_on_the_revamp_only() {
    let c = Sim::start(SimVersion::V8_0).await;
    switch(&c, json!({"revamp_busy": true})).await;
    refused(&c, PUT, DRY_RUN, json!({}), 409, "busy").await;
    refused(&c, PUT, REVAMP, json!({"shards_count": 3}), 409, "busy").await;
    ok(&c.get(OPTIMIZE).await);
}

#[tokio::test]
async fn a_real_revamp_changes_shards_count_and_the_state_id() {
    let c = Sim::start(SimVersion::V8_2).await;
    let id_before = state_id(&c.get(OPTIMIZE).await);
    let reply = ok(&put(&c, REVAMP, &json!({"shards_count": 4})).await);
    let action = reply["action_uid"].as_str().expect("action_uid");
    assert_eq!(c.bdb(1).await["status"], "active-change-pending");
    refused(&c, PUT, DRY_RUN, json!({}), 409, "action_in_progress").await;
    assert_eq!(c.wait_action(action).await["status"], "completed");
    assert_eq!(state(&c).await["bdbs"][0]["shards_count"], 4);
    let after = c.get(OPTIMIZE).await;
    assert_ne!(state_id(&after), id_before);
    assert_eq!(ok(&after).as_array().map(Vec::len), Some(4));
}

// ---- R16 ---------------------------------------------------------------------------------

#[tokio::test]
async fn syncer_state_old_and_crdt_agree_for_a_crdb_on_every_release() {
    for v in SimVersion::ALL {
        let c = Sim::start(v).await;
        let old = ok(&get(c.addr, "/v1/bdbs/4/syncer_state", &viewer()).await);
        let new = ok(&c.get("/v1/bdbs/4/syncer_state/crdt").await);
        assert_eq!(old, new, "{v}");
        assert_eq!(new["DB"], 4);
        assert!(new["RunID"].is_u64());
        let gone = ["/v1/bdbs/4/syncer_state/replica", "/v1/bdbs/1/syncer_state"];
        let more = [
            "/v1/bdbs/1/syncer_state/crdt",
            "/v1/bdbs/1/syncer_state/replica",
        ];
        for path in gone.into_iter().chain(more) {
            let body = assert_rs_error(&c.get(path).await, 404, "syncer_state_not_found");
            assert_eq!(body["description"], "Syncer state key does not exist");
        }
        let r = c.get("/v1/bdbs/9/syncer_state/crdt").await;
        assert_rs_error(&r, 404, "bdb_not_found");
    }
}

// ---- R17 ---------------------------------------------------------------------------------

const KEEP_NEW: &str = r#"{"evict_ha_replica": false, "evict_active_active_replica": false}"#;

/// Puts `node` into maintenance, waits for the task, and returns the node from the state.
async fn maintenance_on(c: &Sim, node: usize, body: &str) -> Value {
    let path = format!("/v1/nodes/{node}/actions/maintenance_on");
    let body: Value = serde_json::from_str(body).expect("json");
    let reply = ok(&c.post(&path, body).await);
    assert_eq!(reply["status"], "queued");
    let task = reply["task_id"].as_str().expect("task_id");
    assert_eq!(c.wait_action(task).await["status"], "completed");
    state(c).await["nodes"][node - 1].clone()
}

#[tokio::test]
async fn keep_slave_shards_and_both_evicts_false_end_in_the_same_state() {
    let old = Sim::start(SimVersion::V7_4).await;
    let new = Sim::start(SimVersion::V8_2).await;
    let a = maintenance_on(&old, 2, r#"{"keep_slave_shards": true}"#).await;
    let b = maintenance_on(&new, 2, KEEP_NEW).await;
    assert_eq!(a["maintenance"], b["maintenance"]);
    assert_eq!(
        (&a["accept_servers"], &b["accept_servers"]),
        (&json!(false), &json!(false))
    );
    assert_eq!(a["maintenance"]["replicas_kept"], true);
    assert_eq!(a["maintenance"]["masters_demoted"], true);
    // The new keys mean the same on the old release.
    let c = Sim::start(SimVersion::V7_4).await;
    assert_eq!(
        maintenance_on(&c, 2, KEEP_NEW).await["maintenance"],
        a["maintenance"]
    );
}

#[tokio::test]
async fn default_maintenance_evicts_and_takes_the_node_out_of_blueprints() {
    let c = Sim::start(SimVersion::V7_22).await;
    let sparse = format!("{OPTIMIZE}?shards_count=3&shards_placement=sparse");
    let before = c.get(&sparse).await;
    let node = maintenance_on(&c, 2, "{}").await;
    assert_eq!(node["maintenance"]["mode"], "evict");
    assert_eq!(node["maintenance"]["replicas_kept"], false);
    let after = c.get(&sparse).await;
    assert_ne!(state_id(&after), state_id(&before));
    let masters = each(&ok(&after), |s| &s["nodes"][0]["node_uid"]);
    assert_eq!(masters, [json!("1"), json!("3"), json!("1")]);
    ok(&c
        .post("/v1/nodes/2/actions/maintenance_off", json!({}))
        .await);
    assert_eq!(
        state(&c).await["nodes"][1]["maintenance"],
        json!({"on": false})
    );
}

#[tokio::test]
async fn maintenance_refusals() {
    let c = Sim::timed(SimVersion::V8_0, Duration::from_secs(60)).await;
    let on = "/v1/nodes/1/actions/maintenance_on";
    let unknown = "/v1/nodes/9/actions/maintenance_on";
    refused(&c, POST, unknown, json!({}), 404, "node_not_found").await;
    let r = post_json(c.addr, on, &viewer(), &json!({})).await;
    assert_rs_error(&r, 403, "insufficient_permissions");
    ok(&c.post(on, json!({})).await);
    let body = refused(&c, POST, on, json!({}), 409, "action_in_progress").await;
    let text = "Only a single instance of any action type can be invoked at the same time";
    assert_eq!(body["description"], text);
}
