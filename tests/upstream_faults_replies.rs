//! The upstream fault matrix, the cluster's bad replies: invalid JSON from a look-up, the
//! upgrade POST or an action poll, 5xx relayed with their status and code, and each action
//! outcome (failed, 404, never finishing, no `action_uid`). The matrix, and the transport
//! faults (refused, reset, no reply head, untrusted certificate, pool), are in
//! `upstream_faults.rs`.

mod support;

use deprecation_shim::sim::RouteMatch;
use serde_json::Value;
use std::time::{Duration, Instant};
use support::fault_rig::{audit_of, sim, upgraded, Rig};
use support::legacy::{assert_rs_error, upgrade_posts};

#[tokio::test]
async fn invalid_json_in_each_look_up_reply_is_502_upstream_invalid_reply() {
    let (upstream, sim) = sim().await;
    let rig = Rig::new(upstream, "").await;
    for path in ["/v1/bdbs/1", "/v1/modules", "/v1/nodes"] {
        sim.faults()
            .answer_invalid_json(RouteMatch::method("GET", path).times(1));
        let body = assert_rs_error(&rig.legacy().await, 502, "upstream_invalid_reply");
        assert!(
            body["message"].as_str().unwrap_or("").contains(path),
            "{body}"
        );
    }
    assert!(upgrade_posts(&sim).is_empty(), "no upgrade sent");

    // The upgrade POST's own reply unreadable: 502, and the POST is not repeated.
    sim.faults()
        .answer_invalid_json(RouteMatch::method("POST", "/v1/bdbs/1/upgrade").times(1));
    assert_rs_error(&rig.legacy().await, 502, "upstream_invalid_reply");
    assert_eq!(upgrade_posts(&sim).len(), 1);
    assert!(audit_of(&rig)[3]["action_uid"].is_null());

    // Pass-through relays whatever the cluster sent.
    sim.faults()
        .answer_invalid_json(RouteMatch::method("GET", "/v1/bdbs/2").times(1));
    let reply = rig.get("/v1/bdbs/2").await;
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_slice::<Value>(&reply.body).is_err());
}

/// By design (docs/DECISIONS.md, "Waiting"): a poll the shim cannot read is retried until the deadline.
#[tokio::test]
async fn invalid_json_in_an_action_poll_is_retried_until_the_deadline() {
    let (upstream, sim) = sim().await;
    let rig = Rig::new(upstream, "[shim]\nwait_deadline = \"500ms\"\n").await;
    sim.faults()
        .answer_invalid_json(RouteMatch::method("GET", "/v1/actions/").times(3));
    upgraded(&rig.legacy().await);

    sim.faults()
        .answer_invalid_json(RouteMatch::method("GET", "/v1/actions/"));
    let started = Instant::now();
    let body = assert_rs_error(&rig.legacy().await, 504, "upgrade_timeout");
    let action_uid = body["action_uid"].as_str().expect("action_uid").to_owned();
    assert!(started.elapsed() >= Duration::from_millis(500));
    // The action itself finished on the cluster: the caller is told to check it.
    let actions = sim.snapshot()["actions"].clone();
    let action = actions
        .as_array()
        .and_then(|a| a.iter().find(|x| x["action_uid"] == action_uid.as_str()))
        .cloned()
        .expect("the action");
    assert_eq!(action["status"], "completed");
    assert_eq!(audit_of(&rig)[1]["action_uid"], action_uid.as_str());
}

#[tokio::test]
async fn server_errors_are_relayed_with_their_status_and_code() {
    let (upstream, sim) = sim().await;
    let rig = Rig::new(upstream, "").await;
    let cases = [
        ("GET", "/v1/bdbs/1", 503),
        ("GET", "/v1/modules", 500),
        ("GET", "/v1/nodes", 502),
        ("POST", "/v1/bdbs/1/upgrade", 500),
    ];
    for (method, path, status) in cases {
        sim.faults()
            .respond_with_status(status, RouteMatch::method(method, path).times(1));
        let body = assert_rs_error(&rig.legacy().await, status, "sim_fault");
        assert!(
            body["message"].as_str().unwrap_or("").contains("Simulated"),
            "{body}"
        );
    }
    assert_eq!(
        upgrade_posts(&sim).len(),
        1,
        "the failed POST is not retried"
    );
    for record in audit_of(&rig) {
        assert_eq!(record["outcome"], "upstream_error", "{record}");
    }

    // Action polls answered 503 twice: retried, then the upgrade is reported done.
    sim.faults()
        .respond_with_status(503, RouteMatch::method("GET", "/v1/actions/").times(2));
    upgraded(&rig.legacy().await);

    // Pass-through: the cluster's 5xx as is.
    sim.faults()
        .respond_with_status(503, RouteMatch::method("GET", "/v1/bdbs/2").times(1));
    assert_rs_error(&rig.get("/v1/bdbs/2").await, 503, "sim_fault");
}

#[tokio::test]
async fn action_outcomes_each_give_the_documented_reply() {
    let (upstream, sim) = sim().await;
    let rig = Rig::new(upstream, "[shim]\nwait_deadline = \"400ms\"\n").await;

    sim.faults()
        .fail_next_action("sim_upgrade_failed", "shard 2 did not restart");
    let body = assert_rs_error(&rig.legacy().await, 500, "sim_upgrade_failed");
    assert_eq!(body["message"], "shard 2 did not restart");
    assert_eq!(audit_of(&rig)[0]["action_uid"], body["action_uid"]);
    assert_eq!(audit_of(&rig)[0]["outcome"], "upstream_error");

    // The action is unknown to the cluster: the database is polled instead.
    sim.faults()
        .respond_with_status(404, RouteMatch::method("GET", "/v1/actions/"));
    sim.clear_requests();
    upgraded(&rig.legacy().await);
    let seen = sim.requests();
    let polls = seen
        .iter()
        .filter(|r| r.path.starts_with("/v1/actions/"))
        .count();
    assert_eq!(polls, 1, "one 404 is enough: {seen:?}");
    let bdb_reads = seen.iter().filter(|r| r.path == "/v1/bdbs/1").count();
    assert!(bdb_reads >= 3, "look-up, polls, final read: {seen:?}");
    sim.faults().clear();

    sim.faults().omit_action_uid(true);
    upgraded(&rig.legacy().await);
    assert!(audit_of(&rig)[2]["action_uid"].is_null());
    sim.faults().clear();

    // Last: a stalled action keeps database 1 busy for good.
    sim.faults().stall_next_action();
    let started = Instant::now();
    let body = assert_rs_error(&rig.legacy().await, 504, "upgrade_timeout");
    assert!(body["action_uid"].is_string(), "{body}");
    assert_eq!(audit_of(&rig)[3]["action_uid"], body["action_uid"]);
    assert!(started.elapsed() >= Duration::from_millis(400));
}
