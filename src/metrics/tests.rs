use super::*;

#[test]
fn label_values_cannot_break_the_exposition() {
    assert_eq!(label_value(Some("a\"b\\c\nd")), "a_b_c_d");
    assert_eq!(label_value(None), "none");
    assert_eq!(label_value(Some("  ")), "none");
    assert_eq!(label_value(Some(&"x".repeat(500))).len(), MAX_LABEL_CHARS);
    let m = Metrics::new();
    m.deprecated_call(true, Some("u"), Some("evil\"} 1\nfake_metric 9"));
    let text = m.encode();
    assert!(!text.contains("\nfake_metric"), "{text}");
}

#[test]
fn caller_series_are_capped() {
    let m = Metrics::new();
    for i in 0..(MAX_CALLER_SERIES + 20) {
        m.rule_call(
            Some("module_upgrade"),
            true,
            Some(&format!("user{i}")),
            Some("ua"),
        );
    }
    m.rule_call(Some("module_upgrade"), true, Some("user0"), Some("ua"));
    let text = m.encode();
    let series = text
        .lines()
        .filter(|l| l.starts_with("deprecation_shim_deprecated_calls_total{"))
        .count();
    assert_eq!(series, MAX_CALLER_SERIES + 1, "{text}");
    assert!(text.contains(
        "deprecation_shim_deprecated_calls_total{rule=\"module_upgrade\",user=\"other\",user_agent=\"other\"} 20"
    ));
    assert!(text
        .contains("deprecation_shim_deprecated_calls_total{rule=\"module_upgrade\",user=\"user0\",user_agent=\"ua\"} 2"));
}

#[test]
fn the_caller_cap_counts_user_and_agent_pairs_across_rules_and_each_series_names_its_rule() {
    let m = Metrics::new();
    for i in 0..MAX_CALLER_SERIES {
        m.rule_call(
            Some("module_upload"),
            true,
            Some(&format!("user{i}")),
            Some("ua"),
        );
    }
    // A pair already seen keeps its own series under another rule; a new one is "other".
    m.rule_call(Some("authorize"), true, Some("user7"), Some("ua"));
    m.rule_call(Some("authorize"), true, Some("late"), Some("ua"));
    m.rule_outcome(Some("authorize"), None);
    m.rule_outcome(Some("module_upload"), Some("route_brownout"));
    let text = m.encode();
    for line in [
        "deprecation_shim_deprecated_calls_total{rule=\"authorize\",user=\"user7\",user_agent=\"ua\"} 1",
        "deprecation_shim_deprecated_calls_total{rule=\"authorize\",user=\"other\",user_agent=\"other\"} 1",
        "deprecation_shim_translation_outcomes_total{rule=\"authorize\",error_code=\"ok\"} 1",
        "deprecation_shim_translation_outcomes_total{rule=\"module_upload\",error_code=\"route_brownout\"} 1",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(!text.contains("user=\"late\""), "{text}");
}

#[test]
fn unverified_callers_share_one_series_and_leave_the_cap_to_real_ones() {
    let m = Metrics::new();
    for i in 0..(MAX_CALLER_SERIES + 50) {
        m.deprecated_call(false, Some(&format!("junk{i}")), Some(&format!("ua{i}")));
    }
    m.deprecated_call(true, Some("ops"), Some("jenkins"));
    let text = m.encode();
    assert!(text.contains(
        "deprecation_shim_deprecated_calls_total{rule=\"none\",user=\"unverified\",user_agent=\"unverified\"} 150"
    ), "{text}");
    assert!(
        text.contains(
            "deprecation_shim_deprecated_calls_total{rule=\"none\",user=\"ops\",user_agent=\"jenkins\"} 1"
        ),
        "{text}"
    );
    assert!(!text.contains("junk"), "{text}");
}

#[test]
fn in_flight_guard_decrements_on_drop() {
    let m = Metrics::new();
    let a = m.in_flight();
    let b = m.in_flight();
    let gauge = |m: &Metrics| {
        m.encode()
            .lines()
            .find(|l| l.starts_with("deprecation_shim_in_flight_requests "))
            .map(str::to_owned)
    };
    assert_eq!(
        gauge(&m).as_deref(),
        Some("deprecation_shim_in_flight_requests 2")
    );
    drop(a);
    drop(b);
    assert_eq!(
        gauge(&m).as_deref(),
        Some("deprecation_shim_in_flight_requests 0")
    );
}
