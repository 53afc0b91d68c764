//! Issue 20: fail closed.
//!
//! Item 1, an unknown cluster version is not pass-through. Whatever makes the version look-up
//! fail (a cluster 5xx, a caller's junk credential, no credential at all), a retired route stays
//! retired and every call is audited, with `cluster_version: "unknown"`; a look-up failure that
//! is one caller's doing is never cached for the others.
//!
//! Item 5, an audit that is never wrong about what ran: a state-changing call's intent record
//! is written before it sends anything; if it cannot be (`fail` mode) nothing is sent; an
//! outcome record that cannot be written does not turn an executed call into "retry later";
//! an intent without an outcome is reported `interrupted`; a deleted audit file is reopened.

mod support;

use deprecation_shim::audit::report::aggregate;
use deprecation_shim::audit::{AuditLog, AuditRecord};
use deprecation_shim::config::AuditFailure;
use deprecation_shim::metrics::Metrics;
use deprecation_shim::sim::{RouteMatch, SimVersion, DEMO_ADMIN};
use deprecation_shim::App;
use http::Method;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::audit_file::{calls, lines, records, settled, AuditFile};
use support::harness::{audited, test_config, Shim, Sim};
use support::legacy::{admin, assert_rs_error, legacy_upgrade, upgrade_posts};
use support::{get, send};

/// `debuginfo_all` retired: its Sunset is past and the lifecycle enforced.
const RETIRED: &str = "[lifecycle.debuginfo_all]\nenforce = true\nsunset_date = \"2025-01-01\"\n";

/// A simulated 8.0 cluster and a shim in front of it with `toml` ([`audited`]).
async fn start(toml: &str) -> (Sim, AuditFile, Shim) {
    audited(SimVersion::V8_0, toml).await
}

/// `GET /v1/debuginfo/all` as the admin, which must be served (200); returns once its record
/// is written (a download's follows the end of its body, issue 20 item 9).
async fn debuginfo_served(addr: std::net::SocketAddr, audit: &AuditFile) {
    let before = calls(audit);
    let reply = get(addr, "/v1/debuginfo/all", &admin()).await;
    let text = String::from_utf8_lossy(&reply.body);
    assert_eq!(reply.status, 200, "{text}");
    settled(audit, before + 1).await;
}

fn bootstrap() -> RouteMatch {
    RouteMatch::method("GET", "/v1/bootstrap")
}

fn cluster_saw(sim: &Sim, path: &str) -> usize {
    sim.requests().iter().filter(|r| r.path == path).count()
}

#[tokio::test]
async fn a_retired_route_stays_retired_and_audited_while_the_cluster_cannot_say_its_version() {
    let (sim, audit, shim) = start(RETIRED).await;
    sim.faults().respond_with_status(500, bootstrap());
    for _ in 0..5 {
        let reply = get(shim.addr, "/v1/debuginfo/all", &admin()).await;
        assert_rs_error(&reply, 410, "route_sunset");
    }
    // The first refusal is on disk at once; the admin's repeats (refused before the cluster
    // could verify anyone: an unverified caller's failures) coalesce, written at the stop.
    drop(shim);
    let recs = settled(&audit, 5).await;
    for r in &recs {
        assert_eq!(r["cluster_version"], "unknown", "{r}");
        assert_eq!(r["phase"], "refused", "{r}");
        assert_eq!(r["status"], 410, "{r}");
    }
    assert_eq!(cluster_saw(&sim, "/v1/debuginfo/all"), 0, "never sent");
    assert_eq!(cluster_saw(&sim, "/v1/cluster/debuginfo"), 0, "never sent");
}

#[tokio::test]
async fn a_gated_translation_answers_503_with_retry_after_while_the_cluster_cannot_say() {
    let (sim, audit, shim) = start("").await;
    sim.faults().respond_with_status(503, bootstrap());
    let reply = get(shim.addr, "/v1/debuginfo/all", &admin()).await;
    assert_rs_error(&reply, 503, "cluster_version_unknown");
    assert_eq!(reply.header("retry-after"), Some("5"));
    assert_eq!(cluster_saw(&sim, "/v1/cluster/debuginfo"), 0);
    assert_eq!(cluster_saw(&sim, "/v1/debuginfo/all"), 0);
    let recs = records(&audit);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["error_code"], "cluster_version_unknown");
    assert_eq!(recs[0]["rule_action"], "refused");
    assert_eq!(recs[0]["cluster_version"], "unknown");
    // The cluster recovers: once the unknown expires (5 s), the call is translated.
    sim.faults().clear();
    tokio::time::sleep(Duration::from_millis(5100)).await;
    debuginfo_served(shim.addr, &audit).await;
    assert_eq!(records(&audit)[1]["cluster_version"], "8.0.2-17");
}

