//! Basic auth (401 with a challenge, 403 for the viewer on writes) and the request log.

use deprecation_shim::sim::seed;
use deprecation_shim::sim::{SimVersion, DEMO_ADMIN};
use http::Method;
use serde_json::json;

use crate::support::harness::Sim;
use crate::support::legacy::{admin, assert_rs_error, viewer};
use crate::support::{basic, get, post_json, send};

#[tokio::test]
async fn missing_or_wrong_credentials_are_401_with_a_basic_challenge() {
    let c = Sim::start(SimVersion::V8_0).await;
    let none = send(c.addr, Method::GET, "/v1/bdbs", &[], "").await;
    let wrong = get(c.addr, "/v1/bdbs", &basic(DEMO_ADMIN.0, "guess")).await;
    let unknown_route = get(c.addr, "/v1/secret-route", &basic("mallory", "x")).await;
    for r in [&none, &wrong, &unknown_route] {
        assert_rs_error(r, 401, "unauthorized");
        let challenge = r.header("www-authenticate").expect("challenge");
        assert!(challenge.starts_with("Basic realm=\""), "{challenge}");
    }
    let v2 = send(c.addr, Method::GET, "/v2/actions/x", &[], "").await;
    assert_rs_error(&v2, 401, "unauthorized");
}

#[tokio::test]
async fn viewer_reads_everything_but_every_post_is_403() {
    let c = Sim::start(SimVersion::V7_8).await;
    for path in [
        "/v1/bdbs",
        "/v1/bdbs/1",
        "/v1/modules",
        "/v1/nodes",
        "/v1/cluster",
    ] {
        assert_eq!(get(c.addr, path, &viewer()).await.status, 200, "{path}");
    }
    let module = json!({"modules": [{"new_module": seed::REJSON_2_6_17}]});
    for path in [
        "/v1/bdbs/1/upgrade",
        "/v1/bdbs/1/modules/upgrade",
        "/v1/modules/upgrade/bdb/1",
    ] {
        let r = post_json(c.addr, path, &viewer(), &module).await;
        assert_rs_error(&r, 403, "insufficient_permissions");
    }
    assert_eq!(
        c.sim.snapshot()["bdbs"],
        seed::seed(SimVersion::V7_8).to_json()["bdbs"]
    );
}

#[tokio::test]
async fn every_cluster_request_is_recorded_with_its_credentials_and_body() {
    let c = Sim::start(SimVersion::V8_0).await;
    c.get("/v1/bdbs/1?fields=uid").await;
    let body = json!({"redis_version": "7.2"});
    c.post("/v1/bdbs/2/upgrade", body.clone()).await;
    send(c.addr, Method::GET, "/v1/nodes", &[], "").await;
    send(c.addr, Method::GET, "/__sim/state", &[], "").await;
    let log = c.sim.requests();
    assert_eq!(log.len(), 3, "control requests are not recorded: {log:?}");
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("GET", "/v1/bdbs/1?fields=uid")
    );
    assert_eq!(log[0].authorization.as_deref(), Some(admin().as_str()));
    assert_eq!(log[1].method, Method::POST);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&log[1].body).expect("json"),
        body
    );
    assert_eq!(log[2].authorization, None);
    c.sim.clear_requests();
    assert!(c.sim.requests().is_empty());
}
