//! The simulated cluster's read-only routes of API-CATALOGUE part (a), over real sockets: the
//! 15 v1 statistics routes (R18, §8.1), `GET /v1/license` and `GET /v1/logs`. The part's
//! password route is in `sim_password.rs`.

mod support;

use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::json;

use support::harness::Sim;
use support::legacy::{admin, assert_rs_error, viewer};
use support::{get, send};

/// The 15 statistics paths, with the uids of the seed.
const STATS_PATHS: [&str; 15] = [
    "/v1/cluster/stats",
    "/v1/cluster/stats/last",
    "/v1/nodes/stats",
    "/v1/nodes/stats/2",
    "/v1/nodes/stats/last",
    "/v1/nodes/stats/last/2",
    "/v1/bdbs/stats",
    "/v1/bdbs/stats/1",
    "/v1/bdbs/stats/last",
    "/v1/bdbs/stats/last/1",
    "/v1/shards/stats",
    "/v1/shards/stats/3",
    "/v1/shards/stats/last",
    "/v1/shards/stats/last/3",
    "/v1/endpoints/stats",
];

#[tokio::test]
async fn every_stats_route_answers_a_viewer_on_every_release_with_a_stable_shape() {
    for v in SimVersion::ALL {
        let c = Sim::start(v).await;
        for path in STATS_PATHS {
            let r = get(c.addr, path, &viewer()).await;
            assert_eq!(
                r.status,
                200,
                "{v} {path}: {}",
                String::from_utf8_lossy(&r.body)
            );
            let body = r.json();
            let interval = match (path.contains("/last"), path.split('/').nth(2)) {
                (false, Some("cluster")) => body["intervals"][0].clone(),
                (true, Some("cluster")) => body.clone(),
                (true, _) => body
                    .as_object()
                    .and_then(|m| m.values().next())
                    .cloned()
                    .expect("keyed"),
                (false, _) if body.is_array() => body[0]["intervals"][0].clone(),
                (false, _) => body["intervals"][0].clone(),
            };
            for key in ["interval", "stime", "etime"] {
                assert!(interval[key].is_string(), "{v} {path}: {key} in {body}");
            }
            assert_eq!(get(c.addr, path, "").await.status, 401, "{path}");
        }
        let one = c.get("/v1/bdbs/stats/last/1").await.json();
        assert_eq!(one.as_object().map(|m| m.len()), Some(1));
        assert!(one["1"]["used_memory"].is_f64());
        let item = c.get("/v1/shards/stats/3").await.json();
        assert_eq!(
            (item["uid"].clone(), item["bdb_uid"].clone()),
            (json!("3"), json!("1"))
        );
    }
}

#[tokio::test]
async fn stats_replies_are_deterministic_and_follow_interval_stime_etime() {
    let c = Sim::start(SimVersion::V7_22).await;
    let q =
        "/v1/cluster/stats?interval=1sec&stime=2014-08-28T10%3A00%3A00Z&etime=2014-08-28T10:00:03Z";
    let (a, b) = (c.get(q).await, c.get(q).await);
    assert_eq!(a.body, b.body, "byte for byte");
    let intervals = a.json()["intervals"]
        .as_array()
        .cloned()
        .expect("intervals");
    let times: Vec<(&str, &str)> = intervals
        .iter()
        .filter_map(|i| Some((i["stime"].as_str()?, i["etime"].as_str()?)))
        .collect();
    assert_eq!(
        times,
        [
            ("2014-08-28T10:00:00Z", "2014-08-28T10:00:01Z"),
            ("2014-08-28T10:00:01Z", "2014-08-28T10:00:02Z"),
            ("2014-08-28T10:00:02Z", "2014-08-28T10:00:03Z"),
        ]
    );
    assert_rs_error(
        &c.get("/v1/bdbs/stats?interval=2min").await,
        400,
        "invalid_interval",
    );
    assert_rs_error(
        &c.get("/v1/bdbs/stats?etime=tomorrow").await,
        400,
        "invalid_time",
    );
}

#[tokio::test]
async fn stats_for_unknown_objects_are_404_in_the_rs_shape() {
    let c = Sim::start(SimVersion::V8_0).await;
    for (path, code) in [
        ("/v1/bdbs/stats/9", "bdb_not_found"),
        ("/v1/bdbs/stats/last/x", "bdb_not_found"),
        ("/v1/nodes/stats/9", "node_not_found"),
        ("/v1/nodes/stats/last/9", "node_not_found"),
        ("/v1/shards/stats/99", "shard_not_found"),
        ("/v1/shards/stats/last/99", "shard_not_found"),
        ("/v1/cluster/stats/1", "not_found"),
        ("/v1/bdbs/1/stats", "not_found"),
    ] {
        assert_rs_error(&c.get(path).await, 404, code);
    }
    let post = send(
        c.addr,
        Method::POST,
        "/v1/bdbs/stats",
        &[("authorization", admin().as_str())],
        "",
    )
    .await;
    assert_eq!(post.status, 405);
    assert_eq!(
        c.get("/v1/bdbs/1").await.json()["name"],
        "orders-db",
        "databases unaffected"
    );
}

#[tokio::test]
async fn license_is_served_to_any_user_without_key_material() {
    for v in SimVersion::ALL {
        let c = Sim::start(v).await;
        let r = get(c.addr, "/v1/license", &viewer()).await;
        assert_eq!(r.status, 200, "{v}");
        let l = r.json();
        assert_eq!(l["expired"], false);
        assert_eq!(l["shards_limit"], 100);
        let shards = c.get("/v1/shards/stats").await.json();
        let derived = shards.as_array().map(Vec::len).expect("shards");
        assert_eq!(
            l["ram_shards_in_use"], derived,
            "{v}: the shards the stats list"
        );
        for key in [
            "license",
            "activation_date",
            "expiration_date",
            "cluster_name",
        ] {
            assert!(l[key].is_string(), "{v}: {key} in {l}");
        }
        assert_eq!(get(c.addr, "/v1/license", "").await.status, 401);
    }
}

#[tokio::test]
async fn logs_honour_limit_order_stime_and_etime() {
    for v in SimVersion::ALL {
        let c = Sim::start(v).await;
        let all = get(c.addr, "/v1/logs", &viewer()).await.json();
        let all = all.as_array().cloned().expect("list");
        assert!(all.len() >= 8, "{v}");
        for e in &all {
            assert!(e["time"].is_string() && e["type"].is_string() && e["severity"] == "INFO");
        }
        let desc = c.get("/v1/logs?order=desc&limit=3").await.json();
        let desc = desc.as_array().cloned().expect("list");
        assert_eq!(desc.len(), 3);
        assert_eq!(desc[0], all[all.len() - 1]);
        let window = c
            .get("/v1/logs?stime=2024-03-11T09:01:00Z&etime=2024-03-11T09:03:00Z")
            .await
            .json();
        let types: Vec<&str> = window
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|e| e["type"].as_str())
            .collect();
        assert_eq!(types, ["cluster_node_joined"; 3]);
        assert_rs_error(
            &c.get("/v1/logs?order=sideways").await,
            400,
            "invalid_request",
        );
        assert_eq!(get(c.addr, "/v1/logs", "").await.status, 401);
    }
}