#[tokio::test]
async fn a_call_without_credentials_never_triggers_a_look_up_and_is_still_gated_and_audited() {
    let (sim, audit, shim) = start(RETIRED).await;
    let reply = send(shim.addr, Method::GET, "/v1/debuginfo/all", &[], "").await;
    assert_eq!(
        reply.status,
        410,
        "retired: {}",
        String::from_utf8_lossy(&reply.body)
    );
    let reply = send(shim.addr, Method::GET, "/v1/debuginfo/node", &[], "").await;
    assert_eq!(reply.status, 401, "not retired: the cluster's own answer");
    assert_eq!(cluster_saw(&sim, "/v1/bootstrap"), 0, "no look-up");
    let recs = records(&audit);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["phase"], "refused");
    assert_eq!(recs[1]["rule_action"], "observed");
    assert!(recs.iter().all(|r| r["cluster_version"] == "unknown"));
}

#[tokio::test]
async fn a_junk_credential_is_not_looked_up_and_does_not_decide_for_the_next_caller() {
    let (sim, audit, shim) = start("").await;
    let junk = format!("Basic {}", "A".repeat(9 * 1024));
    let reply = send(
        shim.addr,
        Method::GET,
        "/v1/debuginfo/all",
        &[("authorization", junk.as_str())],
        "",
    )
    .await;
    assert_ne!(reply.status, 200);
    assert_eq!(
        cluster_saw(&sim, "/v1/bootstrap"),
        0,
        "no look-up with junk"
    );
    debuginfo_served(shim.addr, &audit).await;
    assert_eq!(cluster_saw(&sim, "/v1/bootstrap"), 1);
    assert_eq!(cluster_saw(&sim, "/v1/cluster/debuginfo"), 1, "translated");
    let recs = records(&audit);
    assert_eq!(recs.len(), 2, "both audited");
    assert_eq!(recs[0]["cluster_version"], "unknown");
    assert_eq!(recs[1]["rule_action"], "translated");
}

#[tokio::test]
async fn a_look_up_refused_with_a_4xx_is_that_callers_alone() {
    let (sim, audit, shim) = start("").await;
    // A front end refuses the first look-up (as it did the 9 KiB header in the issue).
    sim.faults().respond_with_status(400, bootstrap().times(1));
    let first = get(shim.addr, "/v1/debuginfo/all", &admin()).await;
    debuginfo_served(shim.addr, &audit).await;
    assert_eq!(cluster_saw(&sim, "/v1/bootstrap"), 2, "not cached");
    let recs = records(&audit);
    assert_eq!(recs.len(), 2, "first: {}", first.status);
    assert_eq!(recs[0]["rule_action"], "observed");
    assert_eq!(recs[0]["cluster_version"], "unknown");
    assert_eq!(recs[1]["rule_action"], "translated");
}

#[tokio::test]
async fn a_state_changing_call_writes_its_intent_then_its_outcome_and_the_report_counts_one() {
    let (_sim, audit, shim) = start("").await;
    let reply = legacy_upgrade(shim.addr, &[("authorization", admin().as_str())]).await;
    assert_eq!(reply.status, 200);
    let recs = lines(&audit);
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(recs[0]["record"], "intent");
    assert_eq!(recs[0]["status"], 0);
    assert_eq!(recs[0]["request_id"], recs[1]["request_id"]);
    assert!(recs[1].get("record").is_none(), "the outcome: {}", recs[1]);
    assert_eq!(recs[1]["status"], 200);
    let report = aggregate(&[audit.to_path_buf()], None)
        .expect("report")
        .report();
    assert_eq!(report.totals.calls, 1);
    assert_eq!(report.totals.outcomes.ok, 1);
}

