//! The lifecycle on the request path (issue 13): brownout windows (start inclusive, end
//! exclusive), 503 with `Retry-After`, 410 after a gone Sunset and service with `keep`, dry
//! run, exemptions by User-Agent, CIDR and verified user, exemption expiry, weekly windows.
//! In-process, against the simulator, with a clock the test sets: nothing sleeps through a
//! window. The reload and the log line's escalation through the binary are in
//! `lifecycle_reload.rs`.

mod support;

use deprecation_shim::sim::{SimVersion, Simulator, DEMO_ADMIN};
use http::Method;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};
use support::audit_file::at;
use support::basic;
use support::harness::{test_config as shim_config, Sim};
use support::legacy::{admin, assert_rs_error, legacy_upgrade};
use support::lifecycle::{assert_brownout_410, assert_refused_record, ClockedShim};

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

/// A simulated 8.0 cluster and a shim in front of it, its lifecycles' clock at `now`.
async fn start(extra_toml: &str, now: SystemTime) -> (Sim, ClockedShim) {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let shim = ClockedShim::start(sim.addr, extra_toml, now);
    (sim, shim)
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
    let (sim, shim) = start(&upgrade_lifecycle(""), at(2027, 3, 2, 14, 0)).await;
    let auth = admin();
    let h = [("authorization", auth.as_str())];
    sim.clear_requests();

    let refused = legacy_upgrade(shim.addr, &h).await;
    assert_brownout_410(
        &refused,
        "2027-03-02T14:15:00Z",
        "Wed, 30 Jun 2027 00:00:00 GMT",
    );
    assert_eq!(refused.header("deprecation"), Some("@1730419200"));
    let link = refused.header("link").unwrap_or_default();
    assert!(
        link.contains("</v1/bdbs/1/upgrade>; rel=\"successor-version\""),
        "{link}"
    );
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    assert_refused_record(&shim.last_record(), "module_upgrade", 410);

    // The last instant inside the window is refused; the window's end is served.
    shim.set_now(at(2027, 3, 2, 14, 15) - Duration::from_millis(1));
    assert_eq!(legacy_upgrade(shim.addr, &h).await.status, 410);
    shim.set_now(at(2027, 3, 2, 14, 15));
    let served = legacy_upgrade(shim.addr, &h).await;
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
    let (sim, shim) = start(
        &nodes_lifecycle("enforce = true\nanswer = 503"),
        at(2027, 3, 2, 14, 5) + Duration::from_millis(300),
    )
    .await;
    sim.clear_requests();
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
    assert_eq!(nodes_calls(&sim), 0);
    assert_eq!(shim.last_record()["phase"], "refused");
}

#[tokio::test]
async fn after_a_gone_sunset_the_route_answers_410_route_sunset_and_with_keep_it_is_served() {
    let (sim, shim) = start(&nodes_lifecycle("enforce = true"), at(2027, 7, 1, 0, 0)).await;
    let gone = shim.get("/v1/nodes", &[]).await;
    assert_rs_error(&gone, 410, "route_sunset");
    assert_eq!(nodes_calls(&sim), 0);

    let (kept_sim, kept) = start(
        &nodes_lifecycle("enforce = true\nafter_sunset = \"keep\""),
        at(2027, 7, 1, 0, 0),
    )
    .await;
    let auth = admin();
    let served = kept.get("/v1/nodes", &[("authorization", &auth)]).await;
    assert_eq!(served.status, 200);
    assert_eq!(nodes_calls(&kept_sim), 1);
    assert_eq!(kept.last_record()["phase"], "served");
}

#[tokio::test]
async fn a_dry_run_serves_the_call_and_audits_and_counts_would_refuse() {
    let (sim, shim) = start(&nodes_lifecycle("enforce = false"), at(2027, 3, 2, 14, 1)).await;
    let auth = admin();
    let reply = shim.get("/v1/nodes", &[("authorization", &auth)]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(nodes_calls(&sim), 1);
    assert_eq!(shim.last_record()["phase"], "would_refuse");
    let metrics = shim.app.metrics.encode();
    // Issue 20: the cluster verified this caller, so the dry run names who would break.
    assert!(
        metrics.contains(
            "rule=\"watched_nodes\",decision=\"would_refuse\",user=\"admin@example.com\""
        ),
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
    let (sim, shim) = start(&toml, at(2027, 3, 2, 14, 5)).await;
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
    assert_eq!(nodes_calls(&sim), 2);

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
    assert_eq!(nodes_calls(&sim), 2);
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
    let (sim, shim) = start(&toml, at(2027, 3, 2, 14, 5)).await;
    let verify_calls = |sim: &Simulator| {
        sim.requests()
            .iter()
            .filter(|r| r.method == Method::GET && r.path == "/v1/cluster")
            .count()
    };

    // Claimed, wrong password: one verification (401), refused, the upgrade never sent.
    let forged = basic(DEMO_ADMIN.0, "wrong");
    sim.clear_requests();
    let reply = legacy_upgrade(shim.addr, &[("authorization", &forged)]).await;
    assert_rs_error(&reply, 410, "route_brownout");
    assert_eq!(verify_calls(&sim), 1);
    assert_eq!(sim.requests().len(), 1, "{:?}", sim.requests());

    // Another user: no verification at all.
    sim.clear_requests();
    let other = basic("someone@example.com", "x");
    assert_eq!(
        legacy_upgrade(shim.addr, &[("authorization", &other)])
            .await
            .status,
        410
    );
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());

    // The right password: verified, exempt, translated.
    sim.clear_requests();
    let auth = admin();
    let reply = legacy_upgrade(shim.addr, &[("authorization", &auth)]).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(verify_calls(&sim), 1);
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
    let (_sim, shim) = start(&toml, at(2027, 3, 9, 14, 0)).await;
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
