//! Validation of `POST /v1/bdbs/{uid}/upgrade`: body, modules, 406 without `error_code`, 409
//! while busy, and a plan that does not fit failing its action.

use deprecation_shim::sim::seed;
use deprecation_shim::sim::SimVersion;
use serde_json::json;

use crate::support::harness::Sim;
use crate::support::legacy::{admin, assert_rs_error};
use crate::support::post_raw;

#[tokio::test]
async fn malformed_bodies_are_400_naming_the_field() {
    let c = Sim::start(SimVersion::V8_0).await;
    let r = post_raw(c.addr, "/v1/bdbs/1/upgrade", &admin(), "{not json").await;
    assert_rs_error(&r, 400, "invalid_json");
    for (body, field) in [
        (json!({"latest_with_modules": "yes"}), "latest_with_modules"),
        (json!({"redis_version": 7.2}), "redis_version"),
        (
            json!({"parallel_shards_upgrade": -1}),
            "parallel_shards_upgrade",
        ),
        (json!({"modules": {}}), "modules"),
        (
            json!({"modules": [{"current_module": seed::REJSON_2_6_6}]}),
            "modules[0].new_module",
        ),
        (
            json!({"modules": [{"new_module": seed::REJSON_2_6_17, "module_name": "ReJSON"}]}),
            "modules[0].module_name",
        ),
        (json!({"surprise": true}), "surprise"),
    ] {
        let r = c.post("/v1/bdbs/1/upgrade", body.clone()).await;
        assert_rs_error(&r, 400, "invalid_request");
        assert_eq!(r.json()["field"], field, "{body}");
    }
    assert_eq!(c.bdb(1).await["status"], "active", "nothing started");
}

#[tokio::test]
async fn unknown_or_unrelated_modules_are_400_missing_module() {
    let c = Sim::start(SimVersion::V8_0).await;
    for body in [
        json!({"modules": [{"new_module": seed::UNKNOWN_MODULE_UID}]}),
        json!({"modules": [{"current_module": seed::TIMESERIES_1_8_13, "new_module": seed::REJSON_2_6_17}]}),
        json!({"modules": [{"current_module": seed::SEARCH_2_8_4, "new_module": seed::REJSON_2_6_17}]}),
    ] {
        assert_rs_error(
            &c.post("/v1/bdbs/1/upgrade", body).await,
            400,
            "missing_module",
        );
    }
    let none_enabled = json!({"modules": [{"new_module": seed::REJSON_2_6_17}]});
    assert_rs_error(
        &c.post("/v1/bdbs/2/upgrade", none_enabled).await,
        400,
        "missing_module",
    );
}

#[tokio::test]
async fn unknown_database_and_unbundled_redis_are_refused() {
    let c = Sim::start(SimVersion::V8_0).await;
    assert_rs_error(
        &c.post("/v1/bdbs/77/upgrade", json!({})).await,
        404,
        "bdb_not_found",
    );
    assert_rs_error(
        &c.post("/v1/bdbs/one/upgrade", json!({})).await,
        404,
        "bdb_not_found",
    );
    let r = c
        .post("/v1/bdbs/1/upgrade", json!({"redis_version": "9.9"}))
        .await;
    assert_rs_error(&r, 400, "invalid_redis_version");
    let r = c
        .post("/v1/bdbs/1/upgrade", json!({"redis_version": "6.2"}))
        .await;
    assert_rs_error(&r, 400, "invalid_redis_version");
}

#[tokio::test]
async fn shrinking_capabilities_are_406_with_a_message_and_no_error_code() {
    let c = Sim::start(SimVersion::V8_0).await;
    let body = json!({
        "redis_version": "7.2", "latest_with_modules": false,
        "modules": [{"current_module": seed::SEARCH_2_8_4, "new_module": seed::SEARCH_2_8_15_NO_CRDB}],
    });
    let r = c.post("/v1/bdbs/1/upgrade", body).await;
    assert_eq!(r.status, 406);
    let v = r.json();
    assert!(v.get("error_code").is_none(), "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("crdb")),
        "{v}"
    );
    assert_eq!(c.bdb(1).await["action_uid"], json!(null));
}

#[tokio::test]
async fn busy_database_answers_409_on_every_upgrade_route() {
    let c = Sim::start(SimVersion::V7_8).await;
    c.sim.faults().stall_next_action();
    let running = c.start_upgrade(1, json!({})).await;
    let r = c.post("/v1/bdbs/1/upgrade", json!({})).await;
    assert_rs_error(&r, 409, "action_in_progress");
    assert_eq!(r.json()["action_uid"], running.as_str());
    let old = json!({"modules": [{"current_module": seed::REJSON_2_6_6, "new_module": seed::REJSON_2_6_17}]});
    assert_rs_error(
        &c.post("/v1/modules/upgrade/bdb/1", old.clone()).await,
        409,
        "action_in_progress",
    );
    assert_rs_error(
        &c.post("/v1/bdbs/1/modules/upgrade", old).await,
        409,
        "action_in_progress",
    );
    // Other databases are not affected.
    let other = c.start_upgrade(2, json!({})).await;
    assert_eq!(c.wait_action(&other).await["status"], "completed");
}

#[tokio::test]
async fn downgrade_through_the_new_route_is_accepted_and_its_action_fails() {
    let c = Sim::start(SimVersion::V8_0).await;
    let body = json!({
        "redis_version": "7.2", "latest_with_modules": false,
        "modules": [{"current_module": seed::REJSON_2_6_6, "new_module": seed::REJSON_2_4_7}],
    });
    let uid = c.start_upgrade(1, body).await;
    let done = c.wait_action(&uid).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["error_code"], "module_downgrade_unsupported");
    let db1 = c.bdb(1).await;
    assert_eq!(
        (
            db1["status"].as_str(),
            db1["module_list"][0]["semantic_version"].as_str()
        ),
        (Some("active"), Some("2.6.6"))
    );
}

#[tokio::test]
async fn empty_body_is_an_upgrade_with_every_default() {
    let c = Sim::start(SimVersion::V8_0).await;
    let r = post_raw(c.addr, "/v1/bdbs/2/upgrade", &admin(), "").await;
    assert_eq!(r.status, 200);
    let uid = r.json()["action_uid"]
        .as_str()
        .expect("action_uid")
        .to_owned();
    c.wait_action(&uid).await;
    assert_eq!(c.bdb(2).await["redis_version"], "8.0");
}
