//! The lifecycle on the request path (issue 13): brownout windows (start inclusive, end
//! exclusive), 503 with `Retry-After`, 410 after a gone Sunset and service with `keep`, dry
//! run, exemptions by User-Agent, CIDR and verified user, exemption expiry, weekly windows.
//! In-process, against the simulator, with a clock the test sets: nothing sleeps through a
//! window. The reload and the log line's escalation through the binary are in
//! `lifecycle_reload.rs`.

mod support;

use deprecation_shim::lifecycle::Clock;
use deprecation_shim::sim::{SimVersion, Simulator, DEMO_ADMIN};
use deprecation_shim::App;
use http::Method;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use support::audit_file::{at, audit_toml, records};
use support::harness::{self, test_config as shim_config, Sim};
use support::legacy::{admin, assert_rs_error, old_route};
use support::{basic, send, Reply};

/// A clock the test moves.
struct TestClock(Mutex<SystemTime>);

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().expect("clock")
    }
}

struct Shim {
    addr: SocketAddr,
    app: Arc<App>,
    clock: Arc<TestClock>,
    audit: PathBuf,
    sim: Sim,
    _served: harness::Shim,
    _dir: tempfile::TempDir,
}

impl Shim {
    fn set_now(&self, t: SystemTime) {
        *self.clock.0.lock().expect("clock") = t;
    }

    fn last_record(&self) -> Value {
        records(&self.audit).pop().expect("an audit record")
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        send(self.addr, Method::GET, path, headers, "").await
    }

    /// The demo's module upgrade, on the old route.
    async fn legacy_upgrade(&self, headers: &[(&str, &str)]) -> Reply {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        send(
            self.addr,
            Method::POST,
            &old_route(1),
            &h,
            r#"{"modules":[{"module_name":"ReJSON","new_module":"e498441c107b69c94feae975a9f78330"}]}"#,
        )
        .await
    }
}

/// An observed operator rule on `GET /v1/nodes` (streams to the cluster when served).
const NODES_RULE: &str = r#"
[[rules.custom]]
name = "watched_nodes"
method = "GET"
path = "/v1/nodes"
kind = "observe"
successor = "/v2/nodes"
docs_url = "https://example.test/nodes"
deprecation_date = "2025-01-01"
sunset_date = "2027-06-30"
"#;

/// A shim in front of a simulated 8.0 cluster, its lifecycles' clock at `now`.
async fn start(extra_toml: &str, now: SystemTime) -> Shim {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let sim_addr = sim.addr;
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    // One `[audit]` table: the test's keys join the audit path.
    let toml = match extra_toml.contains("[audit]\n") {
        true => extra_toml.replacen("[audit]\n", &audit_toml(&audit), 1),
        false => format!("{extra_toml}\n{}", audit_toml(&audit)),
    };
    let cfg = shim_config(sim_addr, &toml).unwrap_or_else(|e| panic!("config: {e}"));
    let clock = Arc::new(TestClock(Mutex::new(now)));
    let app = Arc::new(App::with_clock(cfg, clock.clone()).expect("app"));
    let served = harness::Shim::serve(app.clone(), None);
    Shim {
        addr: served.addr,
        app,
        clock,
        audit,
        sim,
        _served: served,
        _dir: dir,
    }
}

fn upgrade_lifecycle(extra: &str) -> String {
    format!(
        "[shim]\nsunset_date = \"2027-06-30\"\n\
         [lifecycle.module_upgrade]\nenforce = true\n{extra}\n\
         [[lifecycle.module_upgrade.brownouts]]\nstart = \"2027-03-02T14:00:00Z\"\nduration = \"15m\"\n"
    )
}

fn nodes_lifecycle(extra: &str) -> String {
    format!(
        "{NODES_RULE}\n[lifecycle.watched_nodes]\n{extra}\n\
         [[lifecycle.watched_nodes.brownouts]]\nstart = \"2027-03-02T14:00:00Z\"\nduration = \"15m\"\n"
    )
}

fn nodes_calls(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/nodes"))
        .count()
}

