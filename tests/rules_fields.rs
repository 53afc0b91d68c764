//! Field rules F1, F3–F7 on the request path (API-CATALOGUE §9, issue 23), each as a
//! differential test: the old body natively on the old release, the same body through the shim
//! on the new one, the same final cluster state. Plus what is never inspected.

mod support;

use bytes::Bytes;
use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::{json, Value};
use support::audit_file::{records, AuditFile};
use support::harness::{pair, Sim};
use support::legacy::admin;
use support::{send, Reply};

async fn send_json(addr: std::net::SocketAddr, method: Method, path: &str, body: &Value) -> Reply {
    let auth = admin();
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    send(
        addr,
        method,
        path,
        &headers,
        serde_json::to_vec(body).expect("json"),
    )
    .await
}

fn cluster(sim: &Sim) -> Value {
    sim.sim.snapshot()["cluster"].clone()
}

fn bdb_named(sim: &Sim, name: &str) -> Value {
    let state = sim.sim.snapshot();
    state["bdbs"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["name"] == name).cloned())
        .unwrap_or_else(|| panic!("no database {name}"))
}

fn field_records(audit: &AuditFile) -> Vec<Value> {
    records(audit)
        .into_iter()
        .filter(|r| r["rule"].as_str().is_some_and(|n| n.starts_with("field_")))
        .collect()
}

