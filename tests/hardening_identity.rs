//! Issue 11, second pass: honest identities, safe log lines and audit lines, through the real
//! binary — forged newlines and ESC sequences in caller text, a 1 MiB `new_module`, forged
//! `X-Forwarded-For` entries and credentials, and a cluster that answers what the simulator
//! never would (a path in `action_uid`, an upgrade "completed" without upgrading).

mod support;

use deprecation_shim::sim::seed::REJSON_2_6_17;
use deprecation_shim::sim::{SimVersion, DEMO_ADMIN};
use http::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::audit_file::records;
use support::faulty::{start_faulty, Misbehave};
use support::harness::Sim;
use support::shim::{run_binary, spawn_shim_logging, ShimProcess};
use support::{basic, send, Reply};

const OLD_ROUTE: &str = "/v1/modules/upgrade/bdb/1";
/// A `new_module` that would forge a log line and drive the operator's terminal if written raw.
const FORGED: &str = "deadbeef\n2026-01-01T00:00:00.000000Z  INFO deprecation: FORGED line\u{1b}[2J\u{1b}]0;owned\u{7}";

/// The binary in front of `upstream` with `extra` TOML; the audit file is `dir/audit.jsonl`.
fn shim(dir: &Path, upstream: &str, extra: &str, rust_log: &str) -> (ShimProcess, PathBuf) {
    let audit = dir.join("audit.jsonl");
    let cfg = dir.join("shim.toml");
    let toml = format!(
        "[upstream]\nurl = \"{upstream}\"\n[shim]\npoll_interval = \"20ms\"\nwait_deadline = \"5s\"\n\
         {extra}\n[audit]\npath = {:?}\n",
        audit.display().to_string()
    );
    std::fs::write(&cfg, toml).unwrap();
    let proc = spawn_shim_logging(&["--config", cfg.to_str().unwrap()], rust_log);
    (proc, audit)
}

async fn legacy(proc: &ShimProcess, auth: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    let mut all = vec![
        ("authorization", auth),
        ("content-type", "application/json"),
    ];
    all.extend_from_slice(headers);
    send(proc.addr, Method::POST, OLD_ROUTE, &all, body.to_string()).await
}

fn admin() -> String {
    basic(DEMO_ADMIN.0, DEMO_ADMIN.1)
}