#[tokio::test]
async fn a_brownout_refuses_the_old_route_from_its_start_inclusive_to_its_end_exclusive_sending_nothing(
) {
    let shim = start(&upgrade_lifecycle(""), at(2027, 3, 2, 14, 0)).await;
    let auth = admin();
    let h = [("authorization", auth.as_str())];
    shim.sim.clear_requests();

    let refused = shim.legacy_upgrade(&h).await;
    let body = assert_rs_error(&refused, 410, "route_brownout");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("until 2027-03-02T14:15:00Z")),
        "{body}"
    );
    assert_eq!(refused.header("deprecation"), Some("@1730419200"));
    assert_eq!(
        refused.header("sunset"),
        Some("Wed, 30 Jun 2027 00:00:00 GMT")
    );
    let link = refused.header("link").unwrap_or_default();
    assert!(
        link.contains("</v1/bdbs/1/upgrade>; rel=\"successor-version\""),
        "{link}"
    );
    assert!(
        refused.header("retry-after").is_none(),
        "410: no Retry-After"
    );
    assert!(shim.sim.requests().is_empty(), "{:?}", shim.sim.requests());
    let rec = shim.last_record();
    assert_eq!(
        (
            &rec["phase"],
            &rec["rule"],
            &rec["rule_action"],
            &rec["status"]
        ),
        (
            &Value::from("refused"),
            &Value::from("module_upgrade"),
            &Value::from("refused"),
            &Value::from(410)
        )
    );

    // The last instant inside the window is refused; the window's end is served.
    shim.set_now(at(2027, 3, 2, 14, 15) - Duration::from_millis(1));
    assert_eq!(shim.legacy_upgrade(&h).await.status, 410);
    shim.set_now(at(2027, 3, 2, 14, 15));
    let served = shim.legacy_upgrade(&h).await;
    assert_eq!(served.status, 200, "{:?}", served.body);
    assert_eq!(shim.last_record()["phase"], "served");
    let metrics = shim.app.metrics.encode();
    assert!(
        metrics.contains("lifecycle_decisions_total{rule=\"module_upgrade\",decision=\"refused\",user=\"unverified\",user_agent=\"unverified\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_503_brownout_answers_retry_after_until_the_windows_end_with_the_rules_marks() {
    let shim = start(
        &nodes_lifecycle("enforce = true\nanswer = 503"),
        at(2027, 3, 2, 14, 5) + Duration::from_millis(300),
    )
    .await;
    shim.sim.clear_requests();
    let reply = shim.get("/v1/nodes", &[]).await;
    assert_rs_error(&reply, 503, "route_brownout");
    assert_eq!(reply.header("retry-after"), Some("600"));
    assert_eq!(reply.header("deprecation"), Some("@1735689600"));
    assert!(reply.header("sunset").is_some());
    let link = reply.header("link").unwrap_or_default();
    assert!(
        link.starts_with("</v2/nodes>; rel=\"successor-version\""),
        "{link}"
    );
    assert_eq!(nodes_calls(&shim.sim), 0);
    assert_eq!(shim.last_record()["phase"], "refused");
}

#[tokio::test]
async fn after_a_gone_sunset_the_route_answers_410_route_sunset_and_with_keep_it_is_served() {
    let shim = start(&nodes_lifecycle("enforce = true"), at(2027, 7, 1, 0, 0)).await;
    let gone = shim.get("/v1/nodes", &[]).await;
    assert_rs_error(&gone, 410, "route_sunset");
    assert_eq!(nodes_calls(&shim.sim), 0);

    let kept = start(
        &nodes_lifecycle("enforce = true\nafter_sunset = \"keep\""),
        at(2027, 7, 1, 0, 0),
    )
    .await;
    let auth = admin();
    let served = kept.get("/v1/nodes", &[("authorization", &auth)]).await;
    assert_eq!(served.status, 200);
    assert_eq!(nodes_calls(&kept.sim), 1);
    assert_eq!(kept.last_record()["phase"], "served");
}

#[tokio::test]
async fn a_dry_run_serves_the_call_and_audits_and_counts_would_refuse() {
    let shim = start(&nodes_lifecycle("enforce = false"), at(2027, 3, 2, 14, 1)).await;
    let auth = admin();
    let reply = shim.get("/v1/nodes", &[("authorization", &auth)]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(nodes_calls(&shim.sim), 1);
    assert_eq!(shim.last_record()["phase"], "would_refuse");
    let metrics = shim.app.metrics.encode();
    assert!(
        metrics.contains("rule=\"watched_nodes\",decision=\"would_refuse\""),
        "{metrics}"
    );
}

#[tokio::test]
async fn exemptions_by_user_agent_and_client_cidr_serve_the_call_and_audit_the_exemption() {
    let toml = format!(
        "[audit]\ntrust_forwarded_for = true\n{}\
         [[lifecycle.watched_nodes.exemptions]]\nuser_agent = \"rmadm/*\"\n\
         [[lifecycle.watched_nodes.exemptions]]\nclient = \"10.1.0.0/16\"\nexpires = \"2027-03-02T14:10:00Z\"\n",
        nodes_lifecycle("enforce = true")
    );
    let shim = start(&toml, at(2027, 3, 2, 14, 5)).await;
    let auth = admin();

    let rmadm = shim
        .get(
            "/v1/nodes",
            &[("authorization", &auth), ("user-agent", "rmadm/1.4")],
        )
        .await;
    assert_eq!(rmadm.status, 200);
    let rec = shim.last_record();
    assert_eq!(rec["phase"], "exempt");
    assert_eq!(rec["exemption"], "user_agent \"rmadm/*\"");

    let forwarded = [
        ("authorization", auth.as_str()),
        ("x-forwarded-for", "10.1.2.3"),
    ];
    assert_eq!(shim.get("/v1/nodes", &forwarded).await.status, 200);
    assert_eq!(
        shim.last_record()["exemption"],
        "client 10.1.0.0/16 until 2027-03-02T14:10:00Z"
    );
    assert_eq!(nodes_calls(&shim.sim), 2);

    // Another caller is refused; the CIDR exemption ends at its expiry instant.
    let other = shim
        .get(
            "/v1/nodes",
            &[("authorization", &auth), ("user-agent", "curl/8")],
        )
        .await;
    assert_rs_error(&other, 410, "route_brownout");
    shim.set_now(at(2027, 3, 2, 14, 10));
    assert_rs_error(
        &shim.get("/v1/nodes", &forwarded).await,
        410,
        "route_brownout",
    );
    assert_eq!(shim.last_record()["phase"], "refused");
    assert_eq!(nodes_calls(&shim.sim), 2);
    let metrics = shim.app.metrics.encode();
    assert!(
        metrics.contains("rule=\"watched_nodes\",decision=\"exempt\""),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_user_exemption_applies_only_once_the_cluster_accepts_the_callers_credentials() {
    let toml = format!(
        "{}[[lifecycle.module_upgrade.exemptions]]\nuser = \"{}\"\n",
        upgrade_lifecycle(""),
        DEMO_ADMIN.0
    );
    let shim = start(&toml, at(2027, 3, 2, 14, 5)).await;
    let verify_calls = |sim: &Simulator| {
        sim.requests()
            .iter()
            .filter(|r| r.method == Method::GET && r.path == "/v1/cluster")
            .count()
    };

    // Claimed, wrong password: one verification (401), refused, the upgrade never sent.
    let forged = basic(DEMO_ADMIN.0, "wrong");
    shim.sim.clear_requests();
    let reply = shim.legacy_upgrade(&[("authorization", &forged)]).await;
    assert_rs_error(&reply, 410, "route_brownout");
    assert_eq!(verify_calls(&shim.sim), 1);
    assert_eq!(shim.sim.requests().len(), 1, "{:?}", shim.sim.requests());

    // Another user: no verification at all.
    shim.sim.clear_requests();
    let other = basic("someone@example.com", "x");
    assert_eq!(
        shim.legacy_upgrade(&[("authorization", &other)])
            .await
            .status,
        410
    );
    assert!(shim.sim.requests().is_empty(), "{:?}", shim.sim.requests());

    // The right password: verified, exempt, translated.
    shim.sim.clear_requests();
    let auth = admin();
    let reply = shim.legacy_upgrade(&[("authorization", &auth)]).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(verify_calls(&shim.sim), 1);
    let rec = shim.last_record();
    assert_eq!(rec["phase"], "exempt");
    assert_eq!(rec["exemption"], format!("user {:?}", DEMO_ADMIN.0));
    assert_eq!(rec["verified"], true);
}

#[tokio::test]
async fn a_weekly_window_refuses_each_week_at_its_utc_time_only_between_from_and_until() {
    let toml = format!(
        "{NODES_RULE}\n[lifecycle.watched_nodes]\nenforce = true\n\
         [[lifecycle.watched_nodes.brownouts]]\nweekday = \"tuesday\"\ntime = \"14:00\"\nduration = \"15m\"\n\
         from = \"2027-03-01\"\nuntil = \"2027-04-01\"\n"
    );
    let shim = start(&toml, at(2027, 3, 9, 14, 0)).await;
    let auth = admin();
    let h = [("authorization", auth.as_str())];
    for (when, status) in [
        (at(2027, 3, 9, 14, 0), 410),   // a Tuesday, at the start
        (at(2027, 3, 30, 14, 14), 410), // the last Tuesday before `until`
        (at(2027, 3, 9, 14, 15), 200),  // the end is not in the window
        (at(2027, 3, 10, 14, 5), 200),  // a Wednesday
        (at(2027, 4, 6, 14, 5), 200),   // a Tuesday after `until`
    ] {
        shim.set_now(when);
        let reply = shim.get("/v1/nodes", &h).await;
        assert_eq!(reply.status, status, "at {when:?}");
    }
}

#[test]
fn a_lifecycle_naming_no_rule_is_refused_naming_the_key_and_dates_come_from_the_rule() {
    let upstream: SocketAddr = "127.0.0.1:9".parse().expect("addr");
    let err = shim_config(upstream, "[lifecycle.module_upgrad]\nenforce = true\n")
        .expect_err("unknown rule");
    let text = err.to_string();
    assert!(text.contains("lifecycle.module_upgrad"), "{text}");
    assert!(text.contains("names no rule"), "{text}");

    let cfg = shim_config(
        upstream,
        &format!(
            "[shim]\ndeprecation_date = \"2025-02-01\"\nsunset_date = \"2027-06-30\"\n\
             [lifecycle.module_upgrade]\n{NODES_RULE}\n[lifecycle.watched_nodes]\n"
        ),
    )
    .expect("valid");
    let plan = cfg.lifecycle.rules["module_upgrade"].plan();
    assert_eq!(plan.deprecation, at(2025, 2, 1, 0, 0));
    assert_eq!(plan.sunset, Some(at(2027, 6, 30, 0, 0)));
    let nodes = cfg.lifecycle.rules["watched_nodes"].plan();
    assert_eq!(nodes.deprecation, at(2025, 1, 1, 0, 0));
    assert_eq!(nodes.sunset, Some(at(2027, 6, 30, 0, 0)));
}