#[tokio::test]
async fn f5_use_ipv6_through_the_shim_on_8_2_lands_where_8_0_kept_it() {
    let audit = AuditFile::new();
    let (old, _old_sim, shim, new_sim) =
        pair(SimVersion::V8_0, SimVersion::V8_2, &audit.toml("")).await;
    let body = json!({"use_ipv6": false});
    // Control: 8.2 natively ignores the old key.
    assert_eq!(
        send_json(new_sim.addr, Method::PUT, "/v1/cluster", &body)
            .await
            .status,
        200
    );
    assert!(cluster(&new_sim).get("use_external_ipv6").is_none());
    assert_eq!(
        send_json(old, Method::PUT, "/v1/cluster", &body)
            .await
            .status,
        200
    );
    let reply = send_json(shim.addr, Method::PUT, "/v1/cluster", &body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert!(
        reply.header("deprecation").is_none(),
        "no headers unless configured"
    );
    assert_eq!(cluster(&_old_sim)["use_ipv6"], json!(false));
    assert_eq!(cluster(&new_sim)["use_external_ipv6"], json!(false));
    let rec = field_records(&audit).pop().expect("audited");
    assert_eq!(rec["rule"], "field_use_ipv6");
    assert_eq!(rec["rule_action"], "translated");
    assert_eq!(
        rec["detail"]["fields"],
        json!([{"rule": "field_use_ipv6", "field": "/use_ipv6", "action": "renamed",
                "value": false, "to": "/use_external_ipv6"}])
    );
}

#[tokio::test]
async fn f6_the_old_sentinel_key_through_the_shim_sets_what_the_new_key_sets_natively() {
    let audit = AuditFile::new();
    let (old, old_sim, shim, new_sim) =
        pair(SimVersion::V7_22, SimVersion::V7_22, &audit.toml("")).await;
    // Natively the old key is a silent no-op on ≥ 7.4.2; the new key is what works.
    let reply = send_json(
        old,
        Method::PUT,
        "/v1/cluster",
        &json!({"sentinel_tls_mode": "required"}),
    )
    .await;
    assert_eq!(reply.status, 200);
    let reply = send_json(
        shim.addr,
        Method::PUT,
        "/v1/cluster",
        &json!({"sentinel_ssl_policy": "required"}),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(cluster(&new_sim), cluster(&old_sim));
    assert_eq!(cluster(&new_sim)["sentinel_tls_mode"], "required");
    let rec = field_records(&audit).pop().expect("audited");
    assert_eq!(rec["detail"]["fields"][0]["value"], "required");
}

#[tokio::test]
async fn f7_translate_turns_a_create_with_db_conns_auditing_into_audit_settings_on_8_2() {
    let audit = AuditFile::new();
    let toml = audit.toml("[rules.field_db_conns_auditing]\nmode = \"translate\"");
    let (old, old_sim, shim, new_sim) = pair(SimVersion::V8_0, SimVersion::V8_2, &toml).await;
    let body = json!({"name": "audited", "db_conns_auditing": true, "memory_size": 1024});
    assert_eq!(
        send_json(old, Method::POST, "/v1/bdbs", &body).await.status,
        200
    );
    new_sim.clear_requests();
    let reply = send_json(shim.addr, Method::POST, "/v1/bdbs", &body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let sent = new_sim.requests();
    let sent: Value = serde_json::from_slice(&sent.last().expect("sent").body).expect("json");
    assert_eq!(
        sent,
        json!({"name": "audited", "memory_size": 1024, "audit_settings": {"audit_mode": "connection"}})
    );
    let (was, now) = (
        bdb_named(&old_sim, "audited"),
        bdb_named(&new_sim, "audited"),
    );
    assert_eq!(was["db_conns_auditing"], json!(true));
    assert_eq!(now["db_conns_auditing"], json!(true));
    assert_eq!(now["audit_settings"]["audit_mode"], "connection");
    assert_eq!(field_records(&audit)[0]["rule_action"], "translated");
}

#[tokio::test]
async fn f7_in_auto_observes_and_forwards_the_body_byte_for_byte() {
    let audit = AuditFile::new();
    let (_, _, shim, new_sim) = pair(SimVersion::V8_2, SimVersion::V8_2, &audit.toml("")).await;
    let body = json!({"name": "kept", "db_conns_auditing": true});
    new_sim.clear_requests();
    assert_eq!(
        send_json(shim.addr, Method::POST, "/v1/bdbs", &body)
            .await
            .status,
        200
    );
    assert_eq!(
        new_sim.requests()[0].body,
        Bytes::from(serde_json::to_vec(&body).unwrap())
    );
    let rec = field_records(&audit).pop().expect("audited");
    assert_eq!(rec["rule_action"], "observed");
    assert_eq!(rec["detail"]["fields"][0]["value"], json!(true));
}

#[tokio::test]
async fn f4_translate_drops_module_ids_and_the_database_gets_the_same_module() {
    let audit = AuditFile::new();
    let toml = audit.toml("[rules.field_module_id]\nmode = \"translate\"");
    let (old, old_sim, shim, new_sim) = pair(SimVersion::V7_8, SimVersion::V8_0, &toml).await;
    let modules = old_sim.sim.snapshot()["modules"].clone();
    let latest = modules
        .as_array()
        .and_then(|m| {
            m.iter()
                .filter(|m| m["module_name"] == "search")
                .max_by_key(|m| m["version"].as_u64())
        })
        .cloned()
        .expect("a search module");
    let body = json!({"name": "m", "module_list": [{
        "module_name": "search", "module_id": latest["uid"], "semantic_version": latest["semantic_version"],
        "module_args": ""}]});
    assert_eq!(
        send_json(old, Method::POST, "/v1/bdbs", &body).await.status,
        200
    );
    new_sim.clear_requests();
    assert_eq!(
        send_json(shim.addr, Method::POST, "/v1/bdbs", &body)
            .await
            .status,
        200
    );
    let requests = new_sim.requests();
    let create = requests
        .iter()
        .find(|r| r.method == Method::POST)
        .expect("sent");
    let sent: Value = serde_json::from_slice(&create.body).expect("json");
    assert_eq!(
        sent["module_list"],
        json!([{"module_name": "search", "module_args": ""}])
    );
    assert_eq!(
        bdb_named(&old_sim, "m")["module_list"],
        bdb_named(&new_sim, "m")["module_list"]
    );
    let rec = field_records(&audit).pop().expect("audited");
    assert_eq!(rec["rule"], "field_module_id");
    assert_eq!(rec["detail"]["fields"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn f3_is_observed_by_name_and_its_value_is_never_written_anywhere() {
    let audit = AuditFile::new();
    let (old, old_sim, shim, new_sim) =
        pair(SimVersion::V7_22, SimVersion::V8_2, &audit.toml("")).await;
    let body = json!({"name": "pw", "authentication_redis_pass": "s3cret-redis-pass"});
    assert_eq!(
        send_json(old, Method::POST, "/v1/bdbs", &body).await.status,
        200
    );
    let reply = send_json(shim.addr, Method::POST, "/v1/bdbs", &body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        bdb_named(&old_sim, "pw")["authentication_redis_pass"],
        bdb_named(&new_sim, "pw")["authentication_redis_pass"]
    );
    let rec = field_records(&audit).pop().expect("audited");
    assert_eq!(rec["rule"], "field_redis_pass");
    assert_eq!(
        rec["detail"]["fields"],
        json!([{"rule": "field_redis_pass", "field": "/authentication_redis_pass",
                "action": "observed", "present": true}])
    );
    let text = std::fs::read_to_string(&audit).expect("audit");
    assert!(!text.contains("s3cret-redis-pass"));
}

#[tokio::test]
async fn f1_role_is_observed_with_its_value_and_the_user_is_created_the_same_way() {
    let audit = AuditFile::new();
    let (old, old_sim, shim, new_sim) =
        pair(SimVersion::V7_22, SimVersion::V8_2, &audit.toml("")).await;
    let body = json!({"username": "ops", "password": "pw-of-ops-123", "role": "db_viewer"});
    assert_eq!(
        send_json(old, Method::POST, "/v1/users", &body)
            .await
            .status,
        200
    );
    assert_eq!(
        send_json(shim.addr, Method::POST, "/v1/users", &body)
            .await
            .status,
        200
    );
    assert_eq!(
        old_sim.sim.snapshot()["users"],
        new_sim.sim.snapshot()["users"]
    );
    let rec = field_records(&audit).pop().expect("audited");
    assert_eq!(rec["rule"], "field_user_role");
    assert_eq!(rec["detail"]["fields"][0]["value"], "db_viewer");
    let text = std::fs::read_to_string(&audit).expect("audit");
    assert!(!text.contains("pw-of-ops-123"));
}

#[tokio::test]
async fn calls_without_a_field_and_other_routes_are_not_audited() {
    let audit = AuditFile::new();
    let (_, _, shim, new_sim) = pair(SimVersion::V8_2, SimVersion::V8_2, &audit.toml("")).await;
    let plain = json!({"name": "plain"});
    assert_eq!(
        send_json(shim.addr, Method::POST, "/v1/bdbs", &plain)
            .await
            .status,
        200
    );
    assert_eq!(
        send_json(shim.addr, Method::PUT, "/v1/cluster", &json!({"name": "c"}))
            .await
            .status,
        200
    );
    assert!(field_records(&audit).is_empty());
    assert!(records(&audit).is_empty());
    assert_eq!(bdb_named(&new_sim, "plain")["name"], "plain");
}

#[tokio::test]
async fn f2_an_invalid_roles_permissions_reference_is_observed_and_the_status_relayed() {
    let audit = AuditFile::new();
    let (old, old_sim, shim, new_sim) =
        pair(SimVersion::V7_22, SimVersion::V8_2, &audit.toml("")).await;
    let body = json!({"name": "acl-db", "roles_permissions": [
        {"role_uid": "DB Member", "redis_acl_uid": 2}, {"role_uid": 3, "redis_acl_uid": 4}]});
    let native = send_json(old, Method::POST, "/v1/bdbs", &body).await;
    let through = send_json(shim.addr, Method::POST, "/v1/bdbs", &body).await;
    assert_eq!(
        through.status, native.status,
        "the cluster's status, relayed"
    );
    assert_eq!(
        bdb_named(&new_sim, "acl-db")["roles_permissions"],
        bdb_named(&old_sim, "acl-db")["roles_permissions"],
        "sent as it came"
    );
    let rec = field_records(&audit).pop().expect("audited");
    assert_eq!(rec["rule"], "field_predefined_roles");
    assert_eq!(rec["rule_action"], "observed");
    assert_eq!(
        rec["detail"]["fields"],
        json!([{"rule": "field_predefined_roles", "field": "/roles_permissions/0/role_uid",
                "action": "observed", "value": "DB Member", "why": "roles_permissions_invalid"}])
    );
}
