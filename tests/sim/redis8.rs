//! Redis 8 databases on RS 8.x (API.md §6): the seed databases, the 8.2 catalog, the
//! `?extended=true` objects, and both readings of a `modules` entry on the new upgrade route.

use deprecation_shim::sim::redis8::{REJSON_8_2_0, SEARCH_8_2_1};
use deprecation_shim::sim::{seed, Redis8Modules, SimConfig, SimVersion};
use serde_json::json;

use crate::support::harness::{Sim, ACTION};
use crate::support::legacy::assert_rs_error;

#[tokio::test]
async fn on_8_2_a_ram_and_a_flex_database_run_redis_8_2_with_their_modules_at_8_2() {
    let c = Sim::start(SimVersion::V8_2).await;
    let ram = c.bdb(5).await;
    assert_eq!(
        (ram["redis_version"].as_str(), ram["version"].as_str()),
        (Some("8.2"), Some("8.2.1"))
    );
    assert_eq!(
        c.module_versions(5).await,
        [
            ("ReJSON", "8.2.0"),
            ("bf", "8.2.0"),
            ("search", "8.2.1"),
            ("timeseries", "8.2.0")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let flex = c.bdb(6).await;
    assert_eq!(flex["bigstore"], true);
    assert_eq!(c.module_versions(6).await.len(), 2);
    let m = c.get(&format!("/v1/modules/{SEARCH_8_2_1}")).await.json();
    assert_eq!(
        (
            m["is_bundled"].as_bool(),
            m["compatible_redis_version"].as_str()
        ),
        (Some(true), Some("8.2"))
    );
    let r8 = Sim::with(SimConfig {
        version: SimVersion::V8_0,
        state: Some(seed::seed_with_redis8(SimVersion::V8_0)),
        action_duration: ACTION,
    })
    .await;
    assert_eq!(r8.bdb(5).await["version"], "8.0.2");
    for v in [SimVersion::V7_22, SimVersion::V8_0] {
        let plain = Sim::start(v).await;
        assert_rs_error(&plain.get("/v1/bdbs/5").await, 404, "bdb_not_found");
    }
}

#[tokio::test]
async fn extended_true_adds_search_timeseries_and_probabilistic_to_redis_8_databases_only() {
    let c = Sim::start(SimVersion::V8_2).await;
    let ram = c.get("/v1/bdbs/5?extended=true").await.json();
    for key in ["search", "timeseries", "probabilistic"] {
        assert!(ram[key].is_object(), "{key}: {ram}");
    }
    assert!(
        ram["search"].get("search-timeout").is_some(),
        "kebab-case keys"
    );
    let flex = c.get("/v1/bdbs/6?extended=true").await.json();
    assert!(flex.get("search").is_none() && flex["probabilistic"].is_object());
    assert!(
        c.get("/v1/bdbs/5").await.json().get("search").is_none(),
        "only with extended"
    );
    assert!(
        c.get("/v1/bdbs/1?extended=true")
            .await
            .json()
            .get("search")
            .is_none(),
        "Redis 7.2"
    );
}

#[tokio::test]
async fn ignore_reading_a_modules_entry_for_a_redis_8_database_completes_and_changes_nothing() {
    let c = Sim::start(SimVersion::V8_2).await;
    let before = c.bdb(5).await;
    let body = json!({"modules": [{"current_module": REJSON_8_2_0, "new_module": seed::REJSON_8_0_2}],
                      "redis_version": "8.2", "latest_with_modules": false});
    let action = c.start_upgrade(5, body).await;
    assert_eq!(c.wait_action(&action).await["status"], "completed");
    let after = c.bdb(5).await;
    assert_eq!(after["module_list"], before["module_list"]);
    assert_eq!(after["version"], before["version"]);
}

#[tokio::test]
async fn reject_reading_answers_406_at_start_or_by_the_control_api() {
    for set_at_start in [true, false] {
        let c = Sim::with(SimConfig {
            version: SimVersion::V8_0,
            state: Some(seed::seed_with_redis8(SimVersion::V8_0)),
            action_duration: ACTION,
        })
        .await;
        if set_at_start {
            c.sim.faults().set_redis8_modules(Redis8Modules::Reject);
        } else {
            let r = c
                .sim
                .faults()
                .merge_json(&json!({"redis8_modules": "reject"}))
                .expect("switch");
            assert_eq!(r.redis8_modules, Redis8Modules::Reject);
        }
        let body = json!({"modules": [{"new_module": seed::REJSON_8_0_2}]});
        let r = c.post("/v1/bdbs/5/upgrade", body.clone()).await;
        assert_rs_error(&r, 406, "redis8_module_upgrade_unsupported");
        assert_eq!(c.bdb(5).await["action_uid"], json!(null));
        assert_eq!(
            c.post(
                "/v1/bdbs/1/upgrade",
                json!({"modules": [{"new_module": seed::REJSON_2_6_17}]})
            )
            .await
            .status,
            200,
            "Redis 7 databases are untouched by the switch"
        );
    }
}
