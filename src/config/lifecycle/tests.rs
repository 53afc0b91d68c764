use super::*;
use crate::lifecycle::calendar::Day;
use crate::lifecycle::{Caller, Decision, Phase};

fn parse(toml_text: &str) -> Result<Lifecycles, ConfigError> {
    let raw = crate::config::parse_raw(toml_text)?;
    lifecycles(raw.lifecycle, |_| None)
}

fn err(toml_text: &str) -> ConfigError {
    parse(toml_text).expect_err("config should be refused")
}

fn day(y: i64, m: u32, d: u32) -> SystemTime {
    Day::from_ymd(y, m, d).start()
}

/// The commented `[lifecycle.module_upgrade]` block of config/example.toml, uncommented.
fn example_block() -> String {
    let text = include_str!("../../../config/example.toml");
    let start = text
        .find("# [lifecycle.module_upgrade]")
        .expect("example block");
    text[start..]
        .lines()
        // The block ends at the next live section (`[rules]`, whose own comments follow).
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            l.starts_with('[')
                || l.split_once(" = ").is_some_and(|(k, _)| {
                    !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                })
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_documented_example_block_validates_with_its_warning() {
    let block = example_block();
    assert!(
        block.contains("[[lifecycle.module_upgrade.exemptions]]"),
        "{block}"
    );
    let all = parse(&block).unwrap();
    let lc = &all.rules["module_upgrade"];
    let plan = lc.plan();
    assert_eq!(plan.deprecation, day(2024, 11, 1));
    assert_eq!(plan.sunset, Some(day(2027, 6, 30)));
    assert_eq!(
        (plan.answer, plan.after_sunset, plan.enforce),
        (Answer::Gone, AfterSunset::Gone, false)
    );
    assert_eq!(plan.warn_before_sunset, DEFAULT_WARN_BEFORE_SUNSET);
    assert_eq!(plan.exemptions.len(), 2);
    // 1 explicit + 13 Tuesdays from 2027-04-06 to 2027-06-29.
    assert_eq!(lc.windows().len(), 14);
    // Issue 20: one warning per rule, naming each brownout before the Sunset.
    assert_eq!(all.warnings.len(), 1, "{:?}", all.warnings);
    assert!(
        all.warnings[0].starts_with("lifecycle.module_upgrade: brownouts[0], brownouts[1] from "),
        "{:?}",
        all.warnings
    );
    assert!(all.warnings[0].contains("RFC 9745 §5"));
}

#[test]
fn defaults_are_a_dry_run_answering_410_and_gone_after_sunset() {
    let all = parse("[lifecycle.module_upgrade]\ndeprecation_date = \"2024-11-01\"\n").unwrap();
    let plan = all.rules["module_upgrade"].plan();
    assert!(!plan.enforce);
    assert_eq!(
        (plan.answer, plan.after_sunset, plan.sunset),
        (Answer::Gone, AfterSunset::Gone, None)
    );
    assert!(all.warnings.is_empty());
}

#[test]
fn a_rule_without_a_lifecycle_deprecation_date_takes_the_rules_own() {
    let raw = crate::config::parse_raw("[lifecycle.module_upgrade]\nenforce = true\n").unwrap();
    let dates = RuleDates {
        deprecation: day(2024, 11, 1),
        sunset: Some(day(2027, 6, 30)),
    };
    let all = lifecycles(raw.lifecycle.clone(), |n| {
        (n == "module_upgrade").then_some(dates)
    })
    .unwrap();
    assert_eq!(
        all.rules["module_upgrade"].plan().sunset,
        Some(day(2027, 6, 30))
    );
    let e = lifecycles(raw.lifecycle, |_| None).unwrap_err();
    assert_eq!(e.key, "lifecycle.module_upgrade.deprecation_date");
}

#[test]
fn a_sunset_before_the_deprecation_is_refused_naming_the_key() {
    let e = err("[lifecycle.module_upgrade]\ndeprecation_date = \"2026-01-01\"\nsunset_date = \"2025-12-31\"\n");
    assert_eq!(e.key, "lifecycle.module_upgrade.sunset_date");
    assert!(e.problem.contains("RFC 9745"), "{e}");
}

#[test]
fn a_brownout_before_the_deprecation_is_refused_naming_the_entry() {
    let e = err("[lifecycle.module_upgrade]\ndeprecation_date = \"2026-01-01\"\n\
        [[lifecycle.module_upgrade.brownouts]]\nstart = \"2026-02-01T10:00:00Z\"\nduration = \"5m\"\n\
        [[lifecycle.module_upgrade.brownouts]]\nstart = \"2025-12-31T10:00:00Z\"\nduration = \"5m\"\n");
    assert_eq!(e.key, "lifecycle.module_upgrade.brownouts[1].start");
    // A weekly brownout whose first occurrence is before the deprecation names its `from`.
    let e = err("[lifecycle.r]\ndeprecation_date = \"2026-01-07\"\n[[lifecycle.r.brownouts]]\n\
        weekday = \"tue\"\ntime = \"14:00\"\nduration = \"15m\"\nfrom = \"2026-01-01\"\nuntil = \"2026-03-01\"\n");
    assert_eq!(e.key, "lifecycle.r.brownouts[0].from");
}

#[test]
fn a_brownout_after_a_gone_sunset_is_reported_as_never_applying() {
    let all = parse(
        "[lifecycle.r]\ndeprecation_date = \"2026-01-01\"\nsunset_date = \"2026-06-01\"\n\
        [[lifecycle.r.brownouts]]\nstart = \"2026-07-01\"\nduration = \"1h\"\n",
    )
    .unwrap();
    assert_eq!(all.warnings.len(), 1);
    assert!(
        all.warnings[0].contains("never applies"),
        "{:?}",
        all.warnings
    );
}

#[test]
fn malformed_entries_are_refused_with_their_keys() {
    let base = "[lifecycle.r]\ndeprecation_date = \"2026-01-01\"\n";
    let cases: &[(&str, &str)] = &[
        ("answer = 404\n", "lifecycle.r.answer"),
        ("after_sunset = \"maybe\"\n", "lifecycle.r.after_sunset"),
        ("warn_before_sunset = \"soon\"\n", "lifecycle.r.warn_before_sunset"),
        ("[[lifecycle.r.brownouts]]\nstart = \"2026-02-01\"\n", "lifecycle.r.brownouts[0].duration"),
        ("[[lifecycle.r.brownouts]]\nstart = \"2026-02-01\"\nduration = \"0s\"\n", "lifecycle.r.brownouts[0].duration"),
        ("[[lifecycle.r.brownouts]]\nstart = \"2026-02-01\"\nduration = \"5m\"\nweekday = \"mon\"\n", "lifecycle.r.brownouts[0].weekday"),
        ("[[lifecycle.r.brownouts]]\nstart = \"Feb 1\"\nduration = \"5m\"\n", "lifecycle.r.brownouts[0].start"),
        ("[[lifecycle.r.brownouts]]\nweekday = \"tuesday\"\nduration = \"5m\"\nfrom = \"2026-02-01\"\nuntil = \"2026-03-01\"\n", "lifecycle.r.brownouts[0].time"),
        ("[[lifecycle.r.brownouts]]\nweekday = \"blursday\"\ntime = \"14:00\"\nduration = \"5m\"\nfrom = \"2026-02-01\"\nuntil = \"2026-03-01\"\n", "lifecycle.r.brownouts[0].weekday"),
        ("[[lifecycle.r.brownouts]]\nweekday = \"tue\"\ntime = \"24:00\"\nduration = \"5m\"\nfrom = \"2026-02-01\"\nuntil = \"2026-03-01\"\n", "lifecycle.r.brownouts[0].time"),
        ("[[lifecycle.r.brownouts]]\nweekday = \"tue\"\ntime = \"14:00\"\nduration = \"7days\"\nfrom = \"2026-02-01\"\nuntil = \"2026-03-01\"\n", "lifecycle.r.brownouts[0].duration"),
        ("[[lifecycle.r.brownouts]]\nweekday = \"tue\"\ntime = \"14:00\"\nduration = \"5m\"\nfrom = \"2026-03-01\"\nuntil = \"2026-03-01\"\n", "lifecycle.r.brownouts[0].until"),
        ("[[lifecycle.r.brownouts]]\nweekday = \"tue\"\ntime = \"14:00\"\nduration = \"5m\"\nfrom = \"2026-03-04\"\nuntil = \"2026-03-05\"\n", "lifecycle.r.brownouts[0].from"),
        ("[[lifecycle.r.exemptions]]\nexpires = \"2027-01-01\"\n", "lifecycle.r.exemptions[0]"),
        ("[[lifecycle.r.exemptions]]\nuser = \"a\"\nclient = \"10.0.0.0/8\"\n", "lifecycle.r.exemptions[0]"),
        ("[[lifecycle.r.exemptions]]\nclient = \"10.0.0.0/33\"\n", "lifecycle.r.exemptions[0].client"),
        ("[[lifecycle.r.exemptions]]\nuser_agent = \"\"\n", "lifecycle.r.exemptions[0].user_agent"),
        ("[[lifecycle.r.exemptions]]\nuser = \"a\"\nexpires = \"soon\"\n", "lifecycle.r.exemptions[0].expires"),
    ];
    for (extra, key) in cases {
        let e = err(&format!("{base}{extra}"));
        assert_eq!(e.key, *key, "for {extra:?}: {e}");
    }
    assert_eq!(
        err("[lifecycle.Module-Upgrade]\ndeprecation_date = \"2026-01-01\"\n").key,
        "lifecycle.Module-Upgrade"
    );
    // Unknown keys are refused by serde with the key named.
    let e = err(&format!("{base}enforced = true\n"));
    assert!(e.problem.contains("enforced"), "{e}");
}

#[test]
fn too_many_windows_are_refused_naming_the_brownout() {
    let e = err("[lifecycle.r]\ndeprecation_date = \"1990-01-01\"\n[[lifecycle.r.brownouts]]\n\
        weekday = \"mon\"\ntime = \"00:00\"\nduration = \"1m\"\nfrom = \"1990-01-01\"\nuntil = \"2300-01-01\"\n");
    assert_eq!(e.key, "lifecycle.r.brownouts[0]");
}

#[test]
fn a_validated_schedule_decides_calls_end_to_end() {
    let all = parse("[lifecycle.r]\ndeprecation_date = \"2026-01-01\"\nsunset_date = \"2027-06-30\"\n\
        enforce = true\nanswer = 503\n[[lifecycle.r.brownouts]]\nweekday = \"tue\"\ntime = \"14:00\"\n\
        duration = \"15m\"\nfrom = \"2026-12-01\"\nuntil = \"2027-02-01\"\n\
        [[lifecycle.r.exemptions]]\nclient = \"10.20.0.0/16\"\nexpires = \"2027-01-01\"\n")
    .unwrap();
    let lc = &all.rules["r"];
    let new_year_tuesday = day(2026, 12, 29) + Duration::from_secs(14 * 3600 + 60);
    assert!(matches!(lc.phase(new_year_tuesday), Phase::Brownout { .. }));
    let lan = Caller {
        client_ip: Some("10.20.3.4".parse().unwrap()),
        ..Caller::default()
    };
    assert_eq!(
        crate::lifecycle::decide(new_year_tuesday, lc, &lan).name(),
        "exempt"
    );
    let next_week = new_year_tuesday + WEEK;
    match crate::lifecycle::decide(next_week, lc, &lan) {
        Decision::Refuse(r) => assert_eq!(r.retry_after, Some(Duration::from_secs(14 * 60))),
        other => panic!("{other:?}"),
    }
}