/// No forged line, no raw ESC or BEL; the forged text is there, escaped.
fn assert_escaped(log: &str) {
    assert!(
        !log.lines().any(|l| l.starts_with("2026-01-01T00:00:00")),
        "a forged log line:\n{log}"
    );
    assert!(
        !log.contains('\u{1b}') && !log.contains('\u{7}'),
        "raw ESC/BEL:\n{log}"
    );
    assert!(
        log.contains(
            "deadbeef\\n2026-01-01T00:00:00.000000Z  INFO deprecation: FORGED line\\u{1b}[2J"
        ),
        "escaped text missing:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_newline_and_esc_in_new_module_reach_stderr_escaped_in_warn_and_enforce() {
    let cluster = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let upstream = cluster.addr;
    let body = json!({"modules": [{"module_name": "ReJSON", "new_module": FORGED}]});
    for (mode, status) in [("warn", None), ("enforce", Some(400))] {
        let dir = tempfile::tempdir().unwrap();
        let extra = format!("prevalidate = \"{mode}\"");
        let (proc, _) = shim(dir.path(), &format!("http://{upstream}"), &extra, "debug");
        let reply = legacy(&proc, &admin(), &[], &body).await;
        if let Some(s) = status {
            assert_eq!(reply.status.as_u16(), s, "{mode}");
        }
        let wanted = if mode == "warn" {
            "pre-validation (missing_module)"
        } else {
            "request refused"
        };
        let mut proc = proc;
        proc.wait_for_log(wanted, Duration::from_secs(10)).unwrap();
        assert_escaped(&proc.stderr_raw());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_mib_new_module_is_audited_capped_and_report_still_finds_the_record() {
    let cluster = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let upstream = cluster.addr;
    let dir = tempfile::tempdir().unwrap();
    let extra = "max_body_size = \"2MiB\"";
    let (proc, audit) = shim(dir.path(), &format!("http://{upstream}"), extra, "info");
    let huge = "f".repeat(1024 * 1024);
    let body = json!({"modules": [{"module_name": "ReJSON", "new_module": huge}]});
    let reply = legacy(&proc, &admin(), &[], &body).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error_code"], "missing_module");

    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(text.len() < 8 * 1024, "audit line of {} bytes", text.len());
    let rec = &records(&audit)[0];
    // Refused before a plan, yet the record names what was asked for (cut to 512 characters).
    assert_eq!(rec["modules"][0]["to_module_id"], "f".repeat(512));
    assert_eq!(rec["error_code"], "missing_module");

    let out = run_binary(&["report", audit.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["totals"]["calls"], 1, "{report}");
    assert_eq!(report["totals"]["skipped_lines"], 0);
    assert_eq!(report["callers"][0]["user"], DEMO_ADMIN.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_and_credentials_are_only_believed_when_proven() {
    let cluster = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let upstream = cluster.addr;
    let dir = tempfile::tempdir().unwrap();
    let extra = "[audit]\ntrusted_proxies = [\"127.0.0.0/8\"]";
    // The [audit] table is written twice otherwise: put the key in the shim's own file.
    let (proc, audit) = shim_with_audit_keys(dir.path(), &format!("http://{upstream}"), extra);
    let body = json!({"modules": [{"module_name": "ReJSON", "new_module": REJSON_2_6_17}]});
    let forged_xff = "=HYPERLINK(\"http://evil\"), 198.51.100.7, 127.0.0.2";
    let wrong = basic(DEMO_ADMIN.0, "not-the-password");
    let r = legacy(&proc, &wrong, &[("x-forwarded-for", forged_xff)], &body).await;
    assert_eq!(r.status, 401);
    let r = legacy(
        &proc,
        &admin(),
        &[("x-forwarded-for", "=HYPERLINK(\"x\")")],
        &body,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    let recs = records(&audit);
    assert_eq!(recs[0]["forwarded_client"], "198.51.100.7");
    assert_eq!(recs[0]["user"], DEMO_ADMIN.0);
    assert_eq!(recs[0]["verified"], false);
    assert_eq!(recs[1]["forwarded_client"], Value::Null);
    assert_eq!(recs[1]["verified"], true);

    let out = run_binary(&["report", audit.to_str().unwrap()]);
    let table = String::from_utf8(out.stdout).unwrap();
    let forged_row = table
        .lines()
        .find(|l| l.contains("198.51.100.7"))
        .expect(&table);
    assert!(
        forged_row.contains("admin@example.com (unverified)"),
        "{table}"
    );
    let real_row = table
        .lines()
        .find(|l| l.contains("127.0.0.1"))
        .expect(&table);
    assert!(!real_row.contains("unverified"), "{table}");
    assert!(!table.contains("HYPERLINK"), "{table}");
}

/// [`shim`] with extra keys inside `[audit]`.
fn shim_with_audit_keys(dir: &Path, upstream: &str, audit_table: &str) -> (ShimProcess, PathBuf) {
    let audit = dir.join("audit.jsonl");
    let cfg = dir.join("shim.toml");
    let toml = format!(
        "[upstream]\nurl = \"{upstream}\"\n[shim]\npoll_interval = \"20ms\"\nwait_deadline = \"5s\"\n\
         {audit_table}\npath = {:?}\n",
        audit.display().to_string()
    );
    std::fs::write(&cfg, toml).unwrap();
    let proc = spawn_shim_logging(&["--config", cfg.to_str().unwrap()], "info");
    (proc, audit)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_is_not_believed_about_action_uids_or_upgrades_that_changed_nothing() {
    let cluster = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let sim_addr = cluster.addr;
    let faulty = start_faulty(sim_addr).await;
    let dir = tempfile::tempdir().unwrap();
    let (proc, audit) = shim(dir.path(), &faulty.url(), "", "info");
    let body = json!({"modules": [{"module_name": "ReJSON", "new_module": REJSON_2_6_17}]});
    let upgrade = "/v1/bdbs/1/upgrade";

    // A "completed" action that left the module where it was: not the old route's 200.
    faulty.on_times(
        Method::POST,
        upgrade,
        Misbehave::Reply(200, r#"{"uid":1,"action_uid":"fake-act-1"}"#),
        1,
    );
    faulty.on(
        Method::GET,
        "/v1/actions/fake-act-1",
        Misbehave::Reply(200, r#"{"action_uid":"fake-act-1","name":"SMUpgradeBDB","status":"completed","progress":"100"}"#),
    );
    let r = legacy(&proc, &admin(), &[], &body).await;
    assert_eq!(r.status, 500, "{:?}", r.body);
    assert_eq!(r.json()["error_code"], "upgrade_failed");
    assert_eq!(r.json()["action_uid"], "fake-act-1");

    // An action_uid that is a path: refused, never fetched.
    faulty.on_times(
        Method::POST,
        upgrade,
        Misbehave::Reply(200, r#"{"uid":1,"action_uid":"../bdbs/2?x=1"}"#),
        1,
    );
    let r = legacy(&proc, &admin(), &[], &body).await;
    assert_eq!(r.status, 502, "{:?}", r.body);
    assert_eq!(r.json()["error_code"], "upstream_invalid_reply");
    assert!(
        faulty
            .seen()
            .iter()
            .all(|(_, target)| !target.contains("..")),
        "{:?}",
        faulty.seen()
    );

    // A real upgrade: every call the shim makes names the caller and the request id.
    let headers = [
        ("x-request-id", "rid-issue-11"),
        ("x-forwarded-for", "192.0.2.5"),
    ];
    let r = legacy(&proc, &admin(), &headers, &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = faulty.seen();
    let seen_headers = faulty.seen_headers();
    let value = |h: &Vec<(String, String)>, name: &str| {
        h.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    };
    let mine: Vec<usize> = (0..seen.len())
        .filter(|&i| value(&seen_headers[i], "x-request-id").as_deref() == Some("rid-issue-11"))
        .collect();
    let paths: Vec<&str> = mine.iter().map(|&i| seen[i].1.as_str()).collect();
    for wanted in ["/v1/bdbs/1", "/v1/modules", upgrade, "/v1/actions/"] {
        assert!(
            paths.iter().any(|p| p.starts_with(wanted)),
            "{wanted} not in {paths:?}"
        );
    }
    for &i in &mine {
        assert_eq!(
            value(&seen_headers[i], "x-forwarded-for").as_deref(),
            Some("192.0.2.5, 127.0.0.1"),
            "{:?}",
            seen[i]
        );
    }

    let recs = records(&audit);
    assert_eq!(recs.len(), 3);
    assert_eq!(
        (recs[0]["outcome"].as_str(), recs[0]["action_uid"].as_str()),
        (Some("upstream_error"), Some("fake-act-1"))
    );
    assert_eq!(recs[1]["action_uid"], "../bdbs/2?x=1");
    assert_eq!(recs[1]["status"], 502);
    assert_eq!(recs[2]["outcome"], "ok");
}
