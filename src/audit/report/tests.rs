use super::*;

fn call<'a>(user: Option<&'a str>, client: &'a str, secs: u64, o: Outcome) -> Call<'a> {
    Call {
        rule: None,
        phase: None,
        user,
        verified: true,
        client,
        forwarded_client: None,
        user_agent: Some("ua"),
        ts: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        bdb_uid: Some(secs % 3),
        outcome: o,
        instance: Some(if secs.is_multiple_of(2) {
            "shim-a"
        } else {
            "shim-b"
        }),
    }
}

#[test]
fn rows_count_calls_and_sort_newest_first() {
    let mut s = Summary::new();
    s.add(call(Some("a"), "10.0.0.1", 10, Outcome::Ok));
    s.add(call(Some("a"), "10.0.0.1", 5, Outcome::ClientError));
    s.add(call(Some("b"), "10.0.0.2", 20, Outcome::UpstreamError));
    s.add(call(None, "10.0.0.1", 1, Outcome::Ok));
    let r = s.report();
    assert_eq!(r.callers.len(), 3);
    assert_eq!(r.callers[0].user.as_deref(), Some("b"));
    let a = &r.callers[1];
    assert_eq!((a.calls, a.databases.clone()), (2, vec![1, 2]));
    assert_eq!(a.first_seen, "1970-01-01T00:00:05.000Z");
    assert_eq!(a.last_seen, "1970-01-01T00:00:10.000Z");
    assert_eq!((a.outcomes.ok, a.outcomes.client_error), (1, 1));
    assert_eq!(r.totals.calls, 4);
    assert_eq!(r.totals.outcomes.upstream_error, 1);
}

#[test]
fn a_forged_name_is_its_own_unverified_row() {
    let mut s = Summary::new();
    s.add(call(Some("admin"), "10.0.0.1", 1, Outcome::Ok));
    let mut forged = call(Some("admin"), "10.0.0.1", 2, Outcome::ClientError);
    forged.verified = false;
    s.add(forged);
    let r = s.report();
    assert_eq!(r.callers.len(), 2);
    assert!(!r.callers[0].verified && r.callers[1].verified);
}

#[test]
fn keys_cannot_be_forged_by_separators() {
    let mut s = Summary::new();
    s.add(call(Some("a+1:b"), "c", 1, Outcome::Ok));
    s.add(call(Some("a"), "b+1:c", 1, Outcome::Ok));
    assert_eq!(s.callers(), 2);
}

#[test]
fn caller_address_drops_port_and_prefers_the_forwarded_client() {
    assert_eq!(caller_address("10.0.0.1:5555", None), "10.0.0.1");
    assert_eq!(caller_address("[::1]:80", None), "::1");
    assert_eq!(caller_address("::1", None), "::1");
    assert_eq!(
        caller_address("10.0.0.1", Some("203.0.113.9")),
        "203.0.113.9"
    );
    assert_eq!(caller_address("10.0.0.1", Some("")), "10.0.0.1");
}

#[test]
fn live_summary_folds_callers_past_the_cap() {
    let mut s = Summary::live();
    for i in 0..(LIVE_MAX_CALLERS + 5) {
        let ip = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
        s.add(call(Some("u"), &ip, 1, Outcome::Ok));
    }
    assert_eq!(s.callers(), LIVE_MAX_CALLERS + 1);
    let r = s.report();
    let other = r.callers.iter().find(|r| r.client == OVERFLOW).unwrap();
    assert_eq!(other.calls, 5);
}

#[test]
fn unverified_callers_past_the_cap_never_fold_a_verified_one() {
    let mut s = Summary::live();
    for i in 0..(LIVE_MAX_CALLERS + 5) {
        let ip = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
        let mut junk = call(None, &ip, 1, Outcome::ClientError);
        junk.verified = false;
        s.add(junk);
    }
    s.add(call(Some("admin"), "192.0.2.1", 2, Outcome::Ok));
    let r = s.report();
    let admin = r
        .callers
        .iter()
        .find(|r| r.user.as_deref() == Some("admin"));
    assert!(admin.is_some_and(|a| a.verified && a.calls == 1), "folded");
    let other = r.callers.iter().find(|r| r.client == OVERFLOW).unwrap();
    assert_eq!(other.calls, 5);
}

