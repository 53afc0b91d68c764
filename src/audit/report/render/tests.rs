use super::*;
use crate::audit::report::{Outcomes, Phases, RuleStatus, Totals};

fn report() -> Report {
    Report {
        rules: vec![],
        callers: vec![Row {
            rule: "module_upgrade".into(),
            user: Some("ops".into()),
            verified: true,
            client: "10.0.0.1".into(),
            user_agent: Some("=cmd|' /C calc'!A0, \"x\"\u{1b}[31m".into()),
            calls: 12,
            first_seen: "2025-01-01T00:00:00.000Z".into(),
            last_seen: "2025-01-02T03:04:05.678Z".into(),
            databases: (1..=10).collect(),
            instances: vec!["shim-a".into(), "shim-b".into()],
            phases: Phases {
                served: 9,
                exempt: 1,
                would_refuse: 2,
                refused: 0,
            },
            outcomes: Outcomes {
                ok: 10,
                client_error: 1,
                upstream_error: 1,
                interrupted: 0,
                unknown: 0,
            },
        }],
        totals: Totals {
            callers: 1,
            calls: 12,
            outcomes: Outcomes {
                ok: 10,
                client_error: 1,
                upstream_error: 1,
                interrupted: 0,
                unknown: 0,
            },
            phases: Phases {
                served: 9,
                exempt: 1,
                would_refuse: 2,
                refused: 0,
            },
            skipped_lines: 3,
        },
    }
}

#[test]
fn table_is_aligned_and_safe_for_terminals() {
    let t = render(&report(), Format::Table, None, false);
    let lines: Vec<&str> = t.lines().collect();
    assert!(
        lines[0].starts_with("RULE            LAST SEEN             FIRST SEEN"),
        "{t}"
    );
    assert!(
        lines[1].starts_with("module_upgrade  2025-01-02T03:04:05Z  2025-01-01T00:00:00Z  ops ")
    );
    for (col, value) in [
        ("SERVED", "9"),
        ("EXEMPT", "1"),
        ("WOULD_REFUSE", "2"),
        ("REFUSED", "0"),
    ] {
        let end = lines[0].find(col).map(|i| i + col.len());
        assert_eq!(
            end.and_then(|e| lines[1].get(e - value.len()..e)),
            Some(value),
            "{col} in {t}"
        );
    }
    assert_eq!(
        lines[0].find("CALLS").map(|i| i + 5),
        lines[1].find("12").map(|i| i + 2)
    );
    assert!(
        lines[1].ends_with("1,2,3,4,5,6,7,8,+2  shim-a,shim-b"),
        "{t}"
    );
    assert!(!t.contains('\u{1b}'));
    assert!(t.contains("1 caller, 12 calls (ok 10, client errors 1, upstream errors 1; served 9, exempt 1, would refuse 2, refused 0); 3 corrupt lines skipped"), "{t}");
}

#[test]
fn table_neutralises_bidi_and_format_controls() {
    let mut r = report();
    r.callers[0].user = Some("admin\u{202e}gpj.exe\u{2066}x\u{2069}\u{200b}".into());
    let t = render(&r, Format::Table, None, false);
    for c in ['\u{202e}', '\u{2066}', '\u{2069}', '\u{200b}'] {
        assert!(!t.contains(c), "{c:?} in {t}");
    }
    assert!(
        t.contains("admin\\u{202e}gpj.exe\\u{2066}x\\u{2069}\\u{200b}"),
        "{t}"
    );
}

#[test]
fn unverified_users_are_marked_in_every_format() {
    let mut r = report();
    r.callers[0].verified = false;
    assert!(render(&r, Format::Table, None, false).contains("  ops (unverified)  "));
    let csv = render(&r, Format::Csv, None, false);
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    // ..., upstream_error, verified, instances, rule, served, exempt, would_refuse, refused
    assert_eq!(row[row.len() - 7], "false");
    assert!(render(&r, Format::Json, None, false).contains("\"verified\": false"));
}

#[test]
fn csv_quotes_and_neutralises_formulas() {
    let c = render(&report(), Format::Csv, None, false);
    let row = c.lines().nth(1).unwrap();
    assert!(
        row.starts_with("ops,10.0.0.1,\"'=cmd|' /C calc'!A0, \"\"x\"\""),
        "{row}"
    );
    assert!(
        row.ends_with(
            ",12,2025-01-01T00:00:00.000Z,2025-01-02T03:04:05.678Z,1 2 3 4 5 6 7 8 9 10,10,1,1,true,shim-a shim-b,module_upgrade,9,1,2,0"
        ),
        "{row}"
    );
}

#[test]
fn json_round_trips() {
    let j = render(&report(), Format::Json, None, false);
    let back: Report = serde_json::from_str(&j).unwrap();
    assert_eq!(back, report());
}

#[test]
fn each_rule_gets_a_header_line_with_its_schedule_or_none() {
    use crate::audit::report::{Schedule, WindowView};
    let mut r = report();
    r.rules = vec![
        RuleStatus {
            rule: "module_upgrade".into(),
            calls: 12,
            phases: r.totals.phases,
            lifecycle: Some(Schedule {
                phase: "brownout".into(),
                enforce: true,
                deprecation: "2024-11-01T00:00:00Z".into(),
                sunset: Some("2027-06-30T00:00:00Z".into()),
                days_left: Some(120),
                next_window: Some(WindowView {
                    start: "2027-03-02T14:00:00Z".into(),
                    end: "2027-03-02T14:15:00Z".into(),
                    now: true,
                }),
                exemptions: 1,
            }),
        },
        RuleStatus {
            rule: "update_cert".into(),
            calls: 0,
            phases: Phases::default(),
            lifecycle: None,
        },
    ];
    let t = render(&r, Format::Table, None, true);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(
        lines[0],
        "rule module_upgrade: brownout; brownout now, until 2027-03-02T14:15:00Z; sunset 2027-06-30 (120 days left); enforced; 12 calls: served 9, exempt 1, would refuse 2, refused 0"
    );
    assert_eq!(
        lines[1],
        "rule update_cert: no lifecycle configured for this rule; 0 calls: served 0, exempt 0, would refuse 0, refused 0"
    );
    assert_eq!(lines[2], "");
    assert!(lines[3].starts_with("RULE "), "{t}");
    let bare = render(&r, Format::Table, None, false);
    assert!(bare.contains(
        "rule update_cert: no lifecycle configured (pass --config FILE to show its schedule)"
    ));
}
