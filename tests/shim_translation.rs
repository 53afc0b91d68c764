//! The deprecated `POST /v1/modules/upgrade/bdb/{uid}` through a real shim in front of a
//! simulated Redis Software 8.0 cluster (where the old route is gone): every step of API.md §5,
//! observed from both sides — the caller's reply, and what the cluster received and became.

mod support;

use bytes::Bytes;
use deprecation_shim::sim::seed::{self, *};
use deprecation_shim::sim::{SimConfig, SimVersion, Simulator};
use http::Method;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use support::harness::{Shim, Sim};
use support::legacy::*;
use support::{basic, post_chunked, post_json, send};

const QUICK: Duration = Duration::from_millis(150);

/// An 8.0 cluster on its seed, and a shim with `extra_toml` in front of it.
async fn cluster(extra_toml: &str) -> (Shim, Sim) {
    let sim = Sim::timed(SimVersion::V8_0, QUICK).await;
    let upstream = sim.addr;
    (Shim::in_front_of(upstream, extra_toml).await, sim)
}

/// An 8.0 cluster whose nodes still run 7.4.6 (the 7.4 seed), so every old-route error of the
/// seed table, `min_redis_pack_version` included, can be provoked.
async fn cluster_on_7_4_nodes(extra_toml: &str) -> (Shim, Sim) {
    let sim = Sim::with(SimConfig {
        version: SimVersion::V8_0,
        state: Some(seed::seed(SimVersion::V7_4)),
        action_duration: QUICK,
    })
    .await;
    (Shim::in_front_of(sim.addr, extra_toml).await, sim)
}

/// Sends an old-route call as the admin and checks the deprecation marks every reply carries.
async fn call(shim: SocketAddr, uid: u64, body: Value) -> support::Reply {
    let reply = post_json(shim, &old_route(uid), &admin(), &body).await;
    assert_deprecated(&reply, uid);
    reply
}

/// The one body the cluster received on the new route.
fn the_upgrade_body(sim: &Simulator) -> Value {
    let posts = upgrade_posts(sim);
    assert_eq!(posts.len(), 1, "exactly one upgrade POST: {posts:?}");
    assert_eq!(posts[0].path, "/v1/bdbs/1/upgrade");
    serde_json::from_slice(&posts[0].body).expect("JSON body")
}

