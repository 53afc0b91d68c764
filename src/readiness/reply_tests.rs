//! Readiness rows of the reply-side rules, row by row: F14 per old key read, aliases on vs
//! off; F2's reply side vs its request side; the audit reader's `aliases` and
//! `predefined_absent`.

use super::tests::{assess_at, config, seen, t, who};
use super::*;
use crate::rules::fields::verdict::Verdict;

const ALIASES_ON: &str = "[rules.field_reply_aliases]\nmode = \"translate\"\n";

/// `(rule id, reply key, verdict)` of every row, in the order shown.
fn rows(r: &Readiness) -> Vec<(String, Option<String>, Verdict)> {
    r.callers
        .iter()
        .flat_map(|c| c.rows.iter())
        .map(|row| (row.id.clone(), row.evidence.field.clone(), row.verdict))
        .collect()
}

fn f14_tally() -> Tally {
    let mut tally = Tally::default();
    let mut s = seen(
        who("mon", true, "legacy/1"),
        "field_reply_aliases",
        ("GET", "/v1/bdbs/{uid}"),
        "r1",
        0,
    );
    s.reply = Some(vec!["ssl", "use_ipv6"]);
    tally.add(&s);
    tally
}

#[test]
fn f14_each_old_key_read_is_a_row_carried_with_aliases_on_and_changes_with_them_off() {
    let tally = f14_tally();
    let table = [
        // (configuration, target, ssl, use_ipv6)
        ("", "8.2.0-25", Verdict::Changes, Verdict::Changes),
        ("", "8.0.20-68", Verdict::Changes, Verdict::Unaffected),
        (ALIASES_ON, "8.2.0-25", Verdict::Carried, Verdict::Carried),
        (
            ALIASES_ON,
            "8.0.20-68",
            Verdict::Carried,
            Verdict::Unaffected,
        ),
    ];
    for (toml, target, ssl, ipv6) in table {
        let r = assess_at(&tally, &config(toml), target, t(0));
        let mut got = rows(&r);
        got.sort_by(|a, b| a.1.cmp(&b.1));
        let want = vec![
            ("F14".to_owned(), Some("ssl".to_owned()), ssl),
            ("F14".to_owned(), Some("use_ipv6".to_owned()), ipv6),
        ];
        assert_eq!(got, want, "{toml:?} on {target}");
        let subject = r.callers[0].rows[0].subject;
        assert_eq!(subject.as_str(), "reply");
    }
}

#[test]
fn f2_a_read_of_the_lists_changes_from_7_2_4_and_an_invalid_reference_breaks() {
    let mut tally = Tally::default();
    let caller = who("vault", true, "vault-plugin/0.3");
    let mut read = seen(
        caller.clone(),
        "field_predefined_roles",
        ("GET", "/v1/redis_acls"),
        "r1",
        0,
    );
    read.reply = Some(vec!["Not Dangerous", "Read Only"]);
    tally.add(&read);
    let r = assess_at(&tally, &config(""), "8.2.0-25", t(0));
    let row = &r.callers[0].rows[0];
    assert_eq!((row.id.as_str(), row.verdict), ("F2", Verdict::Changes));
    assert_eq!(
        row.evidence.field.as_deref(),
        Some("predefined_absent: Not Dangerous, Read Only")
    );
    assert!(r.go(), "a read alone does not make the target NO-GO");
    let below = assess_at(&tally, &config(""), "7.2.0-1", t(0));
    assert_eq!(below.callers[0].rows[0].verdict, Verdict::Unaffected);

    let mut sent = seen(
        caller,
        "field_predefined_roles",
        ("POST", "/v1/bdbs"),
        "r2",
        5,
    );
    sent.fields = vec![(
        "field_predefined_roles",
        "/roles_permissions/0/redis_acl_uid",
    )];
    tally.add(&sent);
    let r = assess_at(&tally, &config(""), "8.2.0-25", t(0));
    assert_eq!(r.callers.len(), 1);
    assert_eq!(r.callers[0].verdict, Verdict::Breaks);
    let verdicts: Vec<(Subject, Verdict)> = r.callers[0]
        .rows
        .iter()
        .map(|row| (row.subject, row.verdict))
        .collect();
    assert_eq!(
        verdicts,
        [
            (Subject::Field, Verdict::Breaks),
            (Subject::Reply, Verdict::Changes)
        ]
    );
}

#[test]
fn f2_a_reply_row_is_not_refused_by_a_lifecycle_that_refuses_the_request_side() {
    let toml = "[lifecycle.field_predefined_roles]\nsunset_date = \"2026-01-01\"\nenforce = true\nafter_sunset = \"gone\"\n";
    let cfg = config(toml);
    let mut tally = Tally::default();
    let mut read = seen(
        who("vault", true, "v/1"),
        "field_predefined_roles",
        ("GET", "/v1/roles"),
        "r1",
        0,
    );
    read.reply = Some(Vec::new());
    tally.add(&read);
    let mut sent = seen(
        read.caller.clone(),
        "field_predefined_roles",
        ("PUT", "/v1/bdbs/{uid}"),
        "r2",
        0,
    );
    sent.fields = vec![("field_predefined_roles", "/roles_permissions/0/role_uid")];
    tally.add(&sent);
    let r = assess_at(&tally, &cfg, "8.2.0-25", t(1_800_000_000));
    let field = r.callers[0]
        .rows
        .iter()
        .find(|x| x.subject == Subject::Field)
        .expect("field");
    assert!(
        field.why.starts_with("refused by [lifecycle."),
        "{}",
        field.why
    );
    let row = r.callers[0]
        .rows
        .iter()
        .find(|x| x.subject == Subject::Reply)
        .expect("reply");
    assert_eq!(row.verdict, Verdict::Changes, "{}", row.why);
    assert_eq!(
        row.evidence.field.as_deref(),
        Some("predefined_absent: none")
    );
}

#[test]
fn the_reader_takes_f14_aliases_and_f2_predefined_absent_from_the_detail() {
    let f14 = r#"{"ts":"2026-09-01T00:00:00.000Z","request_id":"a","client":"10.0.0.1","outcome":"ok","rule":"field_reply_aliases","route":"/v1/cluster","method":"GET","detail":{"aliases":[{"field":"use_ipv6","from":"use_external_ipv6","objects":1}]}}"#;
    let f2 = r#"{"ts":"2026-09-01T00:00:01.000Z","request_id":"b","client":"10.0.0.1","outcome":"ok","rule":"field_predefined_roles","route":"/v1/roles","method":"GET","count":3,"detail":{"predefined_absent":["DB Member"]}}"#;
    let text = format!("{f14}\n{f2}\n");
    let mut tally = Tally::default();
    crate::audit::report::aggregate_reader(&mut tally, text.as_bytes(), None).expect("read");
    let r = assess_at(&tally, &config(""), "8.2.0-25", t(0));
    let mut got = rows(&r);
    got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(
        got,
        [
            (
                "F14".to_owned(),
                Some("use_ipv6".to_owned()),
                Verdict::Changes
            ),
            (
                "F2".to_owned(),
                Some("predefined_absent: DB Member".to_owned()),
                Verdict::Changes
            ),
        ]
    );
    let f2_row = r.callers[0]
        .rows
        .iter()
        .find(|row| row.id == "F2")
        .expect("F2");
    assert_eq!(f2_row.evidence.count, 3);
}
