//! The field rules (API-CATALOGUE §9, issue 23) through a real third-party client: the
//! `redis-enterprise` crate's own typed calls go through the shim in front of the simulator and
//! are compared with the same calls made by the same client directly to a cluster. F1: its user
//! create and role update carry `role`; F2: it reads the roles and Redis ACL lists; F3: it
//! creates a database with `authentication_redis_pass`; F5 (and F14's `use_ipv6` alias): its
//! cluster update (the crate's own call, whose body is untyped JSON) and its typed cluster read.
//! The crate cannot send F4's `module_id` (its `ModuleConfig` has none), and F6's and F7's keys
//! only in such untyped bodies, which would test nothing the field differentials
//! (`tests/rules_fields.rs`) do not. The R-rules through the same crate:
//! `tests/third_party_catalogue.rs`.

mod support;

use deprecation_shim::sim::SimVersion;
use http::Method;
use redis_enterprise::{CreateDatabaseRequest, CreateUserRequest, UpdateUserRequest};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use support::audit_file::{records, AuditFile};
use support::harness::{pair, Shim, Sim};
use support::roles::{
    role, role_hits, roles_look_ups, sent_body, twin_roles, user, with_own_role_and_acl,
    PREDEFINED_ROLES, TRANSLATE,
};
use support::shim::spawn_shim_logging;
use support::third_party::{as_json, client};

const EMAIL: &str = "ops@example.com";
const USER_PASS: &str = "pw-of-user-123";

fn create_request(role: &str) -> CreateUserRequest {
    CreateUserRequest::builder()
        .email(EMAIL)
        .password(USER_PASS)
        .role(role)
        .build()
}

/// The records of `rule` once there are `n` (replies are observed after they leave), at most
/// 5 s.
async fn rule_records(audit: &Path, rule: &str, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let found: Vec<Value> = records(audit)
            .into_iter()
            .filter(|r| r["rule"] == rule)
            .collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} {rule} records: {:#?}", records(audit));
}

#[tokio::test]
async fn f1_translate_the_crates_user_create_and_role_update_reach_8_2_as_role_uids() {
    let audit = AuditFile::new();
    let (old, old_sim, shim, new_sim) =
        pair(SimVersion::V7_22, SimVersion::V8_2, &audit.toml(TRANSLATE)).await;
    // The same roles on both clusters; a role *named* db_viewer is a distractor.
    let (admins, viewers) = twin_roles(&old_sim, &new_sim).await;
    let (direct, through) = (client(old), client(shim.addr));
    new_sim.clear_requests();

    // Create: the crate's typed reply parses both ways.
    let native = direct.users().create(create_request("db_viewer")).await;
    let shimmed = through.users().create(create_request("db_viewer")).await;
    let (native, shimmed) = (native.expect("native create"), shimmed.expect("shimmed"));
    assert_eq!(
        (native.email.as_str(), native.role.as_str()),
        (EMAIL, "db_viewer")
    );
    assert_eq!((shimmed.email, shimmed.role), (native.email, native.role));
    assert_eq!(native.role_uids, None);
    assert_eq!(shimmed.role_uids, Some(vec![viewers as u32]));
    let sent = sent_body(&new_sim, Method::POST, "/v1/users");
    assert_eq!(
        sent,
        json!({"email": EMAIL, "password": USER_PASS, "role_uids": [viewers]})
    );
    assert_eq!(user(&new_sim, EMAIL)["role_uids"], json!([viewers]));

    // Update: an admin made on each cluster directly, given the old `role` by the crate.
    let admin_of = |uid| {
        CreateUserRequest::builder()
            .email("lead@example.com")
            .password(USER_PASS)
            .role_uids(vec![uid as u32])
            .build()
    };
    let a = direct.users().create(admin_of(admins)).await.expect("a");
    let b = client(new_sim.addr).users().create(admin_of(admins)).await;
    assert_eq!(a.uid, b.expect("b").uid, "the same uid on both clusters");
    let update = || UpdateUserRequest::builder().role("db_viewer").build();
    let native = direct
        .users()
        .update(a.uid, update())
        .await
        .expect("native");
    let shimmed = through.users().update(a.uid, update()).await.expect("shim");
    assert_eq!(
        (native.role.as_str(), shimmed.role.as_str()),
        ("db_viewer", "db_viewer")
    );
    assert_eq!(native.email, shimmed.email);
    assert_eq!(shimmed.role_uids, Some(vec![viewers as u32]));
    let path = format!("/v1/users/{}", a.uid);
    assert_eq!(
        sent_body(&new_sim, Method::PUT, &path),
        json!({"role_uids": [viewers]})
    );
    assert_eq!(user(&old_sim, "lead@example.com")["role"], "db_viewer");
    assert_eq!(
        user(&new_sim, "lead@example.com")["role_uids"],
        json!([viewers])
    );

    // One look-up, then its cached answer; both writes audited as found and renamed.
    assert_eq!(roles_look_ups(&new_sim).len(), 1);
    let renamed = json!({"rule": "field_user_role", "field": "/role", "action": "renamed",
                         "value": "db_viewer", "to": "/role_uids", "lookup": "found"});
    assert_eq!(role_hits(&audit), vec![renamed.clone(), renamed]);
    let text = std::fs::read_to_string(&audit).expect("audit");
    assert!(!text.contains(USER_PASS));
}

