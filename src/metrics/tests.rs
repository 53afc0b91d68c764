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
        m.deprecated_call(true, Some(&format!("user{i}")), Some("ua"));
    }
    m.deprecated_call(true, Some("user0"), Some("ua"));
    let text = m.encode();
    let series = text
        .lines()
        .filter(|l| l.starts_with("deprecation_shim_deprecated_calls_total{"))
        .count();
    assert_eq!(series, MAX_CALLER_SERIES + 1, "{text}");
    assert!(text.contains(
        "deprecation_shim_deprecated_calls_total{user=\"other\",user_agent=\"other\"} 20"
    ));
    assert!(text
        .contains("deprecation_shim_deprecated_calls_total{user=\"user0\",user_agent=\"ua\"} 2"));
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
        "deprecation_shim_deprecated_calls_total{user=\"unverified\",user_agent=\"unverified\"} 150"
    ), "{text}");
    assert!(
        text.contains(
            "deprecation_shim_deprecated_calls_total{user=\"ops\",user_agent=\"jenkins\"} 1"
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
    assert_eq!(m.in_flight.get(), 2);
    drop(a);
    drop(b);
    assert_eq!(m.in_flight.get(), 0);
}
