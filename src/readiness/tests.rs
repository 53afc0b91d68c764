//! The pure core of readiness: records as plain values in, verdict rows out.

use super::render;
use super::*;
use crate::config::{parse_raw, Config};
use crate::rules::fields::verdict::Verdict;
use crate::rules::Version;
use std::time::{Duration, UNIX_EPOCH};

pub(super) fn config(toml: &str) -> Config {
    let mut raw = parse_raw(toml).expect("toml");
    raw.upstream.url = Some("http://127.0.0.1:9".into());
    Config::from_raw(raw).expect("config")
}

fn v(s: &str) -> Version {
    Version::parse(s).expect("version")
}

pub(super) fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_790_000_000 + secs)
}

pub(super) fn who(user: &str, verified: bool, ua: &str) -> Caller {
    Caller {
        user: Some(user.into()),
        verified,
        client: "10.0.0.7".into(),
        user_agent: Some(ua.into()),
    }
}

pub(super) fn seen<'a>(
    caller: Caller,
    rule: &'a str,
    call: (&'a str, &'a str),
    id: &'a str,
    at: u64,
) -> Seen<'a> {
    Seen {
        caller,
        rule: Some(rule),
        method: call.0,
        route: call.1,
        fields: Vec::new(),
        reply: None,
        request_id: id,
        first: t(at),
        last: t(at),
        count: 1,
    }
}

const UPGRADE: (&str, &str) = ("POST", "/v1/modules/upgrade/bdb/{uid}");
const UPLOAD: (&str, &str) = ("POST", "/v1/modules");
const CLUSTER: (&str, &str) = ("PUT", "/v1/cluster");

pub(super) fn assess_at(tally: &Tally, cfg: &Config, target: &str, at: SystemTime) -> Readiness {
    assess(
        tally,
        &Against {
            table: &cfg.rules.table,
            lifecycles: &cfg.lifecycle.rules,
            aliases: &cfg.rules.reply_aliases,
            target: v(target),
            at,
        },
    )
}

fn only_row(r: &Readiness) -> (&str, Verdict) {
    let row = &r.callers[0].rows[0];
    (row.id.as_str(), row.verdict)
}

#[test]
fn a_translated_route_is_carried_and_the_same_route_in_observe_mode_breaks_where_it_was_removed() {
    let mut tally = Tally::default();
    tally.add(&seen(
        who("ops", true, "rmadm/1"),
        "module_upgrade",
        UPGRADE,
        "r1",
        0,
    ));
    let r = assess_at(&tally, &config(""), "8.2.0-25", t(0));
    assert_eq!(only_row(&r), ("R0", Verdict::Carried));
    let observed = config("[rules.module_upgrade]\nmode = \"observe\"\n");
    let r = assess_at(&tally, &observed, "8.2.0-25", t(0));
    assert_eq!(only_row(&r), ("R0", Verdict::Breaks));
    assert!(
        r.callers[0].rows[0].why.contains("removed in 8.0.0"),
        "{:?}",
        r.callers[0].rows[0]
    );
    assert!(!r.go());
}

#[test]
fn a_module_upload_is_carried_on_7_22_and_breaks_on_8_0_where_the_shim_answers_410() {
    let mut tally = Tally::default();
    tally.add(&seen(
        who("ops", true, "curl/8"),
        "module_upload",
        UPLOAD,
        "r1",
        0,
    ));
    let cfg = config("");
    assert_eq!(
        only_row(&assess_at(&tally, &cfg, "7.22.2-170", t(0))),
        ("R4", Verdict::Carried)
    );
    assert_eq!(
        only_row(&assess_at(&tally, &cfg, "8.0.2-17", t(0))),
        ("R4", Verdict::Breaks)
    );
}