#[tokio::test]
async fn an_intent_that_cannot_be_written_in_fail_mode_refuses_the_call_before_anything_is_sent() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let toml = "[audit]\npath = \"/dev/full\"\non_write_failure = \"fail\"\n";
    let shim = Shim::in_front_of(sim.addr, toml).await;
    sim.clear_requests();
    let reply = legacy_upgrade(shim.addr, &[("authorization", admin().as_str())]).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["error_code"], "audit_unavailable");
    assert!(sim.requests().is_empty(), "sent: {:?}", sim.requests());
    assert!(upgrade_posts(&sim).is_empty());
}

/// The intent precedes the version look-up too: on a cold cache, a module upload (R4, whose
/// decision needs the version) with an unwritable intent sends nothing at all, not even
/// `GET /v1/bootstrap`.
#[tokio::test]
async fn an_unwritable_intent_refuses_before_the_version_look_up() {
    let sim = Sim::timed(SimVersion::V7_4, Duration::from_millis(50)).await;
    let toml = "[audit]\npath = \"/dev/full\"\non_write_failure = \"fail\"\n";
    let shim = Shim::in_front_of(sim.addr, toml).await;
    sim.clear_requests();
    let reply = send(
        shim.addr,
        Method::POST,
        "/v1/modules",
        &[
            ("authorization", admin().as_str()),
            ("content-type", "multipart/form-data; boundary=x"),
        ],
        "--x--\r\n",
    )
    .await;
    assert_rs_error(&reply, 503, "audit_unavailable");
    assert!(sim.requests().is_empty(), "sent: {:?}", sim.requests());
}

/// A legacy upgrade's record, begun now.
fn begin(request_id: &str) -> AuditRecord {
    AuditRecord::begin(
        std::time::SystemTime::now(),
        request_id,
        "10.0.0.7".parse().expect("ip"),
        &Method::POST,
        "/v1/modules/upgrade/bdb/{uid}",
        &http::HeaderMap::new(),
        false,
    )
}

/// A writer that takes the first `ok` lines and fails every later one, like a disk filling up.
struct FailsAfter {
    ok: usize,
    seen: Arc<AtomicUsize>,
    lines: Arc<Mutex<Vec<u8>>>,
}

impl Write for FailsAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.seen.fetch_add(1, Ordering::SeqCst) >= self.ok {
            return Err(std::io::Error::other("No space left on device (test)"));
        }
        self.lines.lock().expect("lines").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_outcome_record_that_cannot_be_written_does_not_turn_an_executed_upgrade_into_retry_later(
) {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let cfg = test_config(sim.addr, "").expect("config");
    let mut app = App::new(cfg).expect("app");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let metrics = Arc::new(Metrics::new());
    let writer = FailsAfter {
        ok: 1,
        seen: Arc::new(AtomicUsize::new(0)),
        lines: lines.clone(),
    };
    app.audit = Arc::new(AuditLog::to_writer(
        Box::new(writer),
        AuditFailure::Fail,
        metrics.clone(),
    ));
    let shim = Shim::serve(Arc::new(app), None);
    let reply = legacy_upgrade(shim.addr, &[("authorization", admin().as_str())]).await;
    assert_eq!(reply.status, 200, "the real outcome");
    assert_eq!(upgrade_posts(&sim).len(), 1, "one upgrade ran");
    assert_eq!(
        metrics.audit_write_failures(),
        1,
        "the outcome's failure counted"
    );
    let written = String::from_utf8(lines.lock().expect("lines").clone()).expect("utf-8");
    assert_eq!(written.lines().count(), 1);
    assert!(written.contains("\"record\":\"intent\""), "{written}");
}

#[test]
fn an_intent_without_its_outcome_is_reported_interrupted() {
    let audit = AuditFile::new();
    let mut done = begin("done-1");
    let mut text = Vec::new();
    text.extend(done.intent().to_line().expect("line"));
    text.extend(begin("lost-1").intent().to_line().expect("line"));
    done.finish(http::StatusCode::OK, None, None, Duration::from_millis(3));
    text.extend(done.to_line().expect("line"));
    std::fs::write(&*audit, text).expect("write");
    let report = aggregate(&[audit.to_path_buf()], None)
        .expect("report")
        .report();
    assert_eq!(
        report.totals.calls, 2,
        "one call each, intents not counted twice"
    );
    assert_eq!(report.totals.outcomes.ok, 1);
    assert_eq!(report.totals.outcomes.interrupted, 1);
}

