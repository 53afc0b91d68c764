//! The built-in rewrite rules on the executor (issue 12, API-RULES §2, §3, §5, §6): R1
//! authorize, R3 update_cert, R7–R10 debuginfo and R11 version discovery, against the
//! simulator, in process.

mod support;

use deprecation_shim::sim::{SimVersion, DEMO_ADMIN};
use http::Method;
use serde_json::{json, Value};
use std::time::Duration;
use support::audit_file::{records, AuditFile};
use support::harness::{Shim, Sim};
use support::legacy::admin;
use support::rewrites::{authorize, tar_names, update_cert};
use support::{get, send};

const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n";

fn creds() -> String {
    json!({"username": DEMO_ADMIN.0, "password": DEMO_ADMIN.1, "ttl": 120}).to_string()
}

#[tokio::test]
async fn authorize_with_body_credentials_on_8_0_sends_a_basic_header_and_the_token_reads_bdbs() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("[rules]\nrs_version = \"8.0.2-17\"")).await;
    sim.clear_requests();
    let reply = authorize(shim.addr, &creds()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let token = reply.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(reply.header("deprecation"), Some("@1730419200"));
    assert!(reply
        .header("link")
        .expect("link")
        .contains("users/authorize/>; rel=\"deprecation\""));
    let seen = sim.requests();
    let sent = seen
        .iter()
        .find(|r| r.path == "/v1/users/authorize")
        .expect("sent");
    assert_eq!(sent.authorization.as_deref(), Some(admin().as_str()));
    let body: Value = serde_json::from_slice(&sent.body).expect("json body");
    assert_eq!(body, json!({"ttl": 120}), "credentials dropped, ttl kept");

    let bdbs = get(shim.addr, "/v1/bdbs", &format!("JWT {token}")).await;
    assert_eq!(bdbs.status, 200);
    assert!(bdbs.json().as_array().is_some_and(|a| !a.is_empty()));

    let rec = records(&audit)
        .into_iter()
        .find(|r| r["rule"] == "authorize")
        .expect("audited");
    assert_eq!(rec["rule_action"], "translated");
    assert_eq!(rec["user"], DEMO_ADMIN.0);
    assert_eq!(
        rec["detail"],
        json!({"user": DEMO_ADMIN.0, "ttl": 120, "translated": true})
    );
    let text = std::fs::read_to_string(&audit).expect("audit");
    assert!(!text.contains(DEMO_ADMIN.1) && !text.contains(&token));
}

#[tokio::test]
async fn authorize_on_7_4_is_native_and_passes_through_unmarked() {
    let sim = Sim::timed(SimVersion::V7_4, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("[rules]\nrs_version = \"7.4.2-54\"")).await;
    sim.clear_requests();
    let reply = authorize(shim.addr, &creds()).await;
    assert_eq!(reply.status, 200);
    assert!(reply.json()["access_token"].is_string());
    assert!(reply.header("deprecation").is_none());
    let sent = sim.requests();
    assert_eq!(sent[0].authorization, None, "no header added");
    assert_eq!(sent[0].body, creds().as_bytes());
    assert_eq!(records(&audit)[0]["rule_action"], "observed");
}

#[tokio::test]
async fn authorize_with_an_unknown_version_sends_header_and_body_and_never_looks_up() {
    for version in [SimVersion::V7_4, SimVersion::V8_0] {
        let sim = Sim::timed(version, Duration::from_millis(50)).await;
        let shim = Shim::in_front_of(sim.addr, "").await;
        sim.clear_requests();
        let reply = authorize(shim.addr, &creds()).await;
        assert_eq!(reply.status, 200, "{version:?}");
        assert!(reply.json()["access_token"].is_string());
        assert_eq!(reply.header("deprecation"), Some("@1730419200"));
        let seen = sim.requests();
        assert_eq!(seen.len(), 1, "no look-up: {seen:?}");
        assert_eq!(seen[0].authorization.as_deref(), Some(admin().as_str()));
        assert_eq!(seen[0].body, creds().as_bytes());
    }
}

