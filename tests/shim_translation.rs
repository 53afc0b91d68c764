//! The deprecated `POST /v1/modules/upgrade/bdb/{uid}` through a real shim in front of a
//! simulated Redis Software 8.0 cluster (where the old route is gone): every step of API.md §5,
//! observed from both sides — the caller's reply, and what the cluster received and became.
//! Which routes are translated and which inputs are refused before any upgrade are in
//! `shim_translation_edges.rs`; the rig is `support::translation`.

mod support;

use deprecation_shim::sim::seed::*;
use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::{json, Value};
use std::time::Duration;
use support::harness::{Shim, Sim};
use support::legacy::*;
use support::translation::{assert_only_module_changed, call, cluster, the_upgrade_body};
use support::{basic, post_json, send};

#[tokio::test]
async fn shape_a_upgrades_only_the_named_module_with_a_pinned_body() {
    let (shim, sim) = cluster("").await;
    let before = bdb(&sim, 1);
    let reply = call(
        shim.addr,
        1,
        json!({"modules": [{"current_module": REJSON_2_6_6, "new_module": REJSON_2_6_17,
                            "new_module_args": ""}],
               "preserve_roles": true, "may_discard_data": false}),
    )
    .await;
    assert_eq!(
        ok(&reply),
        json!({"uid": 1, "name": "orders-db", "module_id": REJSON_2_6_17,
               "module_name": "ReJSON", "semantic_version": "2.6.17", "module_args": ""})
    );
    assert_eq!(
        the_upgrade_body(&sim),
        json!({"redis_version": "7.2", "latest_with_modules": false,
               "modules": [{"current_module": REJSON_2_6_6, "new_module": REJSON_2_6_17,
                            "new_module_args": ""}],
               "preserve_roles": true, "may_discard_data": false})
    );
    let entry = json!({"module_id": REJSON_2_6_17, "module_name": "ReJSON",
                       "module_args": "", "semantic_version": "2.6.17"});
    assert_only_module_changed(&before, &bdb(&sim, 1), "ReJSON", entry);
}

#[tokio::test]
async fn shape_b_finds_the_module_by_name_and_keeps_its_args() {
    let (shim, sim) = cluster("").await;
    let before = bdb(&sim, 1);
    let reply = call(
        shim.addr,
        1,
        json!({"modules": [{"module_name": "search", "current_semantic_version": "2.8.4",
                            "new_module": SEARCH_2_8_9}],
               "preserve_roles": true}),
    )
    .await;
    assert_eq!(
        ok(&reply),
        json!({"uid": 1, "name": "orders-db", "module_id": SEARCH_2_8_9,
               "module_name": "search", "semantic_version": "2.8.9",
               "module_args": "PARTITIONS AUTO"})
    );
    assert_eq!(
        the_upgrade_body(&sim),
        json!({"redis_version": "7.2", "latest_with_modules": false,
               "modules": [{"current_module": SEARCH_2_8_4, "new_module": SEARCH_2_8_9,
                            "new_module_args": "PARTITIONS AUTO"}],
               "preserve_roles": true})
    );
    let entry = json!({"module_id": SEARCH_2_8_9, "module_name": "search",
                       "module_args": "PARTITIONS AUTO", "semantic_version": "2.8.9"});
    assert_only_module_changed(&before, &bdb(&sim, 1), "search", entry);
}

