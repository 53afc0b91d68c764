//! `deprecation-shim readiness` (issue 23 items 4 and 6): a scripted mixed population goes
//! through the shim in front of a 7.22 cluster, then the audit file it wrote is assessed for
//! 8.0.2-17 and 8.2.0-25, asserted row by row per caller. (`tests/readiness.rs` is `/readyz`.)

mod support;

use deprecation_shim::readiness::cli::readiness;
use deprecation_shim::readiness::{render, Readiness};
use deprecation_shim::rules::fields::verdict::Verdict;
use deprecation_shim::rules::Version;
use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;
use support::audit_file::{lines, settled, AuditFile};
use support::harness::audited;
use support::legacy::{admin, legacy_upgrade, viewer, DEMO_UPGRADE};
use support::send;

const POLLER: &str = "stats-poller/2.1";
const PROVISIONER: &str = "provision.sh/1.4";
const RMADM: &str = "rmadm/7.22";
const ROTATION: &str = "vault-rotate/0.3";
/// A script that looks up the predefined role and ACL by name (API-CATALOGUE §9.2's `VLT`).
const ACL_READER: &str = "vault-plugin-redis/0.5";
/// Every call the population makes (the poller's are coalesced per window, written at stop).
const CALLS: u64 = 9 + 3 + 2 + 1 + 2;

async fn json_call(
    addr: std::net::SocketAddr,
    auth: Option<&str>,
    ua: &str,
    method: Method,
    path: &str,
    body: Value,
) {
    let mut headers = vec![("content-type", "application/json"), ("user-agent", ua)];
    if let Some(auth) = auth {
        headers.push(("authorization", auth));
    }
    let reply = send(addr, method, path, &headers, body.to_string()).await;
    assert_eq!(reply.status.as_u16(), 200, "{path}: {:?}", reply.body);
}

/// The population, each with its own User-Agent (and credentials), through the shim in front of
/// a 7.22 simulator; returns the audit file once every call is on disk.
async fn population() -> AuditFile {
    let (_sim, audit, shim) = audited(SimVersion::V7_22, "").await;
    let addr = shim.addr;
    // A monitoring poller on the v1 statistics routes (R18), as the viewer.
    let poll = [
        ("authorization", viewer()),
        ("user-agent", POLLER.to_owned()),
    ];
    let poll: Vec<(&str, &str)> = poll.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for _ in 0..3 {
        for path in [
            "/v1/cluster/stats",
            "/v1/bdbs/stats/1",
            "/v1/nodes/stats/last",
        ] {
            let r = send(addr, Method::GET, path, &poll, "").await;
            assert_eq!(r.status.as_u16(), 200, "{path}");
        }
    }
    // A provisioning script: a user with `role` (F1), a database with
    // `authentication_redis_pass` (F3), the cluster's `use_ipv6` (F5, gated ≥ 8.2.0).
    let adm = admin();
    let user = json!({"username": "app1", "password": "pw-of-app1-1", "role": "db_viewer"});
    json_call(
        addr,
        Some(&adm),
        PROVISIONER,
        Method::POST,
        "/v1/users",
        user,
    )
    .await;
    let db = json!({"name": "app1-db", "memory_size": 1024, "authentication_redis_pass": "s3cret-redis"});
    json_call(addr, Some(&adm), PROVISIONER, Method::POST, "/v1/bdbs", db).await;
    json_call(
        addr,
        Some(&adm),
        PROVISIONER,
        Method::PUT,
        "/v1/cluster",
        json!({"use_ipv6": false}),
    )
    .await;
    // rmadm-style module upgrade on the translated old route (R0).
    let r = legacy_upgrade(addr, &[("authorization", &adm), ("user-agent", RMADM)]).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    // ... and on the sibling route (R12), native on 7.22: observed below its 8.0.0 gate, its
    // answer (the module is already upgraded) whatever it is.
    let sibling = [
        ("content-type", "application/json"),
        ("authorization", adm.as_str()),
        ("user-agent", RMADM),
    ];
    send(
        addr,
        Method::POST,
        "/v1/bdbs/1/modules/upgrade",
        &sibling,
        DEMO_UPGRADE,
    )
    .await;
    // A password rotation with body credentials only (R13).
    let rotate =
        json!({"username": "app1", "old_password": "pw-of-app1-1", "new_password": "pw-of-app1-2"});
    json_call(
        addr,
        None,
        ROTATION,
        Method::PUT,
        "/v1/users/password",
        rotate,
    )
    .await;
    // A script reading the role and ACL lists to pick "DB Member" / "Not Dangerous" by name
    // (F2): gone from 7.2.4 on, so the 7.22 replies lack them.
    let acl_reader = [("authorization", adm.as_str()), ("user-agent", ACL_READER)];
    for path in ["/v1/roles", "/v1/redis_acls"] {
        let r = send(addr, Method::GET, path, &acl_reader, "").await;
        assert_eq!(r.status.as_u16(), 200, "{path}");
    }
    drop(shim);
    settled(&audit, CALLS).await;
    audit
}

