//! Issue 13, reporting side: the `report` grouped by rule and caller with the phase each call
//! met (table, JSON, CSV, `--rule`, the per-rule schedule line with `--config`), `check --at`
//! through the real binary, and `/deprecations` on a real admin socket. Records are written by
//! the shim's own audit writer.

mod support;

use bytes::Bytes;
use deprecation_shim::admin::AdminState;
use deprecation_shim::audit::report::{run, OutputFormat, Report, ReportArgs};
use deprecation_shim::audit::AuditLog;
use deprecation_shim::config::{self, lifecycle::lifecycles};
use deprecation_shim::metrics::Metrics;
use http::Method;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use support::audit_file::{at, lifecycle_sample, write_through_the_writer, LIFECYCLE_TOML};
use support::harness::{admin_bearer, AdminPort, ADMIN_TOKEN};
use support::shim::run_binary;

fn args(files: Vec<PathBuf>, format: OutputFormat) -> ReportArgs {
    ReportArgs {
        files,
        since: None,
        format,
        rule: None,
        config: None,
        now: Some(at(2027, 3, 2, 14, 10)),
        target: None,
        output: None,
    }
}

async fn sample_file(dir: &Path) -> PathBuf {
    let path = dir.join("audit.jsonl");
    write_through_the_writer(&path, &lifecycle_sample()).await;
    path
}

#[tokio::test]
async fn the_report_groups_calls_by_rule_and_caller_and_counts_each_phase_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sample_file(dir.path()).await;

    let json: Report =
        serde_json::from_str(&run(&args(vec![path.clone()], OutputFormat::Json)).unwrap()).unwrap();
    let rows: Vec<(&str, &str, [u64; 4])> = json
        .callers
        .iter()
        .map(|r| {
            let p = r.phases;
            (
                r.rule.as_str(),
                r.user.as_deref().unwrap_or("-"),
                [p.served, p.exempt, p.would_refuse, p.refused],
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("module_upgrade", "ci-bot", [0, 1, 0, 0]),
            ("module_upgrade", "ops@example.com", [3, 0, 0, 1]),
            ("module_upload", "ops@example.com", [0, 0, 2, 0]),
        ]
    );
    let rules: Vec<(&str, u64)> = json
        .rules
        .iter()
        .map(|r| (r.rule.as_str(), r.calls))
        .collect();
    assert_eq!(rules, [("module_upgrade", 5), ("module_upload", 2)]);
    assert_eq!(json.totals.phases.refused, 1);

    let csv = run(&args(vec![path.clone()], OutputFormat::Csv)).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].ends_with(",rule,served,exempt,would_refuse,refused"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("ops@example.com,10.20.3.4,rmadm/1.4.2,4,"),
        "{csv}"
    );
    assert!(lines[2].ends_with(",module_upgrade,3,0,0,1"), "{csv}");
    assert!(lines[3].ends_with(",module_upload,0,0,2,0"), "{csv}");

    let table = run(&args(vec![path], OutputFormat::Table)).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("rule module_upgrade: no lifecycle configured"),
        "{table}"
    );
    assert!(
        lines[0].ends_with("5 calls: served 3, exempt 1, would refuse 0, refused 1"),
        "{table}"
    );
    assert!(
        lines[1].ends_with("2 calls: served 0, exempt 0, would refuse 2, refused 0"),
        "{table}"
    );
    let header = lines[3];
    assert!(header.starts_with("RULE "), "{table}");
    for col in ["SERVED", "EXEMPT", "WOULD_REFUSE", "REFUSED"] {
        assert!(header.contains(col), "{col}: {table}");
    }
    // The REFUSED column of the ops row ends under its header.
    let end = header.find("REFUSED").unwrap() + "REFUSED".len();
    assert_eq!(&lines[5][end - 1..end], "1", "{table}");
}

