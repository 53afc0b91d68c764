//! The `SMUpgradeBDB` action: pending/active → completed, progress, the database's status and
//! `action_uid` during and after, and the three action routes.

use deprecation_shim::sim::{SimConfig, SimVersion};
use serde_json::json;
use std::time::Duration;

use crate::support::harness::{Sim, ACTION};
use crate::support::legacy::assert_rs_error;

#[tokio::test]
async fn new_route_replies_with_the_busy_database_and_its_action_uid() {
    let c = Sim::start(SimVersion::V8_0).await;
    let r = c.post("/v1/bdbs/2/upgrade", json!({})).await;
    assert_eq!(r.status, 200);
    let bdb = r.json();
    assert_eq!(bdb["uid"], 2);
    assert_eq!(bdb["status"], "active-change-pending");
    let action_uid = bdb["action_uid"].as_str().expect("action_uid").to_owned();
    let now = c.bdb(2).await;
    assert_eq!(now["status"], "active-change-pending");
    assert_eq!(now["action_uid"], action_uid.as_str());

    let v1 = c.get(&format!("/v1/actions/{action_uid}")).await.json();
    assert_eq!(v1["name"], "SMUpgradeBDB");
    assert_eq!(v1["action_uid"], action_uid.as_str());
    assert_eq!(v1["object_name"], "bdb:2");
    assert!(
        v1["status"] == "pending" || v1["status"] == "active",
        "{v1}"
    );
    assert!(
        v1["progress"].is_string(),
        "v1 carries progress as a string: {v1}"
    );

    let done = c.wait_action(&action_uid).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["progress"], 100.0);
    let after = c.bdb(2).await;
    assert_eq!(after["status"], "active");
    assert_eq!(after["action_uid"], json!(null));
    assert_eq!(after["redis_version"], "8.0");
}

#[tokio::test]
async fn progress_rises_while_active_then_completes() {
    let c = Sim::with(SimConfig {
        version: SimVersion::V8_0,
        state: None,
        action_duration: Duration::from_millis(600),
    })
    .await;
    let uid = c.start_upgrade(2, json!({})).await;
    let mut seen = Vec::new();
    loop {
        let a = c.get(&format!("/v2/actions/{uid}")).await.json();
        let status = a["status"].as_str().expect("status").to_owned();
        let progress = a["progress"].as_f64().expect("v2 progress is a number");
        seen.push((status.clone(), progress));
        if status == "completed" {
            break;
        }
        assert!(seen.len() < 200, "never completed: {seen:?}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let rank = |s: &str| {
        ["pending", "active", "completed"]
            .iter()
            .position(|x| *x == s)
    };
    for pair in seen.windows(2) {
        assert!(
            rank(&pair[0].0) <= rank(&pair[1].0),
            "status went back: {seen:?}"
        );
        assert!(pair[0].1 <= pair[1].1, "progress went back: {seen:?}");
    }
    assert!(
        seen.iter()
            .any(|(s, p)| s == "active" && *p > 0.0 && *p < 100.0),
        "no active sample with partial progress: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&("completed".to_owned(), 100.0)));
}

#[tokio::test]
async fn completion_applies_even_when_nobody_polls_the_action() {
    let c = Sim::start(SimVersion::V8_0).await;
    c.start_upgrade(3, json!({})).await;
    tokio::time::sleep(ACTION * 2).await;
    let snap = c.sim.snapshot();
    let db3 = &snap["bdbs"][2];
    assert_eq!(db3["uid"], 3);
    assert_eq!(db3["status"], "active");
    assert_eq!(db3["redis_version"], "8.0");
    assert_eq!(snap["actions"][0]["status"], "completed");
}

#[tokio::test]
async fn bdb_actions_lists_the_database_actions() {
    let c = Sim::start(SimVersion::V8_0).await;
    let uid = c
        .start_upgrade(
            1,
            json!({"redis_version": "7.2", "latest_with_modules": false}),
        )
        .await;
    let list = c.get("/v1/actions/bdb/1").await.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["action_uid"], uid.as_str());
    assert_eq!(list[0]["name"], "SMUpgradeBDB");
    assert_eq!(c.get("/v1/actions/bdb/2").await.json(), json!([]));
    assert_rs_error(&c.get("/v1/actions/bdb/42").await, 404, "bdb_not_found");
}

#[tokio::test]
async fn unknown_action_is_404_on_v1_and_v2() {
    let c = Sim::start(SimVersion::V8_0).await;
    assert_rs_error(
        &c.get("/v1/actions/no-such-action").await,
        404,
        "action_not_found",
    );
    assert_rs_error(
        &c.get("/v2/actions/no-such-action").await,
        404,
        "action_not_found",
    );
}