fn at(date: &str) -> SystemTime {
    deprecation_shim::config::parse_date("at", date).expect("date")
}

fn assess(audit: &Path, config: Option<&Path>, target: &str, when: &str) -> Readiness {
    let target = Version::parse(target).expect("version");
    readiness(&[audit.to_path_buf()], config, target, at(when)).expect("readiness")
}

/// One caller's rows, by User-Agent: `(id, rule, verdict)` in the report's order.
fn rows(r: &Readiness, ua: &str) -> (Verdict, Vec<(String, String, Verdict)>) {
    let c = r
        .callers
        .iter()
        .find(|c| c.caller.user_agent.as_deref() == Some(ua))
        .unwrap_or_else(|| panic!("no caller {ua} in\n{}", render::text(r)));
    let rows = c
        .rows
        .iter()
        .map(|row| (row.id.clone(), row.rule.clone(), row.verdict))
        .collect();
    (c.verdict, rows)
}

fn row(id: &str, rule: &str, v: Verdict) -> (String, String, Verdict) {
    (id.to_owned(), rule.to_owned(), v)
}

use Verdict::{Breaks, Carried, Changes, Unaffected};

#[tokio::test]
async fn a_7_22_population_is_carried_changed_or_unaffected_on_8_0_and_8_2_row_by_row() {
    let audit = population().await;
    // §13: F5's gate (8.2.0) is above the cluster's 7.22, and its hit is still recorded.
    let f5: Vec<Value> = lines(&audit)
        .into_iter()
        .filter(|r| r["rule"] == "field_use_ipv6")
        .collect();
    assert_eq!(f5.len(), 1, "observed below its gate");
    assert_eq!(f5[0]["detail"]["fields"][0]["why"], "below_gate");
    // So does R12's route (gate 8.0.0).
    let r12: Vec<Value> = lines(&audit)
        .into_iter()
        .filter(|r| r["rule"] == "module_upgrade_sibling")
        .collect();
    assert_eq!(r12.len(), 1, "observed below its gate");
    assert_eq!(r12[0]["rule_action"], "observed");
    let stats = |v| vec![row("R18", "stats_v1", v); 3];
    let provisioning = |f5| {
        vec![
            row("F1", "field_user_role", Unaffected),
            row("F3", "field_redis_pass", Unaffected),
            row("F5", "field_use_ipv6", f5),
        ]
    };
    for (target, f5) in [("8.0.2-17", Unaffected), ("8.2.0-25", Carried)] {
        let r = assess(&audit, None, target, "2026-12-01");
        println!("{}", render::text(&r));
        assert!(r.go(), "{}", render::text(&r));
        assert_eq!(r.callers.len(), 5);
        // F2: still answered there, without the names it looks for (never translatable).
        assert_eq!(
            rows(&r, ACL_READER),
            (
                Changes,
                vec![
                    row("F2", "field_predefined_roles", Changes),
                    row("F2", "field_predefined_roles", Changes)
                ]
            )
        );
        assert_eq!(rows(&r, POLLER), (Unaffected, stats(Unaffected)));
        let (verdict, mut got) = rows(&r, PROVISIONER);
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!((verdict, got), (f5, provisioning(f5)), "{target}");
        assert_eq!(
            rows(&r, RMADM),
            (
                Carried,
                vec![
                    row("R0", "module_upgrade", Carried),
                    row("R12", "module_upgrade_sibling", Carried)
                ]
            )
        );
        assert_eq!(
            rows(&r, ROTATION),
            (Carried, vec![row("R13", "users_password", Carried)])
        );
        let poller = r
            .callers
            .iter()
            .find(|c| c.caller.user_agent.as_deref() == Some(POLLER));
        let counts: Vec<u64> = poller.map_or(vec![], |c| {
            c.rows.iter().map(|r| r.evidence.count).collect()
        });
        assert_eq!(
            counts,
            [3, 3, 3],
            "every poll counted, coalesced ones included"
        );
        let counts = if f5 == Carried {
            "1 changed, 3 carried, 1 unaffected"
        } else {
            "1 changed, 2 carried, 2 unaffected"
        };
        assert_eq!(
            render::summary_line(&r),
            format!("GO for {target}: no caller breaks ({counts})")
        );
    }
}