/// Database 1 after a successful call: `before` with only `module_name`'s entry replaced.
fn assert_only_module_changed(before: &Value, after: &Value, module_name: &str, entry: Value) {
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

#[tokio::test]
async fn trailing_slash_and_query_string_are_translated() {
    let (shim, sim) = cluster("").await;
    let body = json!({"new_module": REJSON_2_6_17});
    let reply = post_json(
        shim.addr,
        "/v1/modules/upgrade/bdb/1/?verbose=1",
        &admin(),
        &body,
    )
    .await;
    assert_deprecated(&reply, 1);
    assert_eq!(ok(&reply)["module_id"], REJSON_2_6_17);
    assert_eq!(the_upgrade_body(&sim)["latest_with_modules"], false);
}

#[tokio::test]
async fn non_integer_uid_is_404_without_any_upstream_request() {
    let (shim, sim) = cluster("").await;
    for path in [
        "/v1/modules/upgrade/bdb/abc",
        "/v1/modules/upgrade/bdb/-1",
        "/v1/modules/upgrade/bdb/1a/",
    ] {
        let reply = post_json(
            shim.addr,
            path,
            &admin(),
            &json!({"new_module": REJSON_2_6_17}),
        )
        .await;
        assert_rs_error(&reply, 404, "bdb_not_found");
        // No database to point at: the Link names only the docs.
        assert_eq!(reply.header("deprecation"), Some("@1730419200"));
        assert!(reply
            .header("link")
            .unwrap_or_default()
            .contains("rel=\"deprecation\""));
    }
    assert_eq!(sim.requests(), vec![]);
}

#[tokio::test]
async fn other_methods_on_the_old_route_pass_through() {
    let (shim, sim) = cluster("").await;
    let reply = send(
        shim.addr,
        Method::GET,
        &old_route(1),
        &[("authorization", &admin())],
        Bytes::new(),
    )
    .await;
    // 8.0 no longer knows the route: the cluster's own 404, unmarked.
    assert_rs_error(&reply, 404, "not_found");
    assert_not_deprecated(&reply);
    assert_eq!(sim.requests().len(), 1);
}

#[tokio::test]
async fn sunset_is_sent_only_when_configured() {
    let (shim, _sim) = cluster("").await;
    let reply = call(shim.addr, 1, json!({"new_module": REJSON_2_6_17})).await;
    assert_eq!(reply.header("sunset"), None);

    let (shim, _sim) = cluster("[shim]\nsunset_date = \"2027-06-30\"").await;
    let ok_reply = call(shim.addr, 1, json!({"new_module": REJSON_2_6_17})).await;
    let err_reply = call(shim.addr, 1, json!({"new_module": UNKNOWN_MODULE_UID})).await;
    for reply in [ok_reply, err_reply] {
        assert_eq!(
            reply.header("sunset"),
            Some("Wed, 30 Jun 2027 00:00:00 GMT")
        );
    }
}

#[tokio::test]
async fn sibling_route_passes_through_by_default() {
    let (shim, sim) = cluster("").await;
    let before = bdb(&sim, 1);
    let body = json!({"new_module": REJSON_2_6_17});
    let reply = post_json(shim.addr, "/v1/bdbs/1/modules/upgrade", &admin(), &body).await;
    assert_not_deprecated(&reply);
    // The cluster's own synchronous handling: the module is already there when it answers.
    assert_eq!(ok(&reply)["module_id"], REJSON_2_6_17);
    let entry = json!({"module_id": REJSON_2_6_17, "module_name": "ReJSON",
                       "module_args": "", "semantic_version": "2.6.17"});
    assert_only_module_changed(&before, &bdb(&sim, 1), "ReJSON", entry);
    let seen = sim.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/v1/bdbs/1/modules/upgrade");
    assert_eq!(seen[0].body, Bytes::from(body.to_string()));
}

#[tokio::test]
async fn sibling_route_is_translated_when_configured() {
    let (shim, sim) = cluster("[shim]\ntranslate_sibling = true").await;
    let body = json!({"new_module": REJSON_2_6_17});
    let reply = post_json(shim.addr, "/v1/bdbs/1/modules/upgrade", &admin(), &body).await;
    assert_eq!(ok(&reply)["module_id"], REJSON_2_6_17);
    assert_eq!(the_upgrade_body(&sim)["redis_version"], "7.2");
    assert!(sim
        .requests()
        .iter()
        .all(|r| !r.path.contains("/modules/upgrade")));
    // The sibling is not deprecated (API.md §2): translated, but never marked.
    assert_not_deprecated(&reply);
}

#[tokio::test]
async fn new_route_passes_through_untouched_and_unmarked() {
    let (shim, sim) = cluster("").await;
    let body = json!({"redis_version": "7.2", "latest_with_modules": false,
                      "modules": [{"current_module": REJSON_2_6_6, "new_module": REJSON_2_6_17}]});
    let sent = Bytes::from(body.to_string());
    let reply = post_json(shim.addr, "/v1/bdbs/1/upgrade", &admin(), &body).await;
    assert_not_deprecated(&reply);
    let answer = ok(&reply);
    assert_eq!(answer["uid"], 1);
    assert!(
        answer["action_uid"].is_string(),
        "the cluster's own reply: {answer}"
    );
    let posts = upgrade_posts(&sim);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].body, sent);
    assert_eq!(sim.requests().len(), 1, "no look-ups of the shim's own");
}

/// Each row of the seed table that ends in an error: (database, new module, status, error_code).
const PREVALIDATION_FAILURES: &[(u64, &str, u16, &str)] = &[
    (1, UNKNOWN_MODULE_UID, 400, "missing_module"),
    (2, REJSON_2_6_17, 400, "missing_module"),
    (1, REJSON_2_4_7, 406, "module_downgrade_unsupported"),
    (3, TIMESERIES_1_10_11, 406, "redis_incompatible_version"),
    (1, REJSON_2_8_4, 406, "redis_incompatible_version"),
    (
        1,
        SEARCH_2_8_21_NEEDS_7_8_6,
        406,
        "redis_pack_incompatible_version",
    ),
    (
        1,
        SEARCH_2_8_15_NO_CRDB,
        406,
        "unsupported_module_capabilities",
    ),
];

#[tokio::test]
async fn each_prevalidation_failure_gives_the_old_status_and_code_without_upgrading() {
    let (shim, sim) = cluster_on_7_4_nodes("").await;
    let before = sim.snapshot()["bdbs"].clone();
    for &(uid, new_module, status, code) in PREVALIDATION_FAILURES {
        let reply = call(shim.addr, uid, json!({"new_module": new_module})).await;
        assert_rs_error(&reply, status, code);
    }
    assert!(upgrade_posts(&sim).is_empty());
    assert_eq!(sim.snapshot()["bdbs"], before);
}