#[tokio::test]
async fn authorize_with_a_colon_in_the_user_name_is_refused_without_calling_the_cluster() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("")).await;
    sim.clear_requests();
    let reply = authorize(shim.addr, r#"{"username":"a:b","password":"pw-secret"}"#).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error_code"], "invalid_credentials_format");
    assert!(!String::from_utf8_lossy(&reply.body).contains("pw-secret"));
    assert!(sim.requests().is_empty());
    let rec = records(&audit).pop().expect("audited");
    assert_eq!(rec["rule_action"], "refused");
    assert_eq!(rec["error_code"], "invalid_credentials_format");
    assert_eq!(rec["verified"], false);
}

#[tokio::test]
async fn authorize_body_over_64_kib_is_413() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let shim = Shim::in_front_of(sim.addr, "").await;
    sim.clear_requests();
    let big = format!(
        r#"{{"username":"a","password":"b","x":"{}"}}"#,
        "y".repeat(70_000)
    );
    let reply = authorize(shim.addr, &big).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["error_code"], "request_too_large");
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn update_cert_on_7_22_is_sent_to_certificates_after_one_version_look_up() {
    let sim = Sim::timed(SimVersion::V7_22, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("")).await;
    sim.clear_requests();
    let cert = json!({"name": "proxy", "certificate": PEM, "key": KEY});
    let reply = update_cert(shim.addr, &cert).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.header("deprecation"), Some("@1756684800"));
    assert!(reply
        .header("link")
        .expect("link")
        .starts_with("</v1/cluster/certificates>; rel=\"successor-version\""));
    let seen: Vec<_> = sim
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.body))
        .collect();
    assert_eq!(seen[0].1, "/v1/bootstrap");
    assert_eq!(seen[1].1, "/v1/cluster/certificates");
    let sent: Value = serde_json::from_slice(&seen[1].2).expect("json");
    assert_eq!(sent, json!({"certificates": [cert]}));
    assert_eq!(sim.snapshot()["certificates_replaced"], json!(["proxy"]));
    // The version is cached: a second call sends no look-up.
    sim.clear_requests();
    assert_eq!(update_cert(shim.addr, &cert).await.status, 200);
    assert_eq!(sim.requests().len(), 1);
    let rec = records(&audit).pop().expect("audited");
    assert_eq!(rec["rule"], "update_cert");
    assert_eq!(rec["rule_action"], "translated");
    assert_eq!(rec["detail"], json!({"name": "proxy", "key_present": true}));
    let text = std::fs::read_to_string(&audit).expect("audit");
    assert!(!text.contains("SECRETKEYBYTES") && !text.contains("MIIB"));
}

#[tokio::test]
async fn update_cert_on_7_8_passes_through_to_the_native_route() {
    let sim = Sim::timed(SimVersion::V7_8, Duration::from_millis(50)).await;
    let shim = Shim::in_front_of(sim.addr, "").await;
    sim.clear_requests();
    let cert = json!({"name": "proxy", "certificate": PEM, "key": KEY});
    let reply = update_cert(shim.addr, &cert).await;
    assert_eq!(reply.status, 200);
    assert!(reply.header("deprecation").is_none());
    let paths: Vec<_> = sim.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/bootstrap", "/v1/cluster/update_cert"]);
    assert_eq!(sim.snapshot()["certificates_replaced"], json!(["proxy"]));
}

#[tokio::test]
async fn a_version_look_up_refused_401_is_not_cached_and_the_call_passes_through() {
    let sim = Sim::timed(SimVersion::V7_22, Duration::from_millis(50)).await;
    let shim = Shim::in_front_of(sim.addr, "").await;
    sim.clear_requests();
    let bad = support::basic("nobody@example.com", "wrong");
    let reply = send(
        shim.addr,
        Method::GET,
        "/v1/debuginfo/all",
        &[("authorization", bad.as_str())],
        "",
    )
    .await;
    assert_eq!(reply.status, 401);
    let reply = get(shim.addr, "/v1/debuginfo/all", &admin()).await;
    assert_eq!(reply.status, 200);
    let paths: Vec<_> = sim.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/v1/bootstrap",
            "/v1/debuginfo/all",
            "/v1/bootstrap",
            "/v1/cluster/debuginfo"
        ]
    );
}