#[tokio::test]
async fn report_rule_keeps_only_that_rules_calls_and_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sample_file(dir.path()).await;
    let mut a = args(vec![path], OutputFormat::Json);
    a.rule = Some("module_upload".into());
    let r: Report = serde_json::from_str(&run(&a).unwrap()).unwrap();
    assert_eq!((r.totals.calls, r.callers.len(), r.rules.len()), (2, 1, 1));
    assert_eq!(r.rules[0].rule, "module_upload");
    // Through the command line, as `report --rule` parses it.
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ReportArgs,
    }
    let cli =
        Cli::try_parse_from(["report", "x", "--rule", "update_cert", "--format", "html"]).unwrap();
    assert_eq!(cli.args.rule.as_deref(), Some("update_cert"));
    assert_eq!(cli.args.format, OutputFormat::Html);
}

#[tokio::test]
async fn with_a_config_each_rule_has_a_next_brownout_and_sunset_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sample_file(dir.path()).await;
    let cfg = dir.path().join("shim.toml");
    std::fs::write(&cfg, LIFECYCLE_TOML).unwrap();
    let mut a = args(vec![path], OutputFormat::Table);
    a.config = Some(cfg);
    a.now = Some(at(2027, 3, 1, 12, 0));
    let table = run(&a).unwrap();
    let first = table.lines().next().unwrap();
    assert_eq!(
        first,
        "rule module_upgrade: deprecated; next brownout 2027-03-02T14:00:00Z to 2027-03-02T14:15:00Z; sunset 2027-06-30 (120 days left); enforced; 5 calls: served 3, exempt 1, would refuse 0, refused 1"
    );
    assert!(
        table.contains("rule module_upload: no lifecycle configured for this rule;"),
        "{table}"
    );
    a.now = Some(at(2027, 3, 2, 14, 5));
    a.output = Some(dir.path().join("out.txt"));
    let during = run(&a).unwrap();
    assert!(
        during.starts_with(
            "rule module_upgrade: brownout; brownout now, until 2027-03-02T14:15:00Z;"
        ),
        "{during}"
    );
    // Issue 20: a configuration without `upstream.url` is enough for the report.
    let lifecycles_only =
        LIFECYCLE_TOML.replacen("[upstream]\nurl = \"http://127.0.0.1:9\"\n", "", 1);
    assert!(!lifecycles_only.contains("[upstream]"));
    std::fs::write(dir.path().join("shim.toml"), lifecycles_only).unwrap();
    assert_eq!(run(&a).unwrap(), during);
}

