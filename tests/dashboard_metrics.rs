//! Issue 24: every metric the Grafana dashboard (`docs/grafana-dashboard.json`) queries exists
//! in `/metrics` after a demo-like run (a translated upgrade, a pass-through read, a rule with a
//! lifecycle), so the dashboard cannot drift from the code. A metric exists when a sample of
//! that name is exposed, or its family is declared (`# TYPE`) with the type the suffix needs
//! (a labelled counter has no series before its first increment).

mod support;

use deprecation_shim::sim::SimVersion;
use deprecation_shim::App;
use std::collections::BTreeSet;
use std::sync::Arc;
use support::get;
use support::harness::{test_config, AdminPort, Shim, Sim};
use support::legacy::{admin, legacy_upgrade};

#[tokio::test]
async fn every_metric_the_dashboard_queries_is_in_metrics_after_a_demo_like_run() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dashboard = std::fs::read_to_string(root.join("docs/grafana-dashboard.json"))
        .expect("docs/grafana-dashboard.json");
    let used = dashboard_metrics(&dashboard);
    assert!(used.len() >= 10, "too few metrics found: {used:?}");

    let sim = Sim::start(SimVersion::V8_0).await;
    let toml = "[rules]\nrs_version = \"8.0.0\"\n\
                [lifecycle.module_upgrade]\nsunset_date = \"2099-01-01\"\n";
    let cfg = test_config(sim.addr, toml).unwrap_or_else(|e| panic!("config: {e}"));
    let app = Arc::new(App::new(cfg).expect("app"));
    let admin_port = AdminPort::serve(app.admin.clone());
    let shim = Shim::serve(app, None);
    let upgraded = legacy_upgrade(shim.addr, &[("authorization", &admin())]).await;
    assert_eq!(upgraded.status, 200, "{:?}", upgraded.body);
    assert_eq!(get(shim.addr, "/v1/bdbs/1", &admin()).await.status, 200);
    let text = String::from_utf8(get(admin_port.addr, "/metrics", "").await.body.to_vec())
        .expect("metrics are text");

    let missing: Vec<&String> = used.iter().filter(|m| !exposed(&text, m)).collect();
    println!("dashboard metrics checked against /metrics:");
    for m in &used {
        println!(
            "  {m}: {}",
            if exposed(&text, m) { "ok" } else { "MISSING" }
        );
    }
    assert!(missing.is_empty(), "not in /metrics: {missing:?}\n{text}");
}

/// Every `deprecation_shim_*` name in the dashboard's `expr` strings.
fn dashboard_metrics(dashboard: &str) -> BTreeSet<String> {
    let json: serde_json::Value = serde_json::from_str(dashboard).expect("dashboard is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&json, &mut exprs);
    let mut names = BTreeSet::new();
    for expr in exprs {
        let mut rest = expr.as_str();
        while let Some(at) = rest.find("deprecation_shim_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            names.insert(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    names
}

fn collect_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

/// A sample named `name`, or `# TYPE` of its family with the type its suffix implies.
fn exposed(text: &str, name: &str) -> bool {
    let sample = text.lines().any(|l| {
        l.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(['{', ' ']))
    });
    if sample {
        return true;
    }
    let typed = |family: &str, kinds: &[&str]| {
        kinds
            .iter()
            .any(|k| text.lines().any(|l| l == format!("# TYPE {family} {k}")))
    };
    for (suffix, kinds) in [
        ("_total", &["counter"][..]),
        ("_bucket", &["histogram"][..]),
        ("_sum", &["histogram", "summary"][..]),
        ("_count", &["histogram", "summary"][..]),
    ] {
        if let Some(family) = name.strip_suffix(suffix) {
            return typed(family, kinds);
        }
    }
    typed(name, &["gauge"])
}
