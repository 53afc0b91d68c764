//! The read routes: databases, `?fields=`, modules, nodes, cluster, unknown routes.

use deprecation_shim::sim::seed;
use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::json;

use crate::support::harness::Sim;
use crate::support::legacy::{admin, assert_rs_error};
use crate::support::send;

#[tokio::test]
async fn bdbs_list_holds_the_four_seed_databases() {
    let c = Sim::start(SimVersion::V8_0).await;
    let r = c.get("/v1/bdbs").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let list = r.json();
    let uids: Vec<u64> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|b| b["uid"].as_u64().expect("uid"))
        .collect();
    assert_eq!(uids, [1, 2, 3, 4]);
    for b in list.as_array().expect("array") {
        assert_eq!(b["status"], "active");
        assert_eq!(b["action_uid"], json!(null));
    }
    assert_eq!(list[1]["module_list"], json!([]));
    assert_eq!(list[3]["crdt"], true);
}

#[tokio::test]
async fn bdb_by_uid_carries_redis_versions_and_module_list() {
    let c = Sim::start(SimVersion::V7_8).await;
    let db1 = c.bdb(1).await;
    assert_eq!(db1["name"], "orders-db");
    assert_eq!(
        (db1["redis_version"].as_str(), db1["version"].as_str()),
        (Some("7.2"), Some("7.2.4"))
    );
    assert_eq!(
        db1["module_list"],
        json!([
            {"module_id": seed::REJSON_2_6_6, "module_name": "ReJSON", "module_args": "", "semantic_version": "2.6.6"},
            {"module_id": seed::SEARCH_2_8_4, "module_name": "search", "module_args": "PARTITIONS AUTO", "semantic_version": "2.8.4"},
        ])
    );
    let db3 = c.bdb(3).await;
    assert_eq!(
        (db3["redis_version"].as_str(), db3["version"].as_str()),
        (Some("6.2"), Some("6.2.14"))
    );
    assert_eq!(db3["module_list"][0]["module_id"], seed::TIMESERIES_1_8_13);
    assert_eq!(db1["type"], "redis");
    assert!(db1["shards_count"].is_u64() && db1["memory_size"].is_u64());
}

#[tokio::test]
async fn fields_query_trims_the_database_object() {
    let c = Sim::start(SimVersion::V8_0).await;
    let r = c.get("/v1/bdbs/1?fields=uid,status,action_uid").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"uid": 1, "status": "active", "action_uid": null})
    );
    let list = c.get("/v1/bdbs?fields=uid").await.json();
    assert_eq!(
        list,
        json!([{"uid": 1}, {"uid": 2}, {"uid": 3}, {"uid": 4}])
    );
}

#[tokio::test]
async fn unknown_or_non_integer_bdb_uid_is_404_bdb_not_found() {
    let c = Sim::start(SimVersion::V8_0).await;
    assert_rs_error(&c.get("/v1/bdbs/99").await, 404, "bdb_not_found");
    assert_rs_error(&c.get("/v1/bdbs/abc").await, 404, "bdb_not_found");
    assert_rs_error(&c.get("/v1/bdbs/1.0").await, 404, "bdb_not_found");
    assert_rs_error(&c.get("/v1/actions/bdb/x").await, 404, "bdb_not_found");
}

#[tokio::test]
async fn module_catalog_holds_several_versions_of_each_module() {
    let c = Sim::start(SimVersion::V8_0).await;
    let list = c.get("/v1/modules").await.json();
    let list = list.as_array().expect("array");
    for name in ["ReJSON", "search", "timeseries", "bf"] {
        let n = list.iter().filter(|m| m["module_name"] == name).count();
        assert!(n >= 3, "{name}: {n}");
    }
    for m in list {
        assert_eq!(m["uid"].as_str().expect("uid").len(), 32);
        assert!(m["version"].is_u64() && m["capabilities"].is_array(), "{m}");
        for key in [
            "min_redis_version",
            "compatible_redis_version",
            "min_redis_pack_version",
            "display_name",
        ] {
            assert!(m[key].is_string(), "{key} in {m}");
        }
    }
    let one = c
        .get(&format!("/v1/modules/{}", seed::REJSON_2_6_17))
        .await
        .json();
    assert_eq!(
        (
            one["module_name"].as_str(),
            one["semantic_version"].as_str()
        ),
        (Some("ReJSON"), Some("2.6.17"))
    );
    assert_eq!(one["version"], 20617);
    let gone = c
        .get(&format!("/v1/modules/{}", seed::UNKNOWN_MODULE_UID))
        .await;
    assert_rs_error(&gone, 404, "module_not_found");
}

#[tokio::test]
async fn nodes_run_the_simulated_release() {
    for (version, expected) in [
        (SimVersion::V7_4, "7.4.6-77"),
        (SimVersion::V7_8, "7.8.2-34"),
        (SimVersion::V8_0, "8.0.2-17"),
    ] {
        let c = Sim::start(version).await;
        let nodes = c.get("/v1/nodes").await.json();
        let nodes = nodes.as_array().expect("array");
        assert!(nodes.len() >= 2);
        for n in nodes {
            assert_eq!(n["software_version"], expected);
        }
    }
}

#[tokio::test]
async fn cluster_object_is_served() {
    let c = Sim::start(SimVersion::V8_0).await;
    let r = c.get("/v1/cluster").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["name"], "cluster.sim.local");
}

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_is_405() {
    let c = Sim::start(SimVersion::V8_0).await;
    assert_rs_error(&c.get("/v1/nothing").await, 404, "not_found");
    assert_rs_error(&c.get("/metrics").await, 404, "not_found");
    let auth = admin();
    let del = send(
        c.addr,
        Method::DELETE,
        "/v1/bdbs/1",
        &[("authorization", &auth)],
        "",
    )
    .await;
    assert_rs_error(&del, 405, "method_not_allowed");
    // `PUT /v1/bdbs/{uid}` is served too (issue 22 b, R14).
    assert_eq!(del.header("allow"), Some("GET, PUT"));
    let get_upgrade = c.get("/v1/bdbs/1/upgrade").await;
    assert_rs_error(&get_upgrade, 405, "method_not_allowed");
    assert_eq!(get_upgrade.header("allow"), Some("POST"));
}
