//! The old route served natively on 7.4/7.8 (shapes A–D, old reply, old error codes in the
//! order of API.md §5.4), gone on 8.0; the sibling route on every release.

use deprecation_shim::sim::seed;
use deprecation_shim::sim::SimVersion;
use serde_json::json;

use crate::support::harness::Sim;
use crate::support::legacy::{admin, assert_rs_error};
use crate::support::post_raw;

const OLD: &str = "/v1/modules/upgrade/bdb";

#[tokio::test]
async fn old_route_upgrades_only_the_named_module_at_once() {
    let c = Sim::start(SimVersion::V7_8).await;
    let body = json!({
        "modules": [{"current_module": seed::REJSON_2_6_6, "new_module": seed::REJSON_2_6_17, "new_module_args": ""}],
        "preserve_roles": true, "may_discard_data": false,
    });
    let r = c.post(&format!("{OLD}/1"), body).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json(),
        json!({"uid": 1, "name": "orders-db", "module_id": seed::REJSON_2_6_17,
               "module_name": "ReJSON", "semantic_version": "2.6.17", "module_args": ""})
    );
    let db1 = c.bdb(1).await;
    assert_eq!(db1["module_list"][0]["semantic_version"], "2.6.17");
    assert_eq!(db1["module_list"][1]["semantic_version"], "2.8.4");
    assert_eq!(
        (db1["redis_version"].as_str(), db1["status"].as_str()),
        (Some("7.2"), Some("active"))
    );
    assert_eq!(
        c.sim.snapshot()["actions"],
        json!([]),
        "synchronous: no action"
    );
}

#[tokio::test]
async fn old_route_accepts_shapes_b_c_and_d() {
    let c = Sim::start(SimVersion::V7_4).await;
    // B: by module name, spelled as the docs' example spells it.
    let b = json!({"modules": [{"module_name": "ReJson", "current_semantic_version": "2.6.6", "new_module": seed::REJSON_2_6_17}], "preserve_roles": true});
    let r = c.post(&format!("{OLD}/1"), b).await;
    assert_eq!(r.json()["semantic_version"], "2.6.17");
    // C: A ∪ B per entry, plus force_restart.
    let cc = json!({"modules": [{"current_module": seed::SEARCH_2_8_4, "module_name": "search", "current_semantic_version": "2.8.4", "new_module": seed::SEARCH_2_8_9}], "force_restart": true});
    let r = c.post(&format!("{OLD}/1"), cc).await;
    assert_eq!(
        r.json()["module_args"],
        "PARTITIONS AUTO",
        "args kept when none given"
    );
    // D: flat, one module.
    let d = json!({"current_module": seed::TIMESERIES_1_8_13, "new_module": seed::TIMESERIES_1_8_15, "new_module_args": "RETENTION_POLICY 0"});
    let r = c.post(&format!("{OLD}/3"), d).await;
    assert_eq!(
        r.json(),
        json!({"uid": 3, "name": "legacy-sessions", "module_id": seed::TIMESERIES_1_8_15,
               "module_name": "timeseries", "semantic_version": "1.8.15", "module_args": "RETENTION_POLICY 0"})
    );
}

/// (db, new_module, status, error_code) for every old-route error on the seed state.
fn error_cases() -> Vec<(u64, &'static str, u16, &'static str)> {
    vec![
        (1, seed::UNKNOWN_MODULE_UID, 400, "missing_module"),
        (2, seed::REJSON_2_6_17, 400, "missing_module"),
        (1, seed::REJSON_2_4_7, 406, "module_downgrade_unsupported"),
        (
            3,
            seed::TIMESERIES_1_10_11,
            406,
            "redis_incompatible_version",
        ),
        (1, seed::REJSON_2_8_4, 406, "redis_incompatible_version"),
        (
            1,
            seed::SEARCH_2_8_21_NEEDS_7_8_6,
            406,
            "redis_pack_incompatible_version",
        ),
        (
            1,
            seed::SEARCH_2_8_15_NO_CRDB,
            406,
            "unsupported_module_capabilities",
        ),
    ]
}

#[tokio::test]
async fn every_old_error_code_is_reachable_on_the_seed_state() {
    for version in [SimVersion::V7_4, SimVersion::V7_8] {
        let c = Sim::start(version).await;
        for (db, new_module, status, code) in error_cases() {
            let r = c
                .post(
                    &format!("{OLD}/{db}"),
                    json!({"modules": [{"new_module": new_module}]}),
                )
                .await;
            assert_rs_error(&r, status, code);
        }
        assert_eq!(
            c.sim.snapshot()["bdbs"],
            seed::seed(version).to_json()["bdbs"],
            "nothing changed"
        );
    }
}

#[tokio::test]
async fn old_route_refuses_bad_requests_before_looking_up_the_database() {
    let c = Sim::start(SimVersion::V7_8).await;
    let auth = admin();
    assert_rs_error(
        &post_raw(c.addr, &format!("{OLD}/1"), &auth, "{").await,
        400,
        "invalid_json",
    );
    assert_rs_error(
        &post_raw(c.addr, &format!("{OLD}/99"), &auth, "[]").await,
        400,
        "invalid_request",
    );
    assert_rs_error(
        &post_raw(c.addr, &format!("{OLD}/1"), &auth, "{}").await,
        400,
        "invalid_request",
    );
    let ok_body = json!({"new_module": seed::REJSON_2_6_17});
    assert_rs_error(
        &c.post(&format!("{OLD}/99"), ok_body.clone()).await,
        404,
        "bdb_not_found",
    );
    assert_rs_error(
        &c.post(&format!("{OLD}/db1"), ok_body).await,
        404,
        "bdb_not_found",
    );
}

#[tokio::test]
async fn current_module_given_but_not_enabled_is_missing_module() {
    let c = Sim::start(SimVersion::V7_8).await;
    let body = json!({"modules": [{"current_module": seed::REJSON_2_4_7, "new_module": seed::REJSON_2_6_17}]});
    assert_rs_error(
        &c.post(&format!("{OLD}/1"), body).await,
        400,
        "missing_module",
    );
}

#[tokio::test]
async fn old_route_is_404_on_8_0() {
    let c = Sim::start(SimVersion::V8_0).await;
    let body = json!({"modules": [{"new_module": seed::REJSON_2_6_17}]});
    assert_rs_error(&c.post(&format!("{OLD}/1"), body).await, 404, "not_found");
    assert_eq!(
        c.bdb(1).await["module_list"][0]["semantic_version"],
        "2.6.6"
    );
}

#[tokio::test]
async fn sibling_route_is_synchronous_on_every_release() {
    for version in [SimVersion::V7_4, SimVersion::V7_8, SimVersion::V8_0] {
        let c = Sim::start(version).await;
        // 8.x serves it only with `sibling_on_8x = "serve"` (R12; the default is 404).
        c.faults()
            .merge_json(&json!({"sibling_on_8x": "serve"}))
            .expect("switch");
        let body = json!({"modules": [{"current_module": seed::REJSON_2_6_6, "new_module": seed::REJSON_2_6_17}]});
        let r = c.post("/v1/bdbs/4/modules/upgrade", body).await;
        assert_eq!(r.status, 200, "{version}");
        assert_eq!(r.json()["module_id"], seed::REJSON_2_6_17);
        assert_eq!(
            c.bdb(4).await["module_list"][0]["semantic_version"],
            "2.6.17"
        );
        let down = json!({"modules": [{"new_module": seed::REJSON_2_4_7}]});
        assert_rs_error(
            &c.post("/v1/bdbs/4/modules/upgrade", down).await,
            406,
            "module_downgrade_unsupported",
        );
    }
}
