//! The 7.8.2 trap on the new route: unpinned calls move Redis and every module; a pinned call
//! with `latest_with_modules: false` changes only the named module; 7.4 keeps the old defaults.

use deprecation_shim::sim::seed;
use deprecation_shim::sim::SimVersion;
use serde_json::json;

use crate::support::harness::Sim;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

async fn redis_of(c: &Sim, uid: u64) -> (String, String) {
    let b = c.bdb(uid).await;
    let s = |k: &str| b[k].as_str().expect(k).to_owned();
    (s("redis_version"), s("version"))
}

#[tokio::test]
async fn unpinned_upgrade_on_8_0_moves_redis_and_every_module() {
    let c = Sim::start(SimVersion::V8_0).await;
    // What a naive translation of "upgrade search to 2.8.9" sends.
    let body = json!({"modules": [{"current_module": seed::SEARCH_2_8_4, "new_module": seed::SEARCH_2_8_9}]});
    let uid = c.start_upgrade(1, body).await;
    assert_eq!(c.wait_action(&uid).await["status"], "completed");
    assert_eq!(
        redis_of(&c, 1).await,
        ("8.0".to_owned(), "8.0.2".to_owned())
    );
    // The explicit entry wins for search; ReJSON, never asked for, moved to its latest.
    assert_eq!(
        c.module_versions(1).await,
        pairs(&[("ReJSON", "8.0.2"), ("search", "2.8.9")])
    );
    let db1 = c.bdb(1).await;
    assert_eq!(db1["module_list"][1]["module_args"], "PARTITIONS AUTO");
}

#[tokio::test]
async fn plain_call_on_7_8_moves_to_redis_7_4_and_latest_fitting_modules() {
    let c = Sim::start(SimVersion::V7_8).await;
    let uid = c.start_upgrade(1, json!({})).await;
    assert_eq!(c.wait_action(&uid).await["status"], "completed");
    assert_eq!(
        redis_of(&c, 1).await,
        ("7.4".to_owned(), "7.4.2".to_owned())
    );
    assert_eq!(
        c.module_versions(1).await,
        pairs(&[("ReJSON", "2.8.4"), ("search", "2.10.5")])
    );
    let uid = c.start_upgrade(3, json!({})).await;
    c.wait_action(&uid).await;
    assert_eq!(
        c.module_versions(3).await,
        pairs(&[("timeseries", "1.12.2")])
    );
}

#[tokio::test]
async fn pinned_upgrade_without_latest_modules_changes_only_the_named_module() {
    let c = Sim::start(SimVersion::V8_0).await;
    let body = json!({
        "redis_version": "7.2",
        "latest_with_modules": false,
        "modules": [{"current_module": seed::REJSON_2_6_6, "new_module": seed::REJSON_2_6_17, "new_module_args": "X 1"}],
    });
    let uid = c.start_upgrade(1, body).await;
    assert_eq!(c.wait_action(&uid).await["status"], "completed");
    assert_eq!(
        redis_of(&c, 1).await,
        ("7.2".to_owned(), "7.2.4".to_owned())
    );
    let db1 = c.bdb(1).await;
    assert_eq!(
        db1["module_list"],
        json!([
            {"module_id": seed::REJSON_2_6_17, "module_name": "ReJSON", "module_args": "X 1", "semantic_version": "2.6.17"},
            {"module_id": seed::SEARCH_2_8_4, "module_name": "search", "module_args": "PARTITIONS AUTO", "semantic_version": "2.8.4"},
        ])
    );
}

#[tokio::test]
async fn pinned_redis_with_default_latest_modules_still_moves_every_module() {
    let c = Sim::start(SimVersion::V8_0).await;
    let uid = c.start_upgrade(1, json!({"redis_version": "7.2"})).await;
    c.wait_action(&uid).await;
    assert_eq!(redis_of(&c, 1).await.0, "7.2");
    // Latest that fits Redis 7.2 and 8.0.2 nodes without losing a capability.
    assert_eq!(
        c.module_versions(1).await,
        pairs(&[("ReJSON", "2.6.17"), ("search", "2.8.21")])
    );
}

#[tokio::test]
async fn release_7_4_keeps_redis_and_other_modules_by_default() {
    let c = Sim::start(SimVersion::V7_4).await;
    let body = json!({"modules": [{"current_module": seed::REJSON_2_6_6, "new_module": seed::REJSON_2_6_17}]});
    let uid = c.start_upgrade(1, body).await;
    c.wait_action(&uid).await;
    assert_eq!(
        redis_of(&c, 1).await,
        ("7.2".to_owned(), "7.2.4".to_owned())
    );
    assert_eq!(
        c.module_versions(1).await,
        pairs(&[("ReJSON", "2.6.17"), ("search", "2.8.4")])
    );
}

#[tokio::test]
async fn release_7_4_moves_every_module_only_when_asked() {
    let c = Sim::start(SimVersion::V7_4).await;
    let uid = c
        .start_upgrade(1, json!({"latest_with_modules": true}))
        .await;
    c.wait_action(&uid).await;
    assert_eq!(redis_of(&c, 1).await.0, "7.2");
    // search 2.8.15 drops "crdb" and 2.8.21 needs 7.8.6 nodes: 2.8.9 is the latest that fits.
    assert_eq!(
        c.module_versions(1).await,
        pairs(&[("ReJSON", "2.6.17"), ("search", "2.8.9")])
    );
}

#[tokio::test]
async fn keep_redis_version_pins_redis_on_7_8() {
    let c = Sim::start(SimVersion::V7_8).await;
    let uid = c
        .start_upgrade(2, json!({"keep_redis_version": true}))
        .await;
    c.wait_action(&uid).await;
    assert_eq!(redis_of(&c, 2).await.0, "7.2");
}