#[tokio::test]
async fn prevalidate_warn_and_off_send_the_upgrade_and_return_the_clusters_answer() {
    for mode in ["warn", "off"] {
        let (shim, sim) = cluster(&format!("[shim]\nprevalidate = \"{mode}\"")).await;
        let before = bdb(&sim, 1);
        // A downgrade: 8.0 accepts it, then its action fails with the old code.
        let reply = call(shim.addr, 1, json!({"new_module": REJSON_2_4_7})).await;
        assert_rs_error(&reply, 500, "module_downgrade_unsupported");
        assert_eq!(upgrade_posts(&sim).len(), 1, "{mode}");
        assert_eq!(bdb(&sim, 1)["module_list"], before["module_list"]);
    }
}

#[tokio::test]
async fn upstream_406_without_error_code_is_unsupported_module_capabilities() {
    let (shim, sim) = cluster("[shim]\nprevalidate = \"off\"").await;
    let reply = call(shim.addr, 1, json!({"new_module": SEARCH_2_8_15_NO_CRDB})).await;
    let body = assert_rs_error(&reply, 406, "unsupported_module_capabilities");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("crdb"),
        "{body}"
    );
    assert_eq!(upgrade_posts(&sim).len(), 1);
}

#[tokio::test]
async fn body_over_max_body_size_is_413_with_or_without_content_length() {
    let (shim, sim) = cluster("[shim]\nmax_body_size = \"1KiB\"").await;
    let padding = "x".repeat(2048);
    let big = json!({"new_module": REJSON_2_6_17, "padding": padding}).to_string();
    let headers = [
        ("authorization", admin()),
        ("content-type", "application/json".into()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sized = send(
        shim.addr,
        Method::POST,
        &old_route(1),
        &headers,
        big.clone(),
    )
    .await;
    let chunks = big
        .as_bytes()
        .chunks(300)
        .map(Bytes::copy_from_slice)
        .collect();
    let chunked = post_chunked(shim.addr, &old_route(1), &headers, chunks).await;
    for reply in [sized, chunked] {
        assert_rs_error(&reply, 413, "request_too_large");
        assert_deprecated(&reply, 1);
    }
    // A chunked body under the limit is read whole and translated.
    let small = json!({"new_module": REJSON_2_6_17}).to_string();
    let chunks = small
        .as_bytes()
        .chunks(7)
        .map(Bytes::copy_from_slice)
        .collect();
    let reply = post_chunked(shim.addr, &old_route(1), &headers, chunks).await;
    assert_eq!(ok(&reply)["module_id"], REJSON_2_6_17);
    assert_eq!(upgrade_posts(&sim).len(), 1);
}

#[tokio::test]
async fn bad_json_is_invalid_json_and_wrong_shape_is_invalid_request() {
    let (shim, sim) = cluster("").await;
    let headers = [
        ("authorization", admin()),
        ("content-type", "application/json".into()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for raw in [&b"{\"modules\": ["[..], b"", b"{'new_module': 'x'}"] {
        let reply = send(
            shim.addr,
            Method::POST,
            &old_route(1),
            &headers,
            raw.to_vec(),
        )
        .await;
        assert_rs_error(&reply, 400, "invalid_json");
        assert_deprecated(&reply, 1);
    }
    let shapes = [
        (json!({"modules": []}), "modules"),
        (
            json!({"modules": [{"new_module": 7}]}),
            "modules[0].new_module",
        ),
        (
            json!({"new_module": REJSON_2_6_17, "preserve_roles": "yes"}),
            "preserve_roles",
        ),
        (json!(["not", "an", "object"]), "object"),
    ];
    for (body, field) in shapes {
        let reply = call(shim.addr, 1, body).await;
        let err = assert_rs_error(&reply, 400, "invalid_request");
        assert!(
            err["message"].as_str().unwrap_or_default().contains(field),
            "{err}"
        );
    }
    assert_eq!(sim.requests(), vec![], "the cluster is never asked");
}

#[tokio::test]
async fn current_module_of_another_name_is_missing_module_without_an_upgrade() {
    let (shim, sim) = cluster("[shim]\nprevalidate = \"off\"").await;
    let before = bdb(&sim, 1);
    let body = json!({"modules": [{"current_module": REJSON_2_6_6, "new_module": SEARCH_2_8_9}]});
    let reply = call(shim.addr, 1, body).await;
    assert_rs_error(&reply, 400, "missing_module");
    assert!(upgrade_posts(&sim).is_empty());
    assert_eq!(bdb(&sim, 1), before);
}