#[tokio::test]
async fn an_audit_file_deleted_under_the_shim_is_reopened_at_its_path() {
    let audit = AuditFile::new();
    let cfg = deprecation_shim::config::Audit {
        path: Some(audit.to_path_buf()),
        ..deprecation_shim::config::Audit::default()
    };
    let log = AuditLog::open(&cfg, Arc::new(Metrics::new())).expect("open");
    let record = |id: &str| {
        let mut r = begin(id);
        r.finish(http::StatusCode::OK, None, None, Duration::from_millis(1));
        r
    };
    log.write(&record("before")).await.expect("write");
    std::fs::remove_file(&*audit).expect("delete");
    log.write(&record("after")).await.expect("write");
    let recs = records(&audit);
    assert_eq!(recs.len(), 1, "the new file holds the later record");
    assert_eq!(recs[0]["request_id"], "after");
}

/// Item 9: a caller with a bad password who meets a cold version cache is audited too.
#[tokio::test]
async fn a_bad_password_before_the_version_is_known_is_audited() {
    let (_sim, audit, shim) = start("").await;
    let bad = support::basic(DEMO_ADMIN.0, "wrong");
    let reply = get(shim.addr, "/v1/debuginfo/all", &bad).await;
    assert_eq!(reply.status, 401);
    let recs = records(&audit);
    assert_eq!(recs.len(), 1, "audited");
    assert_eq!(recs[0]["user"], DEMO_ADMIN.0);
    assert_eq!(recs[0]["verified"], false);
    assert_eq!(recs[0]["cluster_version"], "unknown");
}

/// Item 7: the admin token file is validated naming its key, and the token never printed.
#[test]
fn an_admin_token_file_is_checked_at_start_and_its_token_never_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let short = dir.path().join("short");
    std::fs::write(&short, "abc\n").expect("write");
    let toml = |path: &std::path::Path| {
        format!(
            "[upstream]\nurl = \"http://127.0.0.1:9\"\n[admin]\ntoken_file = {:?}\n",
            path.display().to_string()
        )
    };
    let parse = |text: &str| {
        deprecation_shim::config::parse_raw(text)
            .and_then(deprecation_shim::config::Config::from_raw)
    };
    let err = parse(&toml(&short)).expect_err("too short");
    assert!(err.to_string().contains("admin.token_file"), "{err}");
    let err = parse(&toml(&dir.path().join("missing"))).expect_err("missing");
    assert!(err.to_string().contains("admin.token_file"), "{err}");
    let good = dir.path().join("token");
    let token = "0123456789abcdef0123456789abcdef";
    std::fs::write(&good, format!("{token}\n")).expect("write");
    let cfg = parse(&toml(&good)).expect("valid");
    assert!(!format!("{cfg:?}").contains(token), "the token is printed");
    assert!(cfg.admin_token.is_some());
}

/// Item 8: `check` names an operator rule that would also retire a live route.
#[test]
fn check_warns_about_a_custom_rule_that_also_matches_a_route_nobody_deprecated() {
    let toml = "[upstream]\nurl = \"http://127.0.0.1:9\"\n\
        [[rules.custom]]\nname = \"too_broad\"\nmethod = \"GET\"\npath = \"/{a}/{b}/{c}\"\nkind = \"gone\"\n\
        deprecation_date = \"2024-01-01\"\ndocs_url = \"https://example.com/d\"\n\
        [[rules.custom]]\nname = \"narrow\"\nmethod = \"GET\"\npath = \"/v1/nodes/{uid}/legacy_thing\"\n\
        kind = \"gone\"\ndeprecation_date = \"2024-01-01\"\ndocs_url = \"https://example.com/d\"\n";
    let cfg = deprecation_shim::config::parse_raw(toml)
        .and_then(deprecation_shim::config::Config::from_raw)
        .expect("valid");
    let out = deprecation_shim::check::lifecycle_report(&cfg, None);
    let warnings: Vec<&str> = out.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(
        warnings[0].contains("\"too_broad\"") && warnings[0].contains("GET /v1/bdbs/1"),
        "{out}"
    );
}
