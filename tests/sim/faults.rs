//! Fault switches, programmatic and over `/__sim/faults`.

use deprecation_shim::sim::{RouteMatch, SimVersion};
use http::Method;
use serde_json::json;
use std::time::{Duration, Instant};

use crate::support::harness::{Sim, ACTION};
use crate::support::legacy::{admin, assert_rs_error};
use crate::support::{send, try_send, Reply};

async fn set_faults(c: &Sim, body: serde_json::Value) -> Reply {
    let bytes = serde_json::to_vec(&body).expect("json");
    send(
        c.addr,
        Method::POST,
        "/__sim/faults",
        &[("content-type", "application/json")],
        bytes,
    )
    .await
}

#[tokio::test]
async fn latency_fault_delays_every_reply_until_cleared() {
    let c = Sim::start(SimVersion::V8_0).await;
    c.sim.faults().set_latency(Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(c.get("/v1/cluster").await.status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    c.sim.faults().clear();
    let t = Instant::now();
    c.get("/v1/cluster").await;
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn latency_fault_over_http_is_reported_back() {
    let c = Sim::start(SimVersion::V8_0).await;
    let r = set_faults(&c, json!({"latency_ms": 120})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"latency_ms": 120}));
    let t = Instant::now();
    c.get("/v1/nodes").await;
    assert!(t.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn fail_next_action_over_http_fails_it_and_leaves_the_database_unchanged() {
    let c = Sim::start(SimVersion::V8_0).await;
    let failure = json!({"fail_next_action": {"error_code": "shard_restart_failed", "error_message": "shard 2 did not come back"}});
    assert_eq!(set_faults(&c, failure).await.status, 200);
    let uid = c.start_upgrade(1, json!({})).await;
    let done = c.wait_action(&uid).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["error_code"], "shard_restart_failed");
    assert_eq!(done["error_message"], "shard 2 did not come back");
    let v1 = c.get(&format!("/v1/actions/{uid}")).await.json();
    assert_eq!(
        (v1["status"].as_str(), v1["error_code"].as_str()),
        (Some("failed"), Some("shard_restart_failed"))
    );
    let db1 = c.bdb(1).await;
    assert_eq!(
        (db1["status"].as_str(), db1["redis_version"].as_str()),
        (Some("active"), Some("7.2"))
    );
    assert_eq!(db1["action_uid"], json!(null));
    assert_eq!(db1["module_list"][0]["semantic_version"], "2.6.6");
    // One-shot: the next action completes.
    let next = c.start_upgrade(1, json!({})).await;
    assert_eq!(c.wait_action(&next).await["status"], "completed");
}

#[tokio::test]
async fn stalled_action_stays_active_forever() {
    let c = Sim::start(SimVersion::V8_0).await;
    c.sim.faults().stall_next_action();
    let uid = c.start_upgrade(2, json!({})).await;
    tokio::time::sleep(ACTION * 4).await;
    let a = c.get(&format!("/v2/actions/{uid}")).await.json();
    assert_eq!(
        (a["status"].as_str(), a["progress"].as_f64()),
        (Some("active"), Some(50.0))
    );
    let db2 = c.bdb(2).await;
    assert_eq!(db2["status"], "active-change-pending");
    assert_eq!(db2["redis_version"], "7.2");
}

#[tokio::test]
async fn status_fault_over_http_answers_its_status_count_times() {
    let c = Sim::start(SimVersion::V8_0).await;
    let fault = json!({"status": {"status": 500, "method": "GET", "path_prefix": "/v1/bdbs/1", "count": 1}});
    set_faults(&c, fault).await;
    assert_eq!(
        c.get("/v1/bdbs/2").await.status,
        200,
        "other paths untouched"
    );
    assert_rs_error(&c.get("/v1/bdbs/1").await, 500, "sim_fault");
    assert_eq!(c.get("/v1/bdbs/1").await.status, 200, "count spent");
    let set = send(c.addr, Method::GET, "/__sim/faults", &[], "")
        .await
        .json();
    assert_eq!(set, json!({}));
}

#[tokio::test]
async fn status_fault_set_programmatically_hits_only_its_method() {
    let c = Sim::start(SimVersion::V8_0).await;
    c.sim
        .faults()
        .respond_with_status(503, RouteMatch::method("POST", "/v1/bdbs/"));
    assert_eq!(c.get("/v1/bdbs/1").await.status, 200);
    assert_rs_error(
        &c.post("/v1/bdbs/1/upgrade", json!({})).await,
        503,
        "sim_fault",
    );
    assert_rs_error(
        &c.post("/v1/bdbs/1/upgrade", json!({})).await,
        503,
        "sim_fault",
    );
    assert_eq!(c.bdb(1).await["status"], "active", "the upgrade never ran");
}

#[tokio::test]
async fn drop_fault_closes_the_connection_without_a_reply() {
    let c = Sim::start(SimVersion::V8_0).await;
    c.sim
        .faults()
        .drop_connection(RouteMatch::method("POST", "/v1/bdbs/1/upgrade").times(1));
    let auth = admin();
    let headers = [("authorization", auth.as_str())];
    let dropped = try_send(c.addr, Method::POST, "/v1/bdbs/1/upgrade", &headers, "{}").await;
    assert!(dropped.is_err(), "expected no reply, got {dropped:?}");
    assert_eq!(
        c.bdb(1).await["status"],
        "active",
        "the dropped request did nothing"
    );
    let again = try_send(c.addr, Method::POST, "/v1/bdbs/1/upgrade", &headers, "{}").await;
    assert_eq!(again.expect("reply").status, 200);
    assert_eq!(
        c.sim.requests().len(),
        3,
        "dropped requests are still recorded"
    );
}

#[tokio::test]
async fn omit_action_uid_fault_strips_it_from_the_upgrade_reply_only() {
    let c = Sim::start(SimVersion::V8_0).await;
    c.sim.faults().omit_action_uid(true);
    let r = c.post("/v1/bdbs/2/upgrade", json!({})).await;
    assert_eq!(r.status, 200);
    let reply = r.json();
    assert!(reply.get("action_uid").is_none(), "{reply}");
    assert_eq!(reply["status"], "active-change-pending");
    let db2 = c.bdb(2).await;
    assert!(
        db2["action_uid"].is_string(),
        "the database still names the action: {db2}"
    );
}

#[tokio::test]
async fn invalid_json_fault_answers_an_unparsable_body() {
    let c = Sim::start(SimVersion::V8_0).await;
    set_faults(
        &c,
        json!({"invalid_json": {"path_prefix": "/v1/modules", "count": 1}}),
    )
    .await;
    let r = c.get("/v1/modules").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
    assert!(c.get("/v1/modules").await.json().is_array());
}

#[tokio::test]
async fn faults_endpoint_rejects_unknown_switches_and_delete_clears_all() {
    let c = Sim::start(SimVersion::V8_0).await;
    assert_rs_error(
        &set_faults(&c, json!({"explode": true})).await,
        400,
        "invalid_request",
    );
    set_faults(
        &c,
        json!({"latency_ms": 5, "stall_next_action": true, "fail_next_action": true}),
    )
    .await;
    let set = send(c.addr, Method::GET, "/__sim/faults", &[], "")
        .await
        .json();
    assert_eq!(set["fail_next_action"]["error_code"], "sim_upgrade_failed");
    assert_eq!(set["stall_next_action"], true);
    let cleared = send(c.addr, Method::DELETE, "/__sim/faults", &[], "").await;
    assert_eq!(cleared.json(), json!({}));
    assert_eq!(c.sim.faults().get(), Default::default());
}
