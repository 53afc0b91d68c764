//! Differential rows for the rewrite rules (issue 12 item 5): the old route served natively by
//! an old-version simulator vs the shim in front of a new-version one started from the same
//! state. Compared: the status, the reply's meaningful body (named per row) and the cluster
//! state the call changed. Allowed to differ: token values (each cluster signs its own), the
//! package members' contents (node objects carry the release), and the shim's own headers
//! (`Deprecation`, `Link`, `X-Request-Id`).

mod support;

use deprecation_shim::sim::{SimVersion, DEMO_ADMIN};
use serde_json::json;
use std::net::SocketAddr;
use support::harness::{Shim, Sim};
use support::legacy::admin;
use support::rewrites::{authorize, tar_names, update_cert};
use support::{get, Reply};

async fn pair(old: SimVersion, new: SimVersion) -> (SocketAddr, Sim, Shim, Sim) {
    support::harness::pair(old, new, "").await
}

#[tokio::test]
async fn r1_authorize_with_body_credentials_7_4_native_equals_shim_in_front_of_8_0() {
    let (old, _old_sim, shim, _new_sim) = pair(SimVersion::V7_4, SimVersion::V8_0).await;
    let good = json!({"username": DEMO_ADMIN.0, "password": DEMO_ADMIN.1, "ttl": 60});
    let (a, b) = (
        authorize(old, &good).await,
        authorize(shim.addr, &good).await,
    );
    assert_eq!(
        (a.status, b.status),
        (http::StatusCode::OK, http::StatusCode::OK)
    );
    let keys = |r: &Reply| {
        r.json()
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&a), keys(&b));
    // Each token reads the same databases from its own cluster.
    let read = |addr, r: &Reply| {
        let jwt = format!("JWT {}", r.json()["access_token"].as_str().expect("token"));
        async move { get(addr, "/v1/bdbs", &jwt).await }
    };
    let (ra, rb) = (read(old, &a).await, read(shim.addr, &b).await);
    assert_eq!(ra.status, rb.status);
    let uids = |r: &Reply| {
        r.json()
            .as_array()
            .expect("list")
            .iter()
            .map(|b| b["uid"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(uids(&ra), uids(&rb));
    // A wrong password is refused by both.
    let bad = json!({"username": DEMO_ADMIN.0, "password": "wrong"});
    assert_eq!(
        authorize(old, &bad).await.status,
        authorize(shim.addr, &bad).await.status
    );
}

#[tokio::test]
async fn r3_update_cert_7_8_native_equals_shim_in_front_of_7_22() {
    let (old, old_sim, shim, new_sim) = pair(SimVersion::V7_8, SimVersion::V7_22).await;
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let key = "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n";
    for body in [
        json!({"name": "proxy", "certificate": pem, "key": key}),
        json!({"name": "mtls_trusted_ca", "certificate": pem}),
        json!({"name": "no_such_cert", "certificate": pem, "key": key}),
        json!({"name": "api", "certificate": "not pem", "key": key}),
    ] {
        let (a, b) = (
            update_cert(old, &body).await,
            update_cert(shim.addr, &body).await,
        );
        assert_eq!(a.status, b.status, "{body}");
        assert_eq!(a.body.is_empty(), b.body.is_empty(), "{body}");
        if !a.body.is_empty() {
            assert_eq!(a.json()["error_code"], b.json()["error_code"], "{body}");
        }
    }
    assert_eq!(
        old_sim.snapshot()["certificates_replaced"],
        new_sim.snapshot()["certificates_replaced"]
    );
    assert!(new_sim
        .requests()
        .iter()
        .any(|r| r.path == "/v1/cluster/certificates"));
}

#[tokio::test]
async fn r7_r8_r9_debuginfo_7_4_native_equals_shim_in_front_of_8_0() {
    let (old, _old_sim, shim, new_sim) = pair(SimVersion::V7_4, SimVersion::V8_0).await;
    for path in [
        "/v1/debuginfo/all",
        "/v1/debuginfo/all/bdb/1",
        "/v1/debuginfo/all/bdb/999",
        // R9: the answering node, found through GET /v1/bootstrap.
        "/v1/debuginfo/node",
    ] {
        let (a, b) = (
            get(old, path, &admin()).await,
            get(shim.addr, path, &admin()).await,
        );
        assert_eq!(a.status, b.status, "{path}");
        for h in ["content-type", "content-disposition"] {
            assert_eq!(a.header(h), b.header(h), "{path} {h}");
        }
        if a.status == 200 {
            assert_eq!(tar_names(&a.body), tar_names(&b.body), "{path}");
        } else {
            assert_eq!(a.json()["error_code"], b.json()["error_code"], "{path}");
        }
    }
    let paths: Vec<_> = support::topology::served(&new_sim)
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert!(
        paths.iter().all(|p| !p.starts_with("/v1/debuginfo")),
        "{paths:?}"
    );
}

/// R10 has no exact successor: the shim answers with the database's package from every node
/// (a superset, API-RULES §5.3), so only status, headers and "every member the old route sent is
/// there" are compared.
#[tokio::test]
async fn r10_node_bdb_debuginfo_is_a_superset_of_the_7_4_native_package() {
    let (old, _old_sim, shim, new_sim) = pair(SimVersion::V7_4, SimVersion::V8_0).await;
    let path = "/v1/debuginfo/node/bdb/1";
    let (a, b) = (
        get(old, path, &admin()).await,
        get(shim.addr, path, &admin()).await,
    );
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (200, 200));
    for h in ["content-type", "content-disposition"] {
        assert_eq!(a.header(h), b.header(h), "{h}");
    }
    let (old_names, new_names) = (tar_names(&a.body), tar_names(&b.body));
    let db_members = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter(|n| n.contains("database_1"))
            .map(|n| n.rsplit('/').next().unwrap_or("").to_owned())
            .collect()
    };
    assert!(!db_members(&old_names).is_empty(), "{old_names:?}");
    for m in db_members(&old_names) {
        assert!(
            db_members(&new_names).contains(&m),
            "{m} missing from {new_names:?}"
        );
    }
    let paths: Vec<_> = support::topology::served(&new_sim)
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert!(
        paths.contains(&"/v1/bdbs/1/debuginfo".to_owned()),
        "{paths:?}"
    );
}

/// Issue 21: every row above again with the shim in front of three nodes, a follower first in
/// `upstream.nodes` (see `support::topology`).
#[test]
fn every_row_holds_with_a_follower_first() {
    support::topology::with_follower_first(|| {
        r1_authorize_with_body_credentials_7_4_native_equals_shim_in_front_of_8_0();
        r3_update_cert_7_8_native_equals_shim_in_front_of_7_22();
        r7_r8_r9_debuginfo_7_4_native_equals_shim_in_front_of_8_0();
        r10_node_bdb_debuginfo_is_a_superset_of_the_7_4_native_package();
    });
}
