//! F1's end-to-end tests' calls and reads (`tests/rules_fields_role*.rs`): roles and users made
//! on a simulated cluster, the user writes sent through the shim or natively, the rule's audit
//! hits and the look-ups the cluster saw.

use super::audit_file::{records, AuditFile};
use super::harness::Sim;
use super::{send, Reply};
use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// F1 in `translate`.
pub const TRANSLATE: &str = "[rules.field_user_role]\nmode = \"translate\"";

/// `method path` with a JSON `body` and `auth` (none when empty).
pub async fn write_user(
    addr: SocketAddr,
    method: Method,
    path: &str,
    auth: &str,
    body: &Value,
) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    if !auth.is_empty() {
        headers.push(("authorization", auth));
    }
    let bytes = serde_json::to_vec(body).expect("json");
    send(addr, method, path, &headers, bytes).await
}

/// `POST /v1/users` of the old body (`role: db_viewer`) for a user `name`.
pub async fn create_user(addr: SocketAddr, auth: &str, name: &str) -> Reply {
    let body = json!({"username": name, "password": "pw-of-user-123", "role": "db_viewer"});
    write_user(addr, Method::POST, "/v1/users", auth, &body).await
}

/// `PUT /v1/users/{uid}` of the old body `{"role": "db_viewer"}`.
pub async fn put_role(addr: SocketAddr, auth: &str, uid: u64) -> Reply {
    let path = format!("/v1/users/{uid}");
    write_user(
        addr,
        Method::PUT,
        &path,
        auth,
        &json!({"role": "db_viewer"}),
    )
    .await
}

/// A role on `sim`; its uid.
pub async fn role(sim: &Sim, name: &str, management: &str) -> u64 {
    let reply = sim
        .post("/v1/roles", json!({"name": name, "management": management}))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.json()["uid"].as_u64().expect("uid")
}

/// A user `name` made on `sim` directly with `role_uids`; its uid.
pub async fn seeded_user(sim: &Sim, name: &str, role_uids: &[u64]) -> u64 {
    let body = json!({"username": name, "password": "pw-of-user-123", "role_uids": role_uids});
    let reply = sim.post("/v1/users", body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.json()["uid"].as_u64().expect("uid")
}

/// The user `name` as the cluster's state shows it.
pub fn user(sim: &Sim, name: &str) -> Value {
    let state = sim.sim.snapshot();
    state["users"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["username"] == name).cloned())
        .unwrap_or_else(|| panic!("no user {name}"))
}

/// F1's audit hits (each record's first field), oldest first.
pub fn role_hits(audit: &AuditFile) -> Vec<Value> {
    records(audit)
        .into_iter()
        .filter(|r| r["rule"] == "field_user_role")
        .map(|r| r["detail"]["fields"][0].clone())
        .collect()
}

/// The `Authorization` of every `GET /v1/roles` the cluster saw.
pub fn roles_look_ups(sim: &Sim) -> Vec<Option<String>> {
    sim.sim
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::GET && r.path == "/v1/roles")
        .map(|r| r.authorization)
        .collect()
}

/// The body of the last `method path` the cluster saw, as JSON.
pub fn sent_body(sim: &Sim, method: Method, path: &str) -> Value {
    let sent = sim.sim.requests();
    let req = sent
        .iter()
        .rfind(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("no {method} {path} sent"));
    serde_json::from_slice(&req.body).expect("json")
}

/// The five roles RS 7.2.4 stopped creating (API-CATALOGUE §9.2; the two ACLs are "Not
/// Dangerous" and "Read Only"), as F2's `predefined_absent` lists them.
pub const PREDEFINED_ROLES: [&str; 5] = [
    "Cluster Member",
    "Cluster Viewer",
    "DB Member",
    "DB Viewer",
    "None",
];

/// A cluster of `version` with one role and one ACL of its own (the lists are not empty).
pub async fn with_own_role_and_acl(version: SimVersion) -> Sim {
    let sim = Sim::start(version).await;
    let r = sim
        .post(
            "/v1/roles",
            json!({"name": "DBA", "management": "db_member"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = sim
        .post("/v1/redis_acls", json!({"name": "Geo", "acl": "~* +@geo"}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    sim
}

/// The same roles on both clusters of a differential pair, numbered alike: a decoy role *named*
/// db_viewer (cluster_viewer management), then "Admins" (admin) and "Viewers" (db_viewer), whose
/// uids it returns.
pub async fn twin_roles(old: &Sim, new: &Sim) -> (u64, u64) {
    let mut uids = Vec::new();
    for sim in [old, new] {
        role(sim, "db_viewer", "cluster_viewer").await;
        uids.push((
            role(sim, "Admins", "admin").await,
            role(sim, "Viewers", "db_viewer").await,
        ));
    }
    assert_eq!(uids[0], uids[1], "both clusters numbered alike");
    uids[0]
}
