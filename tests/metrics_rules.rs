//! The deprecated routes' metrics name their rule: every audited call is counted in
//! `deprecated_calls` and `translation_outcomes` under its rule, read from the admin port's
//! `/metrics` with a Prometheus text parser, for calls of two rules through the shim. A call
//! the shim answers alone (gone) counts as unverified: only the cluster verifies credentials.

mod support;

use deprecation_shim::sim::SimVersion;
use deprecation_shim::App;
use http::Method;
use prometheus_parse::{Scrape, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use support::harness::{test_config, AdminPort, Shim, Sim};
use support::legacy::{admin as admin_auth, legacy_upgrade};
use support::{get, send};

/// The shim's data and admin ports in front of `upstream`; both stop when dropped.
async fn shim_with_admin(upstream: SocketAddr, toml: &str) -> (Shim, AdminPort) {
    let cfg = test_config(upstream, toml).unwrap_or_else(|e| panic!("config: {e}"));
    let app = Arc::new(App::new(cfg).expect("app"));
    let admin_port = AdminPort::serve(app.admin.clone());
    (Shim::serve(app, None), admin_port)
}

/// The value of the one sample of `name` whose labels include `labels`.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

#[tokio::test]
async fn calls_of_two_rules_are_counted_in_metrics_under_each_rule_and_a_gone_call_as_unverified() {
    let sim = Sim::start(SimVersion::V8_0).await;
    let (shim, admin_port) = shim_with_admin(sim.addr, "[rules]\nrs_version = \"8.0.0\"\n").await;
    let auth = admin_auth();
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    // module_upgrade, translated (200); module_upload on 8.0, gone (410, never sent).
    let upgraded = legacy_upgrade(shim.addr, &[("authorization", auth.as_str())]).await;
    assert_eq!(upgraded.status, 200, "{:?}", upgraded.body);
    for _ in 0..2 {
        let gone = send(shim.addr, Method::POST, "/v1/modules", &h, "x").await;
        assert_eq!(gone.status, 410, "{:?}", gone.body);
    }

    let text = String::from_utf8(get(admin_port.addr, "/metrics", "").await.body.to_vec())
        .expect("metrics are text");
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");
    let calls = "deprecation_shim_deprecated_calls_total";
    let outcomes = "deprecation_shim_translation_outcomes_total";
    let user = deprecation_shim::sim::DEMO_ADMIN.0;
    assert_eq!(
        value(
            &scrape,
            calls,
            &[("rule", "module_upgrade"), ("user", user)]
        ),
        Some(1.0),
        "{text}"
    );
    // Answered by the shim alone: the cluster never checked the credentials.
    assert_eq!(
        value(
            &scrape,
            calls,
            &[("rule", "module_upload"), ("user", "unverified")]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &scrape,
            outcomes,
            &[("rule", "module_upgrade"), ("error_code", "ok")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &scrape,
            outcomes,
            &[("rule", "module_upload"), ("error_code", "410")]
        ),
        Some(2.0),
        "{text}"
    );
    assert!(
        !text.contains(deprecation_shim::sim::DEMO_ADMIN.1),
        "no password in metrics"
    );
}

/// R18 (API-CATALOGUE §8.2): the audit coalesces the statistics routes' calls, but the metric
/// counts every one of them, under `stats_v1`.
#[tokio::test]
async fn every_stats_call_is_counted_although_its_audit_is_coalesced() {
    let sim = Sim::start(SimVersion::V8_0).await;
    let (shim, admin_port) = shim_with_admin(sim.addr, "").await;
    let auth = admin_auth();
    for _ in 0..7 {
        let r = get(shim.addr, "/v1/bdbs/stats/last", &auth).await;
        assert_eq!(r.status, 200);
    }
    let text = String::from_utf8(get(admin_port.addr, "/metrics", "").await.body.to_vec())
        .expect("metrics are text");
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");
    let user = deprecation_shim::sim::DEMO_ADMIN.0;
    assert_eq!(
        value(
            &scrape,
            "deprecation_shim_deprecated_calls_total",
            &[("rule", "stats_v1"), ("user", user)]
        ),
        Some(7.0),
        "{text}"
    );
    drop(shim);
}