#[tokio::test]
async fn planned_sunsets_by_the_upgrade_date_make_8_2_a_no_go_naming_the_callers() {
    let audit = population().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let planned = dir.path().join("planned.toml");
    let lifecycle = |rule: &str| {
        format!("[lifecycle.{rule}]\nsunset_date = \"2027-06-30\"\nenforce = true\nafter_sunset = \"gone\"\n")
    };
    std::fs::write(
        &planned,
        lifecycle("stats_v1") + &lifecycle("module_upgrade"),
    )
    .expect("write");
    let r = assess(&audit, Some(&planned), "8.2.0-25", "2027-07-01");
    println!("{}", render::text(&r));
    assert_eq!(
        rows(&r, POLLER),
        (Breaks, vec![row("R18", "stats_v1", Breaks); 3])
    );
    assert_eq!(
        rows(&r, RMADM),
        (
            Breaks,
            vec![
                row("R0", "module_upgrade", Breaks),
                row("R12", "module_upgrade_sibling", Carried)
            ]
        )
    );
    assert_eq!(rows(&r, ROTATION).0, Carried);
    let line = render::summary_line(&r);
    assert!(
        line.starts_with("NO-GO for 8.2.0-25: 2 callers break ("),
        "{line}"
    );
    assert!(line.contains(POLLER) && line.contains(RMADM), "{line}");
    // Before the Sunset the same plan is a GO.
    assert!(assess(&audit, Some(&planned), "8.2.0-25", "2027-06-01").go());
}

fn shim_bin(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_deprecation-shim"))
        .args(args)
        .output()
        .expect("run the binary")
}

#[tokio::test]
async fn the_command_prints_json_for_scripts_and_never_a_secret() {
    let audit = population().await;
    let path = audit.to_str().expect("utf-8 path");
    let out = shim_bin(&[
        "readiness",
        "--target",
        "8.2.0-25",
        "--format",
        "json",
        path,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("s3cret-redis") && !text.contains("pw-of-app1"),
        "{text}"
    );
    let doc: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        (doc["target"].as_str(), doc["go"].as_bool()),
        (Some("8.2.0-25"), Some(true))
    );
    assert_eq!(doc["totals"]["callers"], 5);
    assert_eq!(doc["totals"]["calls"], CALLS);
    let rmadm = doc["callers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["user_agent"] == RMADM))
        .expect("rmadm");
    let r0 = &rmadm["rows"][0];
    assert_eq!(
        (r0["kind"].as_str(), r0["method"].as_str()),
        (Some("route"), Some("POST"))
    );
    assert_eq!(r0["route"], "/v1/modules/upgrade/bdb/{uid}");
    assert!(r0["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(r0["count"], 1);
}

#[test]
fn bad_input_is_a_clear_error_or_skipped_lines_never_a_panic() {
    let out = shim_bin(&["readiness", "--target", "8.2", "x.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Redis Software version"));
    let out = shim_bin(&[
        "readiness",
        "--target",
        "8.2.0-25",
        "/nonexistent/audit.jsonl",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open /nonexistent/audit.jsonl"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.jsonl");
    std::fs::write(&junk, "not json\n{\"ts\":\"never\"}\n\u{0}\n").expect("write");
    let out = shim_bin(&[
        "readiness",
        "--target",
        "8.2.0-25",
        junk.to_str().expect("path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("GO for 8.2.0-25: no caller breaks (no caller seen)"),
        "{text}"
    );
    assert!(text.contains("0 calls read, 3 lines skipped"), "{text}");
    // `report --target` is the HTML section only; text and JSON are this command's.
    let out = shim_bin(&[
        "report",
        "--target",
        "8.2.0-25",
        junk.to_str().expect("path"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--target adds a section to --format html"),
        "{err}"
    );
}