#[test]
fn rows_are_per_rule_and_caller_with_phase_counts() {
    let mut s = Summary::new();
    let mut c = call(Some("a"), "10.0.0.1", 10, Outcome::Ok);
    s.add(c);
    c.rule = Some("module_upload");
    for phase in [
        CallPhase::Refused,
        CallPhase::Refused,
        CallPhase::Exempt,
        CallPhase::WouldRefuse,
    ] {
        c.phase = Some(phase);
        s.add(c);
    }
    c.rule = Some("module_upgrade");
    c.phase = Some(CallPhase::Served);
    s.add(c);
    let r = s.report();
    assert_eq!(r.callers.len(), 2, "one row per rule for the same caller");
    let upgrade = &r.callers[0];
    assert_eq!(upgrade.rule, "module_upgrade");
    assert_eq!(upgrade.phases.served, 2, "no phase counts as served");
    let upload = &r.callers[1];
    assert_eq!(upload.rule, "module_upload");
    assert_eq!(
        (
            upload.phases.served,
            upload.phases.exempt,
            upload.phases.would_refuse,
            upload.phases.refused
        ),
        (0, 1, 1, 2)
    );
    assert_eq!(r.totals.phases.refused, 2);
    let rules: Vec<(&str, u64)> = r.rules.iter().map(|s| (s.rule.as_str(), s.calls)).collect();
    assert_eq!(rules, [("module_upgrade", 2), ("module_upload", 4)]);
    assert!(r.rules.iter().all(|s| s.lifecycle.is_none()));
}

#[test]
fn the_rule_filter_counts_only_that_rule() {
    let mut s = Summary::new().only_rule(Some("module_upload".into()));
    let mut c = call(Some("a"), "10.0.0.1", 10, Outcome::Ok);
    s.add(c);
    c.rule = Some("module_upload");
    s.add(c);
    let r = s.report();
    assert_eq!((r.totals.calls, r.callers.len(), r.rules.len()), (1, 1, 1));
    assert_eq!(r.callers[0].rule, "module_upload");
}

#[test]
fn the_schedule_of_a_configured_rule_is_reported_even_without_calls() {
    use crate::lifecycle::schedule::tests::{at, plan};
    let mut lcs = std::collections::BTreeMap::new();
    lcs.insert(
        "update_cert".to_owned(),
        crate::lifecycle::Lifecycle::new(plan()).unwrap(),
    );
    let mut s = Summary::new();
    s.add(call(Some("a"), "10.0.0.1", 10, Outcome::Ok));
    let r = s.report_at(Some(&lcs), at(2027, 3, 2, 14, 5));
    assert_eq!(r.rules.len(), 2);
    let cert = &r.rules[1];
    assert_eq!((cert.rule.as_str(), cert.calls), ("update_cert", 0));
    let l = cert.lifecycle.as_ref().unwrap();
    assert_eq!(l.phase, "brownout");
    assert_eq!(l.days_left, Some(119));
    let w = l.next_window.as_ref().unwrap();
    assert_eq!((w.end.as_str(), w.now), ("2027-03-02T14:15:00Z", true));
    let filtered = Summary::new().only_rule(Some("module_upgrade".into()));
    assert!(filtered
        .report_at(Some(&lcs), at(2027, 3, 2, 14, 5))
        .rules
        .is_empty());
}

#[test]
fn the_live_summary_folds_rules_past_its_cap() {
    let mut s = Summary::live();
    let names: Vec<String> = (0..LIVE_MAX_RULES + 3).map(|i| format!("r{i}")).collect();
    for name in &names {
        let mut c = call(Some("a"), "10.0.0.1", 1, Outcome::Ok);
        c.rule = Some(name);
        s.add(c);
    }
    let r = s.report();
    assert_eq!(r.rules.len(), LIVE_MAX_RULES + 1);
    assert_eq!(
        r.rules.iter().find(|s| s.rule == OVERFLOW).map(|s| s.calls),
        Some(3)
    );
}
