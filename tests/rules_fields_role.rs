//! F1 in `translate` (API-CATALOGUE §9.1, issue 23): a user's `role` string becomes
//! `role_uids` by the roles' look-up. The differential tests on both routes (the old body
//! natively on 7.22, the same body through the shim on 8.2, the same user), every outcome that
//! forwards the body as it came (`none`, `ambiguous`, `bound`, `failed`), and the single-flight
//! per credentials. The look-up's 401 and timeout, and its counters on `/metrics`:
//! `tests/rules_fields_role_failures.rs`.

mod support;

use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::{json, Value};
use support::audit_file::{records, AuditFile};
use support::harness::{audited, pair, Sim};
use support::legacy::{admin, viewer};
use support::roles::{
    create_user, put_role, role, role_hits, roles_look_ups, seeded_user, sent_body, twin_roles,
    user, TRANSLATE,
};

#[tokio::test]
async fn f1_translate_creates_the_user_with_the_role_uid_the_old_role_meant() {
    let audit = AuditFile::new();
    let (old, old_sim, shim, new_sim) =
        pair(SimVersion::V7_22, SimVersion::V8_2, &audit.toml(TRANSLATE)).await;
    // Distractors: a role *named* db_viewer that manages something else, an admin role.
    role(&new_sim, "db_viewer", "cluster_viewer").await;
    role(&new_sim, "DBA", "admin").await;
    let viewers = role(&new_sim, "Viewers", "db_viewer").await;
    new_sim.sim.clear_requests();
    assert_eq!(create_user(old, &admin(), "ops").await.status, 200);
    let reply = create_user(shim.addr, &admin(), "ops").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let (native, shimmed) = (user(&old_sim, "ops"), user(&new_sim, "ops"));
    assert_eq!(native["role"], "db_viewer");
    assert_eq!(shimmed["role"], native["role"]);
    assert_eq!(shimmed["role_uids"], json!([viewers]));
    let sent = new_sim.sim.requests();
    let create = sent
        .iter()
        .find(|r| r.method == Method::POST && r.path == "/v1/users")
        .expect("create sent");
    let body: Value = serde_json::from_slice(&create.body).expect("json");
    assert_eq!(body.get("role"), None);
    assert_eq!(body["role_uids"], json!([viewers]));
    assert!(sent
        .iter()
        .any(|r| r.path == "/v1/bdbs?fields=uid,roles_permissions"));
    assert_eq!(roles_look_ups(&new_sim), vec![Some(admin())]);
    assert_role_found_and_renamed(&audit);
    let text = std::fs::read_to_string(&audit).expect("audit");
    assert!(!text.contains("pw-of-user-123"));
}

/// The shim's hit for a create on an 8.2 cluster set up by `setup`, and whether the body went
/// as it came.
async fn outcome_after<F, Fut>(setup: F) -> (Value, bool)
where
    F: FnOnce(Sim) -> Fut,
    Fut: std::future::Future<Output = Sim>,
{
    let (sim, audit, shim) = audited(SimVersion::V8_2, TRANSLATE).await;
    let sim = setup(sim).await;
    sim.sim.clear_requests();
    let reply = create_user(shim.addr, &admin(), "ops").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let sent = sim.sim.requests();
    let create = sent
        .iter()
        .find(|r| r.path == "/v1/users")
        .expect("create sent");
    let body: Value = serde_json::from_slice(&create.body).expect("json");
    let untouched = body["role"] == "db_viewer" && body.get("role_uids").is_none();
    (role_hits(&audit).pop().expect("audited"), untouched)
}