#[tokio::test]
async fn shape_c_carries_force_restart_and_the_given_args() {
    let (shim, sim) = cluster("").await;
    let before = bdb(&sim, 1);
    let reply = call(
        shim.addr,
        1,
        json!({"modules": [{"current_module": SEARCH_2_8_4, "module_name": "search",
                            "current_semantic_version": "2.8.4", "new_module": SEARCH_2_8_9,
                            "new_module_args": "PARTITIONS 4"}],
               "force_restart": true}),
    )
    .await;
    assert_eq!(ok(&reply)["module_args"], "PARTITIONS 4");
    assert_eq!(
        the_upgrade_body(&sim),
        json!({"redis_version": "7.2", "latest_with_modules": false,
               "modules": [{"current_module": SEARCH_2_8_4, "new_module": SEARCH_2_8_9,
                            "new_module_args": "PARTITIONS 4"}],
               "force_restart": true})
    );
    let entry = json!({"module_id": SEARCH_2_8_9, "module_name": "search",
                       "module_args": "PARTITIONS 4", "semantic_version": "2.8.9"});
    assert_only_module_changed(&before, &bdb(&sim, 1), "search", entry);
}

#[tokio::test]
async fn shape_d_flat_body_sends_no_flags_it_was_not_given() {
    let (shim, sim) = cluster("").await;
    let before = bdb(&sim, 1);
    let reply = call(
        shim.addr,
        1,
        json!({"current_module": REJSON_2_6_6, "new_module": REJSON_2_6_17}),
    )
    .await;
    assert_eq!(ok(&reply)["module_id"], REJSON_2_6_17);
    assert_eq!(
        the_upgrade_body(&sim),
        json!({"redis_version": "7.2", "latest_with_modules": false,
               "modules": [{"current_module": REJSON_2_6_6, "new_module": REJSON_2_6_17,
                            "new_module_args": ""}]})
    );
    let entry = json!({"module_id": REJSON_2_6_17, "module_name": "ReJSON",
                       "module_args": "", "semantic_version": "2.6.17"});
    assert_only_module_changed(&before, &bdb(&sim, 1), "ReJSON", entry);
}

#[tokio::test]
async fn callers_authorization_is_on_every_upstream_request() {
    let (shim, sim) = cluster("").await;
    // An unusual but valid spelling, to show the value is forwarded verbatim.
    let auth = admin().replacen("Basic", "basic", 1);
    let body = json!({"modules": [{"module_name": "ReJSON", "new_module": REJSON_2_6_17}]});
    let reply = post_json(shim.addr, &old_route(1), &auth, &body).await;
    ok(&reply);
    let seen = sim.requests();
    let count = |method: &Method, prefix: &str| {
        seen.iter()
            .filter(|r| r.method == *method && r.path.starts_with(prefix))
            .count()
    };
    assert!(
        count(&Method::GET, "/v1/bdbs/1") >= 2,
        "look-up and final read: {seen:?}"
    );
    assert_eq!(count(&Method::GET, "/v1/modules"), 1);
    assert_eq!(count(&Method::GET, "/v1/nodes"), 1);
    assert_eq!(count(&Method::POST, "/v1/bdbs/1/upgrade"), 1);
    assert!(count(&Method::GET, "/v1/actions/") >= 1, "polls: {seen:?}");
    for r in &seen {
        assert_eq!(r.authorization.as_deref(), Some(auth.as_str()), "{r:?}");
    }
}

#[tokio::test]
async fn wrong_password_is_401_in_rs_shape_and_nothing_is_upgraded() {
    let (shim, sim) = cluster("").await;
    let before = bdb(&sim, 1);
    let body = json!({"new_module": REJSON_2_6_17});
    for auth in [
        basic(deprecation_shim::sim::DEMO_ADMIN.0, "wrong"),
        String::new(),
    ] {
        let headers: Vec<(&str, &str)> = if auth.is_empty() {
            vec![("content-type", "application/json")]
        } else {
            vec![
                ("authorization", &auth),
                ("content-type", "application/json"),
            ]
        };
        let reply = send(
            shim.addr,
            Method::POST,
            &old_route(1),
            &headers,
            body.to_string(),
        )
        .await;
        assert_rs_error(&reply, 401, "unauthorized");
        assert_deprecated(&reply, 1);
    }
    assert!(upgrade_posts(&sim).is_empty());
    assert_eq!(bdb(&sim, 1), before);
}

