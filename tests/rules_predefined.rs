//! F2's reply side (API-CATALOGUE §9.2, issue 23): through the shim in front of a 7.22
//! simulator, a caller reading `GET /v1/roles` and `GET /v1/redis_acls` gets the cluster's reply
//! byte for byte, and the audit says which of the predefined names removed in 7.2.4 the reply
//! lacked, once per caller and route per window. With the simulator's `seeded` switch (the
//! names kept because in use), nothing is absent and nothing is recorded. Replies over 1 MiB
//! or not JSON pass untouched, counted.

mod support;

use deprecation_shim::sim::{RouteMatch, SimVersion};
use serde_json::{json, Value};
use std::time::Duration;
use support::audit_file::{records, AuditFile};
use support::legacy::admin;
use support::roles::{with_own_role_and_acl, PREDEFINED_ROLES as ROLES};
use support::{bodies_skipped, get, shim_app, Reply};

const AT_7_22: &str = "[rules]\nrs_version = \"7.22.2-170\"\n";

fn same_bytes(through: &Reply, native: &Reply, path: &str) {
    assert_eq!(through.status, native.status, "{path}");
    assert_eq!(through.body, native.body, "{path}: byte for byte");
    assert_eq!(
        through.header("content-length"),
        native.header("content-length"),
        "{path}"
    );
}

fn f2_records(audit: &AuditFile, route: &str) -> Vec<Value> {
    records(audit)
        .into_iter()
        .filter(|r| r["rule"] == "field_predefined_roles" && r["route"] == route)
        .collect()
}

async fn wait_record(audit: &AuditFile, route: &str) -> Value {
    for _ in 0..100 {
        if let Some(r) = f2_records(audit, route).into_iter().next() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no field_predefined_roles record of {route}");
}

#[tokio::test]
async fn f2_on_7_22_a_reader_of_both_lists_gets_them_byte_for_byte_and_the_absent_names_are_audited(
) {
    let sim = with_own_role_and_acl(SimVersion::V7_22).await;
    let audit = AuditFile::new();
    let (_app, shim) = shim_app(sim.addr, &audit.toml(AT_7_22)).await;
    let auth = admin();
    for path in ["/v1/roles", "/v1/redis_acls"] {
        let native = get(sim.addr, path, &auth).await;
        for _ in 0..2 {
            let through = get(shim.addr, path, &auth).await;
            same_bytes(&through, &native, path);
        }
    }
    let rec = wait_record(&audit, "/v1/roles").await;
    assert_eq!(rec["method"], "GET");
    assert_eq!(rec["rule_action"], "observed");
    assert_eq!(rec["cluster_version"], "7.22.2-170");
    assert_eq!(rec["detail"], json!({"predefined_absent": ROLES}));
    let rec = wait_record(&audit, "/v1/redis_acls").await;
    assert_eq!(
        rec["detail"],
        json!({"predefined_absent": ["Not Dangerous", "Read Only"]})
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    for route in ["/v1/roles", "/v1/redis_acls"] {
        assert_eq!(
            f2_records(&audit, route).len(),
            1,
            "{route}: one record per caller and route in the window"
        );
    }
}

#[tokio::test]
async fn f2_with_the_predefined_names_seeded_nothing_absent_is_recorded() {
    let sim = with_own_role_and_acl(SimVersion::V7_22).await;
    sim.sim
        .faults()
        .merge_json(&json!({"predefined_roles": "seeded"}))
        .expect("switch");
    let audit = AuditFile::new();
    let (_app, shim) = shim_app(sim.addr, &audit.toml(AT_7_22)).await;
    let auth = admin();
    for path in ["/v1/roles", "/v1/redis_acls"] {
        let native = get(sim.addr, path, &auth).await;
        let names: Vec<String> = native
            .json()
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|e| e["name"].as_str().map(str::to_owned))
            .collect();
        assert!(
            names.len() >= 3,
            "{path}: the seeded names are listed: {names:?}"
        );
        same_bytes(&get(shim.addr, path, &auth).await, &native, path);
    }
    // A control read whose record does appear, so the absence below is not a race.
    sim.sim.faults().clear();
    get(shim.addr, "/v1/redis_acls", &admin()).await;
    wait_record(&audit, "/v1/redis_acls").await;
    assert!(f2_records(&audit, "/v1/roles").is_empty());
    let acls = f2_records(&audit, "/v1/redis_acls");
    assert_eq!(acls.len(), 1, "only the control read: {acls:?}");
}

#[tokio::test]
async fn f2_replies_over_1_mib_or_not_json_pass_untouched_and_are_counted() {
    let sim = with_own_role_and_acl(SimVersion::V7_22).await;
    let big = "+get ".repeat(230_000);
    let r = sim
        .post("/v1/redis_acls", json!({"name": "Huge", "acl": big}))
        .await;
    assert_eq!(r.status, 200);
    let audit = AuditFile::new();
    let (app, shim) = shim_app(sim.addr, &audit.toml(AT_7_22)).await;
    let auth = admin();
    let native = get(sim.addr, "/v1/redis_acls", &auth).await;
    assert!(native.body.len() > 1024 * 1024, "{}", native.body.len());
    same_bytes(
        &get(shim.addr, "/v1/redis_acls", &auth).await,
        &native,
        "large",
    );
    assert_eq!(bodies_skipped(&app, "reply_too_large"), 1.0);

    let on = RouteMatch::method("GET", "/v1/roles");
    sim.sim.faults().answer_invalid_json(on);
    let native = get(sim.addr, "/v1/roles", &auth).await;
    same_bytes(&get(shim.addr, "/v1/roles", &auth).await, &native, "cut");
    assert_eq!(bodies_skipped(&app, "reply_not_json"), 1.0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(records(&audit)
        .iter()
        .all(|r| r["rule"] != "field_predefined_roles"));
}

#[tokio::test]
async fn f2_off_reads_nothing_and_on_an_unknown_version_the_read_is_recorded_with_why() {
    let sim = with_own_role_and_acl(SimVersion::V7_22).await;
    let off = "[rules.field_predefined_roles]\nmode = \"off\"\n";
    let audit = AuditFile::new();
    let (_app, shim) = shim_app(sim.addr, &audit.toml(&format!("{AT_7_22}{off}"))).await;
    get(shim.addr, "/v1/roles", &admin()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(f2_records(&audit, "/v1/roles").is_empty(), "off");

    let audit = AuditFile::new();
    let (_app, shim) = shim_app(sim.addr, &audit.toml("")).await;
    get(shim.addr, "/v1/redis_acls", &admin()).await;
    let rec = wait_record(&audit, "/v1/redis_acls").await;
    assert_eq!(rec["detail"]["why"], "version_unknown");
    assert!(rec.get("cluster_version").is_none_or(Value::is_null));
}
