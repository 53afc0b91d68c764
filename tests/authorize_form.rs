//! Issue 20, item 2: a rule's lifecycle applies to its deprecated form only, and the audit and
//! exemptions name the user whose credentials the cluster checked.
//!
//! R1's deprecated form is a login in the body of `POST /v1/users/authorize`: a header-only
//! login (the successor) is served after the Sunset. The user named is the body's when the
//! cluster reads the body (no header, or below 7.8.2), the header's otherwise; an exemption by
//! user is verified with those same credentials.

mod support;

use deprecation_shim::sim::{SimVersion, DEMO_ADMIN, DEMO_VIEWER};
use http::Method;
use serde_json::json;
use support::audit_file::records;
use support::harness::audited;
use support::legacy::{admin, viewer};
use support::send;

/// `authorize`'s Sunset has passed and its lifecycle is enforced.
const RETIRED: &str = "[lifecycle.authorize]\nenforce = true\nsunset_date = \"2025-01-01\"\n";

/// `POST /v1/users/authorize` with `header` (if any) and `body`.
async fn login(
    addr: std::net::SocketAddr,
    header: Option<&str>,
    body: serde_json::Value,
) -> support::Reply {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(h) = header {
        headers.push(("authorization", h));
    }
    let body = serde_json::to_vec(&body).expect("json");
    send(addr, Method::POST, "/v1/users/authorize", &headers, body).await
}

fn admin_body() -> serde_json::Value {
    json!({"username": DEMO_ADMIN.0, "password": DEMO_ADMIN.1})
}

#[tokio::test]
async fn after_the_sunset_a_header_login_is_served_and_a_body_login_refused_naming_its_user() {
    // The version known (R1 never looks it up itself): 8.0 reads the header.
    let toml = format!("{RETIRED}[rules]\nrs_version = \"8.0.2\"\n");
    let (_sim, audit, shim) = audited(SimVersion::V8_0, &toml).await;
    let header_login = login(shim.addr, Some(&admin()), json!({})).await;
    assert_eq!(header_login.status, 200, "the successor form is served");
    let body_login = login(shim.addr, None, admin_body()).await;
    assert_eq!(body_login.status, 410, "the deprecated form is retired");
    assert_eq!(body_login.json()["error_code"], "route_sunset");
    // A header *and* a body login still carries credentials in the body: retired too.
    let both = login(shim.addr, Some(&viewer()), admin_body()).await;
    assert_eq!(both.status, 410);
    let recs = records(&audit);
    assert_eq!(recs.len(), 3, "{recs:#?}");
    assert!(recs[0].get("phase").is_none(), "not gated: {}", recs[0]);
    assert_eq!(recs[1]["phase"], "refused");
    assert_eq!(recs[1]["user"], DEMO_ADMIN.0, "the body's user, not null");
    assert_eq!(recs[1]["verified"], false);
    // On 8.0 the cluster reads the header: the viewer is who logs in.
    assert_eq!(recs[2]["user"], DEMO_VIEWER.0);
}

#[tokio::test]
async fn a_body_login_is_exempted_by_its_user_once_the_cluster_verifies_the_body_credentials() {
    let toml = format!(
        "{RETIRED}[[lifecycle.authorize.exemptions]]\nuser = \"{}\"\n",
        DEMO_ADMIN.0
    );
    let (_sim, audit, shim) = audited(SimVersion::V8_0, &toml).await;
    let served = login(shim.addr, None, admin_body()).await;
    assert_eq!(served.status, 200, "exempt: translated and served");
    assert!(served.json()["access_token"].is_string());
    let forged = json!({"username": DEMO_ADMIN.0, "password": "wrong"});
    let refused = login(shim.addr, None, forged).await;
    assert_eq!(
        refused.status, 410,
        "a claimed user the cluster refuses is not exempt"
    );
    let recs = records(&audit);
    assert_eq!(recs[0]["phase"], "exempt", "{}", recs[0]);
    assert_eq!(recs[0]["user"], DEMO_ADMIN.0);
    assert_eq!(recs[0]["verified"], true);
    assert_eq!(recs[1]["phase"], "refused");
    assert_eq!(recs[1]["user"], DEMO_ADMIN.0);
}

#[tokio::test]
async fn below_7_8_2_a_login_with_a_header_and_a_body_is_audited_as_the_body_user() {
    let (_sim, audit, shim) = audited(SimVersion::V7_4, "").await;
    let reply = login(shim.addr, Some(&viewer()), admin_body()).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let recs = records(&audit);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["user"], DEMO_ADMIN.0, "the body wins below 7.8.2");
    assert_eq!(recs[0]["verified"], true);
}

#[test]
fn check_says_which_calls_each_lifecycle_applies_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("shim.toml");
    let toml = format!(
        "[upstream]\nurl = \"http://127.0.0.1:9\"\n{RETIRED}\
         [lifecycle.module_upgrade]\nsunset_date = \"2027-06-30\"\n"
    );
    std::fs::write(&cfg, toml).expect("config");
    let out = support::shim::run_binary(&["check", "--config", &cfg.display().to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("lifecycle.authorize applies to: credentials in the body (a header-only login is the successor)"),
        "{text}"
    );
    assert!(
        text.contains("lifecycle.module_upgrade applies to: every call of the route"),
        "{text}"
    );
}