#[test]
fn check_at_prints_the_brownout_refusal_inside_the_window_and_served_outside_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("shim.toml");
    std::fs::write(&cfg, LIFECYCLE_TOML).unwrap();
    let cfg = cfg.to_str().unwrap();
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();

    let inside = run_binary(&["check", "--config", cfg, "--at", "2027-03-02T14:05:00Z"]);
    assert!(
        inside.status.success(),
        "{}",
        String::from_utf8_lossy(&inside.stderr)
    );
    let out = text(&inside);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "configuration OK");
    assert_eq!(lines[1], "at 2027-03-02T14:05:00Z");
    assert!(lines[2].starts_with("rule "), "{out}");
    assert!(
        lines[3].starts_with("module_upgrade  brownout  410 route_brownout"),
        "{out}"
    );
    assert!(
        lines[3].contains("now, until 2027-03-02T14:15:00Z"),
        "{out}"
    );
    assert!(lines[3].contains("2027-06-30 (119 days left)"), "{out}");
    assert!(
        out.contains("warning: lifecycle.module_upgrade: brownouts[0] from "),
        "{out}"
    );

    let outside = run_binary(&["check", "--config", cfg, "--at", "2027-03-01T14:05:00Z"]);
    let out = text(&outside);
    let row = out.lines().nth(3).unwrap_or_default();
    assert!(
        row.starts_with("module_upgrade  deprecated  served"),
        "{out}"
    );
    assert!(row.contains("2027-03-02T14:00:00Z for 15m"), "{out}");

    let bad = run_binary(&["check", "--config", cfg, "--at", "next tuesday"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--at"));

    // Without a lifecycle, `--at` says so; without `--at`, `check` prints what it always did.
    let plain = dir.path().join("plain.toml");
    std::fs::write(&plain, "[upstream]\nurl = \"http://127.0.0.1:9\"\n").unwrap();
    let plain = plain.to_str().unwrap();
    let none = text(&run_binary(&[
        "check",
        "--config",
        plain,
        "--at",
        "2027-03-02",
    ]));
    assert!(none.contains("no lifecycle configured"), "{none}");
    let ok = text(&run_binary(&["check", "--config", plain]));
    assert_eq!(ok, "configuration OK\n");
}

#[tokio::test]
async fn deprecations_shows_each_rules_phase_next_window_sunset_and_live_counts() {
    let now = SystemTime::now();
    let rfc = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    let toml = format!(
        "[lifecycle.module_upgrade]\ndeprecation_date = \"2024-11-01\"\nsunset_date = \"{}\"\nenforce = true\n\
         [[lifecycle.module_upgrade.brownouts]]\nstart = \"{}\"\nduration = \"1h\"\n",
        rfc(now + Duration::from_secs(10 * 86_400)),
        rfc(now - Duration::from_secs(60)),
    );
    let raw = config::parse_raw(&toml).unwrap();
    let lcs = lifecycles(raw.lifecycle, |_| None).unwrap();
    let metrics = Arc::new(Metrics::new());
    let audit = Arc::new(AuditLog::disabled(metrics.clone()));
    let state = Arc::new(AdminState::new(metrics, audit.clone()));
    state.set_lifecycles(&lcs, Arc::new(deprecation_shim::lifecycle::SystemClock));
    state.set_token(deprecation_shim::config::AdminToken::parse(ADMIN_TOKEN));
    for rec in lifecycle_sample() {
        audit.write(&rec).await.unwrap();
    }
    let port = AdminPort::serve(state);
    let bearer = admin_bearer();
    let auth = [("authorization", bearer.as_str())];
    let reply = support::send(port.addr, Method::GET, "/deprecations", &auth, Bytes::new()).await;
    assert_eq!(reply.status, http::StatusCode::OK);
    let doc = reply.json();
    let upgrade = &doc["rules"][0];
    assert_eq!(upgrade["rule"], "module_upgrade");
    assert_eq!(upgrade["lifecycle"]["phase"], "brownout");
    assert_eq!(upgrade["lifecycle"]["next_window"]["now"], true);
    assert_eq!(upgrade["lifecycle"]["days_left"], 9);
    assert_eq!(upgrade["lifecycle"]["enforce"], true);
    assert_eq!(
        upgrade["phases"],
        serde_json::json!({"served": 3, "exempt": 1, "would_refuse": 0, "refused": 1})
    );
    let upload = &doc["rules"][1];
    assert_eq!(upload["rule"], "module_upload");
    assert!(upload["lifecycle"].is_null());
    assert_eq!(upload["phases"]["would_refuse"], 2);
    assert_eq!(doc["callers"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn deprecations_and_the_days_gauge_read_the_data_ports_clock_not_the_wall_clock() {
    let now = SystemTime::now();
    let rfc = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    let toml = format!(
        "[lifecycle.module_upgrade]\ndeprecation_date = \"2024-11-01\"\nsunset_date = \"{}\"\n",
        rfc(now + Duration::from_secs(10 * 86_400)),
    );
    let raw = config::parse_raw(&toml).unwrap();
    let lcs = lifecycles(raw.lifecycle, |_| None).unwrap();
    let metrics = Arc::new(Metrics::new());
    let audit = Arc::new(AuditLog::disabled(metrics.clone()));
    let state = Arc::new(AdminState::new(metrics.clone(), audit));
    // The data port runs 11 days ahead (`--now`): one day past the Sunset.
    let ahead = now + Duration::from_secs(11 * 86_400 + 60);
    let clock = Arc::new(deprecation_shim::lifecycle::FixedClock(ahead));
    state.set_lifecycles(&lcs, clock.clone());
    metrics.lifecycle().set_lifecycles(&lcs.rules, clock);
    let port = AdminPort::serve(state);
    let doc = support::send(port.addr, Method::GET, "/deprecations", &[], Bytes::new())
        .await
        .json();
    assert_eq!(doc["rules"][0]["lifecycle"]["days_left"], -2, "{doc}");
    let scrape = metrics.encode();
    assert!(
        scrape.contains("lifecycle_days_to_sunset{rule=\"module_upgrade\"} -2"),
        "{scrape}"
    );
}