#[tokio::test]
async fn concurrent_first_calls_share_one_version_look_up() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let shim = Shim::in_front_of(sim.addr, "").await;
    sim.clear_requests();
    let calls =
        (0..8).map(|_| async move { get(shim.addr, "/v1/debuginfo/all", &admin()).await.status });
    for status in futures_util::future::join_all(calls).await {
        assert_eq!(status, 200);
    }
    let look_ups = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/bootstrap")
        .count();
    assert_eq!(look_ups, 1);
}

#[tokio::test]
async fn each_debuginfo_route_on_8_0_gets_the_package_of_its_scope() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("[rules]\nrs_version = \"8.0.2-17\"")).await;
    for (old, new, member) in [
        (
            "/v1/debuginfo/all",
            "/v1/cluster/debuginfo",
            "ccs-redis.json",
        ),
        (
            "/v1/debuginfo/all/bdb/1?x=1",
            "/v1/bdbs/1/debuginfo?x=1",
            "database_1/bdb.json",
        ),
        (
            "/v1/debuginfo/node",
            "/v1/nodes/1/debuginfo",
            "node_1/debuginfo.txt",
        ),
        (
            "/v1/debuginfo/node/bdb/1",
            "/v1/bdbs/1/debuginfo",
            "database_1/bdb.json",
        ),
    ] {
        sim.clear_requests();
        let reply = get(shim.addr, old, &admin()).await;
        assert_eq!(reply.status, 200, "{old}");
        assert_eq!(reply.header("content-type"), Some("application/x-gzip"));
        assert_eq!(
            reply.header("content-disposition"),
            Some("attachment; filename=debuginfo.tar.gz")
        );
        assert_eq!(reply.header("deprecation"), Some("@1706745600"), "{old}");
        let names = tar_names(&reply.body);
        assert!(names.iter().any(|n| n == member), "{old}: {names:?}");
        let last = sim.requests().pop().expect("sent");
        assert_eq!(last.path, new, "{old}");
    }
    // A download's record is written once its body has ended (issue 20): it may trail the reply.
    let mut recs = records(&audit);
    for _ in 0..100 {
        if recs.iter().any(|r| r["rule"] == "debuginfo_node") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        recs = records(&audit);
    }
    let node = recs
        .iter()
        .find(|r| r["rule"] == "debuginfo_node")
        .expect("audited");
    assert_eq!(node["detail"]["node_uid"], 1);
    assert_eq!(node["detail"]["new_path"], "/v1/nodes/1/debuginfo");
    assert!(node["detail"]["bytes"].as_u64().is_some_and(|b| b > 0));
}

#[tokio::test]
async fn node_bdb_debuginfo_gone_answers_410_and_passthrough_is_observed() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let sim_addr = sim.addr;
    let gone = Shim::in_front_of(
        sim_addr,
        "[rules]\nrs_version = \"8.0.2\"\nnode_bdb_debuginfo = \"gone\"",
    )
    .await;
    sim.clear_requests();
    let reply = get(gone.addr, "/v1/debuginfo/node/bdb/1", &admin()).await;
    assert_eq!(reply.status, 410);
    assert_eq!(reply.json()["error_code"], "route_removed");
    assert!(sim.requests().is_empty());
    let through = Shim::in_front_of(
        sim_addr,
        "[rules]\nrs_version = \"8.0.2\"\nnode_bdb_debuginfo = \"passthrough\"\nnode_debuginfo = \"passthrough\"",
    )
    .await;
    for old in ["/v1/debuginfo/node/bdb/1", "/v1/debuginfo/node"] {
        sim.clear_requests();
        assert_eq!(get(through.addr, old, &admin()).await.status, 200);
        let paths: Vec<_> = sim.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, [old]);
    }
}