#[test]
fn field_rules_follow_their_gate_and_what_the_target_does_with_the_old_field() {
    let mut tally = Tally::default();
    let mut s = seen(who("ops", true, "tf/1"), "field_use_ipv6", CLUSTER, "r1", 0);
    s.fields = vec![("field_use_ipv6", "/use_ipv6")];
    tally.add(&s);
    let mut s = seen(
        who("ops", true, "tf/1"),
        "field_module_id",
        ("POST", "/v1/bdbs"),
        "r2",
        1,
    );
    s.fields = vec![("field_module_id", "/module_list/0/module_id")];
    tally.add(&s);
    let cfg = config("");
    let rows = |target: &str| -> Vec<(String, Verdict)> {
        let r = assess_at(&tally, &cfg, target, t(0));
        r.callers[0]
            .rows
            .iter()
            .map(|row| (row.id.clone(), row.verdict))
            .collect()
    };
    // F4 (strip opt-in) means something else from 8.0.0; F5 renames in auto from 8.2.0.
    assert_eq!(
        rows("7.22.2-170"),
        [
            ("F4".into(), Verdict::Unaffected),
            ("F5".into(), Verdict::Unaffected)
        ]
    );
    assert_eq!(
        rows("8.0.2-17"),
        [
            ("F4".into(), Verdict::Changes),
            ("F5".into(), Verdict::Unaffected)
        ]
    );
    assert_eq!(
        rows("8.2.0-25"),
        [
            ("F4".into(), Verdict::Changes),
            ("F5".into(), Verdict::Carried)
        ]
    );
}

#[test]
fn a_lifecycle_refusal_by_the_upgrade_date_breaks_the_caller_unless_it_is_exempt() {
    let cfg = config(
        "[lifecycle.stats_v1]\nsunset_date = \"2027-06-30\"\nenforce = true\nafter_sunset = \"gone\"\n\
         [[lifecycle.stats_v1.exemptions]]\nuser_agent = \"grafana/*\"\n",
    );
    let stats = ("GET", "/v1/bdbs/stats");
    let mut tally = Tally::default();
    tally.add(&seen(
        who("mon", true, "poller/2"),
        "stats_v1",
        stats,
        "r1",
        0,
    ));
    tally.add(&seen(
        who("mon", true, "grafana/10"),
        "stats_v1",
        stats,
        "r2",
        0,
    ));
    let before = assess_at(&tally, &cfg, "8.2.0-25", t(0));
    assert!(before.go(), "{}", render::text(&before));
    let after = crate::config::parse_date("at", "2027-07-01").expect("date");
    let r = assess_at(&tally, &cfg, "8.2.0-25", after);
    let verdicts: Vec<(&str, Verdict)> = r
        .callers
        .iter()
        .map(|c| (c.caller.user_agent.as_deref().unwrap_or(""), c.verdict))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("poller/2", Verdict::Breaks),
            ("grafana/10", Verdict::Unaffected)
        ]
    );
    assert!(
        r.callers[0].rows[0].why.contains("route_sunset"),
        "{:?}",
        r.callers[0].rows[0]
    );
    assert_eq!(
        render::summary_line(&r),
        "NO-GO for 8.2.0-25: 1 caller breaks (mon (verified) \"poller/2\" 10.0.0.7)"
    );
}

#[test]
fn evidence_keeps_count_first_and_last_seen_and_the_first_request_id_across_replicas() {
    let mut tally = Tally::default();
    let rmadm = who("ops", true, "rmadm/1");
    tally.add(&seen(rmadm.clone(), "module_upgrade", UPGRADE, "late", 50));
    tally.add(&seen(rmadm.clone(), "module_upgrade", UPGRADE, "early", 10));
    let mut coalesced = seen(rmadm, "module_upgrade", UPGRADE, "mid", 20);
    (coalesced.count, coalesced.last) = (3, t(90));
    tally.add(&coalesced);
    let r = assess_at(&tally, &config(""), "8.0.2-17", t(0));
    let e = &r.callers[0].rows[0].evidence;
    assert_eq!(
        (e.count, e.first, e.last, e.request_id.as_str()),
        (5, t(10), t(90), "early")
    );
    assert_eq!(r.records, 5);
}

