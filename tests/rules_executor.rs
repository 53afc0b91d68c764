//! The executor runs the rule table (issue 12 items 1–2): gone, rewrite and observe steps,
//! each audited with its rule and what happened, against the simulator.

mod support;

use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::Value;
use std::time::Duration;
use support::audit_file::{records, AuditFile};
use support::harness::{Shim, Sim};
use support::legacy::admin;
use support::rewrites::update_cert;
use support::send;

fn last_record(path: &std::path::Path) -> Value {
    records(path).pop().expect("one audit record")
}

#[tokio::test]
async fn a_legacy_module_upload_on_8x_gets_410_naming_the_successor_and_is_never_sent() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("[rules]\nrs_version = \"8.0.0\"\n")).await;
    sim.clear_requests();
    let auth = admin();
    let reply = send(
        shim.addr,
        Method::POST,
        "/v1/modules",
        &[
            ("authorization", auth.as_str()),
            ("content-type", "multipart/form-data; boundary=x"),
        ],
        "--x\r\nContent-Disposition: form-data; name=\"module\"; filename=\"m.zip\"\r\n\r\nPK\r\n--x--\r\n",
    )
    .await;
    assert_eq!(reply.status, 410);
    let body: Value = serde_json::from_slice(&reply.body).expect("json");
    assert_eq!(body["error_code"], "route_removed");
    assert_eq!(
        body["description"],
        "POST /v1/modules is not available on Redis Software 8.x. Add custom modules with \
         POST /v2/modules/user-defined and POST /v2/local/modules/user-defined/artifacts on every node."
    );
    assert_eq!(body["message"], body["description"]);
    assert_eq!(reply.headers["deprecation"], "@1690848000");
    let link = reply.headers["link"].to_str().expect("ascii");
    assert!(
        link.starts_with("</v2/modules/user-defined>; rel=\"successor-version\""),
        "{link}"
    );
    assert!(
        link.contains("modules/user-defined/>; rel=\"deprecation\""),
        "{link}"
    );
    assert!(
        sim.requests()
            .iter()
            .all(|r| !r.path.starts_with("/v1/modules")),
        "{:?}",
        sim.requests()
    );
    let rec = last_record(&audit);
    assert_eq!(rec["rule"], "module_upload");
    assert_eq!(rec["rule_action"], "gone");
    assert_eq!(rec["status"], 410);
}

#[tokio::test]
async fn operator_rules_gone_rewrite_and_observe_run_through_the_executor() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let custom = r#"
[[rules.custom]]
name = "old-bdb-read"
method = "GET"
path = "/v0/bdbs/{uid:int}"
kind = "rewrite"
successor = "/v1/bdbs/{uid}"
docs_url = "https://example.test/bdbs"
deprecation_date = "2025-01-01"

[[rules.custom]]
name = "retired-stats"
method = "GET"
path = "/v1/legacy/stats"
kind = "gone"
successor = "/v1/cluster/stats"
docs_url = "https://example.test/stats"
deprecation_date = "2025-01-01"

[[rules.custom]]
name = "watched-nodes"
method = "GET"
path = "/v1/nodes"
kind = "observe"
docs_url = "https://example.test/nodes"
deprecation_date = "2025-01-01"
"#;
    let shim = Shim::in_front_of(sim.addr, &audit.toml(custom)).await;
    let auth = admin();
    let h = [("authorization", auth.as_str())];

    sim.clear_requests();
    let rewritten = send(shim.addr, Method::GET, "/v0/bdbs/1?fields=uid", &h, "").await;
    assert_eq!(rewritten.status, 200);
    let seen = sim.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].path, "/v1/bdbs/1?fields=uid",
        "successor path, query kept"
    );
    assert!(rewritten.headers.contains_key("deprecation"));
    let rec = last_record(&audit);
    assert_eq!(
        (&rec["rule"], &rec["rule_action"], &rec["bdb_uid"]),
        (
            &Value::from("old-bdb-read"),
            &Value::from("translated"),
            &Value::from(1)
        )
    );

    sim.clear_requests();
    let gone = send(shim.addr, Method::GET, "/v1/legacy/stats", &h, "").await;
    assert_eq!(gone.status, 410);
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    let link = gone.headers["link"].to_str().expect("ascii");
    assert!(
        link.starts_with("</v1/cluster/stats>; rel=\"successor-version\""),
        "{link}"
    );
    assert_eq!(last_record(&audit)["rule_action"], "gone");

    let observed = send(shim.addr, Method::GET, "/v1/nodes", &h, "").await;
    assert_eq!(observed.status, 200);
    assert!(observed.headers.contains_key("deprecation"));
    let rec = last_record(&audit);
    assert_eq!(
        (&rec["rule"], &rec["rule_action"]),
        (&Value::from("watched-nodes"), &Value::from("observed"))
    );
    assert_eq!(records(&audit).len(), 3);
}

#[tokio::test]
async fn observe_mode_in_front_of_7x_finds_the_legacy_caller_and_off_leaves_it_alone() {
    let sim = Sim::timed(SimVersion::V7_22, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(
        sim.addr,
        &audit.toml(
            "[rules]\nrs_version = \"7.22.0\"\n[rules.update_cert]\nmode = \"observe\"\n\
             [rules.debuginfo_all]\nmode = \"off\"\n",
        ),
    )
    .await;
    let auth = admin();
    let h = [("authorization", auth.as_str())];
    sim.clear_requests();
    let _ = update_cert(
        shim.addr,
        "{\"name\":\"proxy\",\"certificate\":\"x\",\"key\":\"y\"}",
    )
    .await;
    let seen = sim.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].path, "/v1/cluster/update_cert",
        "nothing translated"
    );
    let rec = last_record(&audit);
    assert_eq!(
        (&rec["rule"], &rec["rule_action"]),
        (&Value::from("update_cert"), &Value::from("observed"))
    );
    let audited = records(&audit).len();
    let _ = send(shim.addr, Method::GET, "/v1/debuginfo/all", &h, "").await;
    assert_eq!(records(&audit).len(), audited, "mode off is not audited");
}