#[tokio::test]
async fn f1_auto_observes_the_crates_create_and_forwards_its_bytes_as_they_came() {
    let audit = AuditFile::new();
    let (old, old_sim, shim, new_sim) =
        pair(SimVersion::V8_2, SimVersion::V8_2, &audit.toml("")).await;
    for sim in [&old_sim, &new_sim] {
        role(sim, "Viewers", "db_viewer").await;
        sim.clear_requests();
    }
    let native = client(old)
        .users()
        .create(create_request("db_viewer"))
        .await;
    let shimmed = client(shim.addr)
        .users()
        .create(create_request("db_viewer"))
        .await;
    assert_eq!(
        as_json(&native.expect("native")),
        as_json(&shimmed.expect("shimmed"))
    );
    let body_of = |sim: &Sim| {
        let sent = sim.requests();
        let create = sent.iter().find(|r| r.path == "/v1/users").expect("sent");
        create.body.clone()
    };
    assert_eq!(body_of(&new_sim), body_of(&old_sim), "byte for byte");
    assert!(
        roles_look_ups(&new_sim).is_empty(),
        "observe looks nothing up"
    );
    let rec = rule_records(&audit, "field_user_role", 1).await.remove(0);
    assert_eq!(rec["rule_action"], "observed");
    assert_eq!(rec["detail"]["fields"][0]["field"], "/role");
    assert_eq!(rec["detail"]["fields"][0]["value"], "db_viewer");
    assert_eq!(rec["detail"]["fields"][0].get("to"), None);
}

#[tokio::test]
async fn f2_the_crates_roles_and_acl_lists_parse_alike_and_the_absent_names_are_audited() {
    let sim = with_own_role_and_acl(SimVersion::V7_22).await;
    let audit = AuditFile::new();
    let toml = audit.toml("[rules]\nrs_version = \"7.22.2-170\"\n");
    let shim = Shim::in_front_of(sim.addr, &toml).await;
    let (direct, through) = (client(sim.addr), client(shim.addr));
    let roles = direct.roles().list().await.expect("roles");
    assert_eq!(
        as_json(&roles),
        as_json(
            &through
                .roles()
                .list()
                .await
                .expect("roles through the shim")
        )
    );
    assert!(roles.iter().any(|r| r.name == "DBA"));
    let acls = direct.redis_acls().list().await.expect("acls");
    assert_eq!(
        as_json(&acls),
        as_json(
            &through
                .redis_acls()
                .list()
                .await
                .expect("acls through the shim")
        )
    );
    assert!(acls.iter().any(|a| a.name == "Geo"));
    let recs = rule_records(&audit, "field_predefined_roles", 2).await;
    let detail_of = |route: &str| {
        let rec = recs.iter().find(|r| r["route"] == route).expect(route);
        assert_eq!(rec["rule_action"], "observed");
        rec["detail"].clone()
    };
    assert_eq!(
        detail_of("/v1/roles"),
        json!({"predefined_absent": PREDEFINED_ROLES})
    );
    assert_eq!(
        detail_of("/v1/redis_acls"),
        json!({"predefined_absent": ["Not Dangerous", "Read Only"]})
    );
}

const REDIS_PASS: &str = "s3cret-redis-pass";

fn database_request(name: &str) -> CreateDatabaseRequest {
    CreateDatabaseRequest::builder()
        .name(name)
        .memory_size(1024 * 1024)
        .authentication_redis_pass(REDIS_PASS)
        .build()
}

