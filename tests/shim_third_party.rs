//! A real third-party client — the `redis-enterprise` crate from crates.io — pointed at the shim
//! (plain http) in front of a simulated 8.0 cluster: its raw POST on the old route gets the old
//! reply and the old error codes, and its typed database and action calls pass through and parse.

mod support;

use deprecation_shim::sim::seed::*;
use deprecation_shim::sim::{SimVersion, DEMO_ADMIN};
use redis_enterprise::bdb::DatabaseUpgradeRequest;
use redis_enterprise::{EnterpriseClient, RestError};
use serde_json::{json, Value};
use std::time::Duration;
use support::harness::{Shim, Sim};
use support::legacy::{bdb, module_entry, upgrade_posts};

/// The crate's client, aimed at a shim in front of a fresh 8.0 cluster.
async fn client_through_shim() -> (EnterpriseClient, Sim, Shim) {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(150)).await;
    let upstream = sim.addr;
    let shim = Shim::in_front_of(upstream, "").await;
    let client = EnterpriseClient::builder()
        .base_url(format!("http://{}", shim.addr))
        .username(DEMO_ADMIN.0)
        .password(DEMO_ADMIN.1)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    (client, sim, shim)
}

#[tokio::test]
async fn raw_post_on_the_old_route_gets_the_old_reply() {
    let (client, sim, _shim) = client_through_shim().await;
    let body = json!({"modules": [{"module_name": "ReJSON", "current_semantic_version": "2.6.6",
                                   "new_module": REJSON_2_6_17}],
                      "preserve_roles": true});
    let reply = client
        .post_raw("/v1/modules/upgrade/bdb/1", body)
        .await
        .expect("old reply");
    assert_eq!(
        reply,
        json!({"uid": 1, "name": "orders-db", "module_id": REJSON_2_6_17,
               "module_name": "ReJSON", "semantic_version": "2.6.17", "module_args": ""})
    );
    let after = bdb(&sim, 1);
    assert_eq!(module_entry(&after, "ReJSON")["semantic_version"], "2.6.17");
    assert_eq!(module_entry(&after, "search")["semantic_version"], "2.8.4");
    assert_eq!(after["redis_version"], "7.2");
    let sent: Value = serde_json::from_slice(&upgrade_posts(&sim)[0].body).expect("json");
    assert_eq!(sent["latest_with_modules"], false);
}

#[tokio::test]
async fn raw_post_errors_reach_the_crate_with_the_old_error_code() {
    let (client, sim, _shim) = client_through_shim().await;
    let err = client
        .post_raw(
            "/v1/modules/upgrade/bdb/1",
            json!({"new_module": REJSON_2_4_7}),
        )
        .await
        .expect_err("a downgrade is refused");
    let RestError::ApiError { code, message } = err else {
        panic!("not an API error: {err:?}");
    };
    assert_eq!(code, 406);
    let body: Value = serde_json::from_str(&message).expect("RS error body");
    assert_eq!(body["error_code"], "module_downgrade_unsupported");
    assert!(upgrade_posts(&sim).is_empty());

    let err = client
        .post_raw(
            "/v1/modules/upgrade/bdb/99",
            json!({"new_module": REJSON_2_6_17}),
        )
        .await
        .expect_err("no such database");
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn typed_database_calls_pass_through_and_parse() {
    let (client, sim, _shim) = client_through_shim().await;
    let db = client.databases().get(1).await.expect("GET /v1/bdbs/1");
    assert_eq!((db.uid, db.name.as_str()), (1, "orders-db"));
    assert_eq!(db.version.as_deref(), Some("7.2.4"));
    assert_eq!(db.status.as_deref(), Some("active"));
    let modules = db.module_list.expect("module_list");
    assert_eq!(modules.len(), 2);
    assert_eq!(modules[0]["module_id"], REJSON_2_6_6);

    let all = client.databases().list().await.expect("GET /v1/bdbs");
    let names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        ["orders-db", "cache", "legacy-sessions", "geo-replicated"]
    );
    let paths: Vec<String> = sim.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/bdbs/1", "/v1/bdbs"], "passed through as sent");
}

#[tokio::test]
async fn typed_upgrade_and_action_calls_pass_through_and_parse() {
    let (client, sim, _shim) = client_through_shim().await;
    let request = DatabaseUpgradeRequest::builder()
        .redis_version("7.2")
        .preserve_roles(true)
        .build();
    let started = client
        .databases()
        .upgrade_redis_version(2, request.clone())
        .await
        .expect("POST /v1/bdbs/2/upgrade");
    let posts = upgrade_posts(&sim);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path, "/v1/bdbs/2/upgrade");
    let sent: Value = serde_json::from_slice(&posts[0].body).expect("json");
    assert_eq!(sent, serde_json::to_value(&request).expect("request json"));

    let mut action = client
        .actions()
        .get(&started.action_uid)
        .await
        .expect("GET action");
    assert_eq!(action.action_uid, started.action_uid);
    assert_eq!(action.name, "SMUpgradeBDB");
    assert_eq!(action.object_name.as_deref(), Some("bdb:2"));
    for _ in 0..100 {
        if action.status == "completed" {
            break;
        }
        assert!(
            ["pending", "active"].contains(&action.status.as_str()),
            "{action:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        action = client
            .actions()
            .get(&started.action_uid)
            .await
            .expect("GET action");
    }
    assert_eq!(action.status, "completed");
    assert_eq!(action.progress.as_deref(), Some("100"));
    assert_eq!(bdb(&sim, 2)["redis_version"], "7.2");
}