#[test]
fn a_record_counts_once_per_field_rule_and_callers_split_on_verification() {
    let mut tally = Tally::default();
    let mut s = seen(
        who("prov", true, "tf/1"),
        "field_redis_pass",
        ("POST", "/v1/bdbs"),
        "r1",
        0,
    );
    s.fields = vec![
        ("field_redis_pass", "/authentication_redis_pass"),
        (
            "field_redis_pass",
            "/instances/0/db_config/authentication_redis_pass",
        ),
    ];
    tally.add(&s);
    s.caller.verified = false;
    tally.add(&s);
    let r = assess_at(&tally, &config(""), "8.2.0-25", t(0));
    assert_eq!(r.callers.len(), 2);
    for c in &r.callers {
        assert_eq!(c.rows.len(), 1);
        assert_eq!((c.rows[0].id.as_str(), c.rows[0].evidence.count), ("F3", 1));
        assert_eq!(
            c.rows[0].evidence.field.as_deref(),
            Some("/authentication_redis_pass")
        );
    }
}

#[test]
fn a_caller_is_its_worst_row_and_breaking_callers_come_first() {
    let mut tally = Tally::default();
    let ops = who("ops", true, "rmadm/1");
    tally.add(&seen(ops.clone(), "module_upgrade", UPGRADE, "r1", 0));
    tally.add(&seen(ops, "module_upload", UPLOAD, "r2", 0));
    tally.add(&seen(
        who("mon", true, "poller/2"),
        "stats_v1",
        ("GET", "/v1/bdbs/stats"),
        "r3",
        0,
    ));
    let r = assess_at(&tally, &config(""), "8.2.0-25", t(0));
    let order: Vec<(&str, Verdict)> = r
        .callers
        .iter()
        .map(|c| (c.caller.user.as_deref().unwrap_or(""), c.verdict))
        .collect();
    assert_eq!(
        order,
        [("ops", Verdict::Breaks), ("mon", Verdict::Unaffected)]
    );
    assert_eq!(r.callers[0].rows[0].verdict, Verdict::Breaks);
    let doc: serde_json::Value =
        serde_json::from_str(&render::json(&r).expect("json")).expect("parse");
    assert_eq!(doc["go"], false);
    assert_eq!(doc["totals"]["by_verdict"]["breaks"], 1);
    assert_eq!(doc["callers"][0]["rows"][0]["id"], "R4");
    assert_eq!(doc["callers"][0]["rows"][0]["route"], "/v1/modules");
}

#[test]
fn a_rule_this_configuration_does_not_know_is_unaffected_and_says_so() {
    let mut tally = Tally::default();
    tally.add(&seen(
        who("x", false, "y"),
        "no_such_rule",
        ("GET", "/v1/x"),
        "r1",
        0,
    ));
    let r = assess_at(&tally, &config(""), "8.2.0-25", t(0));
    assert_eq!(only_row(&r), ("?", Verdict::Unaffected));
    assert!(r.callers[0].rows[0].why.contains("not a route rule"));
}

#[test]
fn the_reader_counts_malformed_lines_and_reads_field_hits_and_other_details() {
    let good = r#"{"ts":"2026-09-01T00:00:00.000Z","request_id":"a","client":"10.0.0.1","user":"p","verified":true,"user_agent":"tf/1","outcome":"ok","rule":"field_user_role","route":"/v1/users","method":"POST","detail":{"fields":[{"rule":"field_user_role","field":"/role","action":"observed","value":"admin"}]}}"#;
    let other = r#"{"ts":"2026-09-01T00:00:01.000Z","request_id":"b","client":"10.0.0.1","outcome":"ok","rule":"authorize","route":"/v1/users/authorize","method":"POST","detail":{"fields":"not a list","user":"u"}}"#;
    let text = format!("{good}\nnot json\n{{\"ts\":\"2026\"}}\n{other}\n");
    let mut tally = Tally::default();
    crate::audit::report::aggregate_reader(&mut tally, text.as_bytes(), None).expect("read");
    assert_eq!((tally.records, tally.skipped), (2, 2));
    let r = assess_at(&tally, &config(""), "8.2.0-25", t(0));
    let ids: Vec<&str> = r
        .callers
        .iter()
        .flat_map(|c| c.rows.iter().map(|r| r.id.as_str()))
        .collect();
    assert_eq!(ids, ["R1", "F1"]);
}