/// F3 through the binary at `RUST_LOG=trace`, so that its whole log can be searched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f3_the_crates_database_create_is_observed_by_name_and_its_password_written_nowhere() {
    let old = Sim::timed(SimVersion::V7_22, Duration::from_millis(50)).await;
    let new = Sim::timed(SimVersion::V8_2, Duration::from_millis(50)).await;
    let (audit, dir) = (AuditFile::new(), tempfile::tempdir().expect("tempdir"));
    let cfg = dir.path().join("shim.toml");
    let toml = audit.toml(&format!("[upstream]\nurl = \"http://{}\"", new.addr));
    std::fs::write(&cfg, toml).expect("config");
    let mut proc = spawn_shim_logging(&["--config", cfg.to_str().expect("utf8")], "trace");

    let native = client(old.addr)
        .databases()
        .create(database_request("pw"))
        .await;
    let shimmed = client(proc.addr)
        .databases()
        .create(database_request("pw"))
        .await;
    let (native, shimmed) = (native.expect("native create"), shimmed.expect("shimmed"));
    assert_eq!((native.name.as_str(), shimmed.name.as_str()), ("pw", "pw"));
    assert_eq!(
        native.authentication_redis_pass,
        shimmed.authentication_redis_pass
    );
    let stored = |sim: &Sim, uid: u32| {
        let uid = u64::from(uid);
        let state = sim.snapshot();
        let bdb = state["bdbs"]
            .as_array()
            .and_then(|b| b.iter().find(|b| b["uid"].as_u64() == Some(uid)).cloned());
        bdb.expect("stored")["authentication_redis_pass"].clone()
    };
    assert_eq!(stored(&old, native.uid), stored(&new, shimmed.uid));
    let sent = sent_body(&new, Method::POST, "/v1/bdbs");
    assert_eq!(
        sent["authentication_redis_pass"], REDIS_PASS,
        "forwarded as it came"
    );

    let rec = rule_records(&audit, "field_redis_pass", 1).await.remove(0);
    assert_eq!(rec["rule_action"], "observed");
    assert_eq!(
        rec["detail"]["fields"],
        json!([{"rule": "field_redis_pass", "field": "/authentication_redis_pass",
                "action": "observed", "present": true}])
    );
    let text = std::fs::read_to_string(&audit).expect("audit");
    assert!(!text.contains(REDIS_PASS), "audit: {text}");
    // The access line is written after the reply: wait for it before reading the whole log.
    let seen = proc.wait_for_log("/v1/bdbs", Duration::from_secs(10));
    let log = proc.stderr();
    assert!(seen.is_ok(), "the trace log saw the call:\n{log}");
    assert!(!log.contains(REDIS_PASS), "log:\n{log}");
}

#[tokio::test]
async fn f5_the_crates_cluster_update_lands_on_8_2_and_its_typed_read_keeps_use_ipv6_by_f14() {
    let audit = AuditFile::new();
    let toml = audit.toml("[rules.field_reply_aliases]\nmode = \"translate\"");
    let (old, _old_sim, shim, new_sim) = pair(SimVersion::V8_0, SimVersion::V8_2, &toml).await;
    let (direct, through) = (client(old), client(shim.addr));
    let update = json!({"use_ipv6": false});
    direct
        .cluster()
        .update(update.clone())
        .await
        .expect("native");
    through
        .cluster()
        .update(update)
        .await
        .expect("through the shim");
    let sent = sent_body(&new_sim, Method::PUT, "/v1/cluster");
    assert_eq!(sent, json!({"use_external_ipv6": false}));

    // The crate's typed read: 8.0 natively, 8.2 natively (the old key gone), 8.2 through the
    // shim (the old key added back by F14 from its successor).
    let native = direct.cluster().info().await.expect("8.0");
    let bare = client(new_sim.addr).cluster().info().await.expect("8.2");
    let shimmed = through
        .cluster()
        .info()
        .await
        .expect("8.2 through the shim");
    assert_eq!(native.use_ipv6, Some(false));
    assert_eq!((bare.use_ipv6, bare.use_external_ipv6), (None, Some(false)));
    assert_eq!(
        (shimmed.use_ipv6, shimmed.use_external_ipv6),
        (Some(false), Some(false))
    );
    assert_eq!(shimmed.name, native.name);

    let rec = rule_records(&audit, "field_use_ipv6", 1).await.remove(0);
    assert_eq!(rec["rule_action"], "translated");
    assert_eq!(
        rec["detail"]["fields"],
        json!([{"rule": "field_use_ipv6", "field": "/use_ipv6", "action": "renamed",
                "value": false, "to": "/use_external_ipv6"}])
    );
    let rec = rule_records(&audit, "field_reply_aliases", 1)
        .await
        .remove(0);
    assert_eq!(
        rec["detail"]["aliases"],
        json!([{"field": "use_ipv6", "from": "use_external_ipv6", "objects": 1}])
    );
}