#[tokio::test]
async fn viewer_role_is_403_in_rs_shape_and_nothing_is_upgraded() {
    let (shim, sim) = cluster("").await;
    let before = bdb(&sim, 1);
    let body = json!({"new_module": REJSON_2_6_17});
    let reply = post_json(shim.addr, &old_route(1), &viewer(), &body).await;
    assert_rs_error(&reply, 403, "insufficient_permissions");
    assert_deprecated(&reply, 1);
    assert_eq!(bdb(&sim, 1), before);
}

#[tokio::test]
async fn failed_action_is_500_with_the_actions_error_code() {
    let (shim, sim) = cluster("").await;
    let before = bdb(&sim, 1);
    sim.faults()
        .fail_next_action("sim_upgrade_failed", "shard 2 did not restart");
    let reply = call(shim.addr, 1, json!({"new_module": REJSON_2_6_17})).await;
    let body = assert_rs_error(&reply, 500, "sim_upgrade_failed");
    assert_eq!(body["message"], "shard 2 did not restart");
    let action_uid = body["action_uid"].as_str().expect("action_uid");
    let actions = sim.snapshot()["actions"].clone();
    assert_eq!(actions[0]["action_uid"], action_uid);
    assert_eq!(actions[0]["status"], "failed");
    assert_eq!(bdb(&sim, 1)["module_list"], before["module_list"]);
}

#[tokio::test]
async fn deadline_passed_is_504_upgrade_timeout_with_the_action_uid() {
    let (shim, sim) = cluster("[shim]\nwait_deadline = \"300ms\"").await;
    sim.faults().stall_next_action();
    let started = std::time::Instant::now();
    let reply = call(shim.addr, 1, json!({"new_module": REJSON_2_6_17})).await;
    let body = assert_rs_error(&reply, 504, "upgrade_timeout");
    let running = bdb(&sim, 1)["action_uid"].clone();
    assert!(running.is_string(), "the stalled action still runs");
    assert_eq!(body["action_uid"], running);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[tokio::test]
async fn missing_action_uid_falls_back_to_polling_the_database() {
    let (shim, sim) = cluster("").await;
    sim.faults().omit_action_uid(true);
    let reply = call(shim.addr, 1, json!({"new_module": REJSON_2_6_17})).await;
    assert_eq!(ok(&reply)["semantic_version"], "2.6.17");
    let after = bdb(&sim, 1);
    assert_eq!(module_entry(&after, "ReJSON")["module_id"], REJSON_2_6_17);
    assert_eq!(
        (after["status"].as_str(), &after["action_uid"]),
        (Some("active"), &Value::Null)
    );
    let seen = sim.requests();
    assert!(
        seen.iter().all(|r| !r.path.starts_with("/v1/actions")),
        "{seen:?}"
    );
    let bdb_reads = seen.iter().filter(|r| r.path == "/v1/bdbs/1").count();
    assert!(bdb_reads >= 3, "look-up, polls and final read: {seen:?}");
}

#[tokio::test]
async fn accept_mode_replies_at_once_with_the_action_uid() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_secs(30)).await;
    let upstream = sim.addr;
    let shim = Shim::in_front_of(upstream, "[shim]\nmode = \"accept\"").await;
    let reply = call(shim.addr, 1, json!({"new_module": REJSON_2_6_17})).await;
    let body = ok(&reply);
    let running = bdb(&sim, 1);
    assert_eq!(running["status"], "active-change-pending");
    assert!(running["action_uid"].is_string());
    assert_eq!(
        body,
        json!({"uid": 1, "name": "orders-db", "module_id": REJSON_2_6_17,
               "module_name": "ReJSON", "semantic_version": "2.6.17", "module_args": "",
               "action_uid": running["action_uid"]})
    );
    assert_eq!(module_entry(&running, "ReJSON")["module_id"], REJSON_2_6_6);
    assert!(sim
        .requests()
        .iter()
        .all(|r| !r.path.starts_with("/v1/actions")));
}