#[tokio::test]
async fn f1_none_ambiguous_and_bound_forward_the_role_untouched_and_say_which() {
    let (hit, untouched) = outcome_after(|sim| async move {
        role(&sim, "DBA", "admin").await;
        sim
    })
    .await;
    assert!(untouched);
    assert_eq!(
        (hit["action"].clone(), hit["lookup"].clone()),
        (json!("untouched"), json!("none"))
    );
    let (hit, untouched) = outcome_after(|sim| async move {
        role(&sim, "A", "db_viewer").await;
        role(&sim, "B", "db_viewer").await;
        sim
    })
    .await;
    assert!(untouched);
    assert_eq!(hit["lookup"], "ambiguous");
    let (hit, untouched) = outcome_after(|sim| async move {
        let uid = role(&sim, "ACL viewers", "db_viewer").await;
        let perms = json!([{"role_uid": uid, "redis_acl_uid": 1}]);
        let reply = sim
            .post(
                "/v1/bdbs",
                json!({"name": "acl-db", "roles_permissions": perms}),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        sim
    })
    .await;
    assert!(untouched);
    assert_eq!(hit["lookup"], "bound");
    assert_eq!(hit["value"], "db_viewer");
}

#[tokio::test]
async fn f1_a_failed_look_up_forwards_the_role_untouched_and_is_not_cached() {
    let (sim, audit, shim) = audited(SimVersion::V8_2, TRANSLATE).await;
    let viewers = role(&sim, "Viewers", "db_viewer").await;
    let fault =
        json!({"status": {"status": 500, "method": "GET", "path_prefix": "/v1/roles", "count": 1}});
    sim.sim.faults().merge_json(&fault).expect("fault");
    assert_eq!(create_user(shim.addr, &admin(), "first").await.status, 200);
    assert_eq!(user(&sim, "first").get("role_uids"), None);
    let hit = role_hits(&audit).pop().expect("audited");
    assert_eq!(
        (hit["action"].clone(), hit["lookup"].clone()),
        (json!("untouched"), json!("failed"))
    );
    // The failure was not cached: the next call looks up again and is translated.
    assert_eq!(create_user(shim.addr, &admin(), "second").await.status, 200);
    assert_eq!(user(&sim, "second")["role_uids"], json!([viewers]));
    assert_eq!(role_hits(&audit).pop().expect("audited")["lookup"], "found");
}

#[tokio::test]
async fn f1_concurrent_creates_share_one_look_up_per_callers_credentials() {
    let (sim, _audit, shim) = audited(SimVersion::V8_2, TRANSLATE).await;
    let viewers = role(&sim, "Viewers", "db_viewer").await;
    sim.sim.clear_requests();
    sim.sim
        .faults()
        .set_latency(std::time::Duration::from_millis(50));
    let addr = shim.addr;
    let calls: Vec<_> = (0..8)
        .map(|i| tokio::spawn(async move { create_user(addr, &admin(), &format!("u{i}")).await }))
        .collect();
    for call in calls {
        assert_eq!(call.await.expect("joined").status, 200);
    }
    assert_eq!(roles_look_ups(&sim), vec![Some(admin())], "one look-up");
    for i in 0..8 {
        assert_eq!(user(&sim, &format!("u{i}"))["role_uids"], json!([viewers]));
    }
    // Another caller's credentials never reuse the admin's answer: it looks up as itself (and
    // the cluster then refuses its create, as it would natively).
    let reply = create_user(shim.addr, &viewer(), "v").await;
    assert_eq!(reply.status, 403);
    assert_eq!(roles_look_ups(&sim), vec![Some(admin()), Some(viewer())]);
}

#[tokio::test]
async fn f1_translate_put_gives_the_user_the_role_the_old_body_gave_natively() {
    let audit = AuditFile::new();
    let (old, old_sim, shim, new_sim) =
        pair(SimVersion::V7_22, SimVersion::V8_2, &audit.toml(TRANSLATE)).await;
    // The same roles and user on both clusters; a role *named* db_viewer is a distractor.
    let (admins, viewers) = twin_roles(&old_sim, &new_sim).await;
    let uid = seeded_user(&old_sim, "ops", &[admins]).await;
    assert_eq!(
        uid,
        seeded_user(&new_sim, "ops", &[admins]).await,
        "numbered alike"
    );
    new_sim.sim.clear_requests();
    let native = put_role(old, &admin(), uid).await;
    let shimmed = put_role(shim.addr, &admin(), uid).await;
    assert_eq!(
        (native.status.as_u16(), shimmed.status.as_u16()),
        (200, 200),
        "{:?}",
        shimmed.body
    );
    let keys = |v: Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
    assert_eq!(
        keys(native.json()),
        keys(shimmed.json()),
        "same reply shape"
    );
    assert!(!String::from_utf8_lossy(&shimmed.body).contains("pw-of-user-123"));
    // Both users now hold the old role's access and lost the admin role they had; the shimmed
    // one by the uid of the one role that means it (the simulator maps no legacy `role` onto
    // a uid of its own: sim/users_update.rs).
    let (before, after) = (user(&old_sim, "ops"), user(&new_sim, "ops"));
    assert_eq!(
        (before["role"].clone(), after["role"].clone()),
        (json!("db_viewer"), json!("db_viewer"))
    );
    assert_eq!(before.get("role_uids"), None);
    assert_eq!(after["role_uids"], json!([viewers]));
    assert_eq!(shimmed.json()["role_uids"], json!([viewers]));
    let body = sent_body(&new_sim, Method::PUT, &format!("/v1/users/{uid}"));
    assert_eq!(body, json!({"role_uids": [viewers]}));
    assert_eq!(roles_look_ups(&new_sim), vec![Some(admin())]);
    assert_role_found_and_renamed(&audit);
}

/// The last F1 record: translated, `role` renamed to `role_uids` by a look-up that found it.
fn assert_role_found_and_renamed(audit: &AuditFile) {
    let rec = records(audit)
        .into_iter()
        .rfind(|r| r["rule"] == "field_user_role")
        .expect("audited");
    assert_eq!(rec["rule_action"], "translated");
    assert_eq!(
        rec["detail"]["fields"],
        json!([{"rule": "field_user_role", "field": "/role", "action": "renamed",
                "value": "db_viewer", "to": "/role_uids", "lookup": "found"}])
    );
}
