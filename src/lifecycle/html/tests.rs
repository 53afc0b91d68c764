use super::*;
use crate::lifecycle::schedule::tests::{at, plan};
use crate::lifecycle::window::Brownout;
use crate::lifecycle::Weekday;
use std::time::Duration;

fn report(user_agent: &str) -> Report {
    let today = at(2027, 3, 2, 14, 5);
    let mut p = plan();
    p.brownouts.push(Brownout::Weekly {
        weekday: Weekday::Tuesday,
        time_of_day: Duration::from_secs(14 * 3600),
        duration: Duration::from_secs(900),
        from: at(2027, 3, 3, 0, 0),
        until: at(2027, 6, 30, 0, 0),
    });
    let lc = Lifecycle::new(p).unwrap();
    let d = |rule: &str, day: u32, calls| DailyCalls {
        rule: rule.into(),
        day: Day::from_ymd(2027, 2, day),
        calls,
    };
    Report {
        title: "Legacy callers <of> the RS API".into(),
        today,
        rules: vec![RuleView::from_lifecycle("module_upgrade", &lc, today)],
        daily: vec![
            d("module_upgrade", 1, 4),
            d("module_upgrade", 3, 9),
            d("module_upgrade", 3, 1),
            d("module_upgrade", 9, 0),
            d("other", 2, 5),
        ],
        callers: vec![CallerRow {
            rule: "module_upgrade".into(),
            user: Some("ops@example.com".into()),
            verified: true,
            client: "10.20.3.4".into(),
            user_agent: Some(user_agent.into()),
            served: 12,
            exempt: 0,
            would_refuse: 3,
            refused: 1,
            last_seen: today,
        }],
    }
}

#[test]
fn the_page_is_self_contained_with_no_script_and_no_external_reference() {
    let html = render(&report("rmadm/1.4"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("default-src 'none'"));
    for banned in ["<script", "src=", "href=", "url(", "@import", "https://"] {
        assert!(!html.contains(banned), "found {banned}");
    }
    // The only http: URL is the SVG namespace name, which is never fetched.
    assert_eq!(
        html.matches("http://").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(html.contains("<title>Legacy callers &lt;of&gt; the RS API</title>"));
}

#[test]
fn a_hostile_user_agent_is_escaped_and_its_bidi_controls_shown_not_applied() {
    let ua = "<script>alert(1)</script>\u{202E}exe.gpj\u{2066}\u{200B}\"'&\u{7}";
    let html = render(&report(ua));
    assert!(!html.contains("<script"), "raw script tag in the page");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;[U+202E]exe.gpj[U+2066][U+200B]&quot;&#39;&amp;[U+0007]"));
    for c in ['\u{202E}', '\u{2066}', '\u{200B}', '\u{7}'] {
        assert!(!html.contains(c), "{:?} reached the page", c);
    }
}

#[test]
fn long_caller_strings_are_cut_and_the_cut_is_said() {
    let shown = esc(&"a".repeat(MAX_STRING + 40));
    assert_eq!(
        shown,
        format!("{}… (+40 characters)", "a".repeat(MAX_STRING))
    );
}

#[test]
fn the_chart_draws_one_bar_per_day_with_calls_per_rule() {
    let r = report("x");
    let html = render(&r);
    // Days with calls for module_upgrade: 02-01 and 02-03 (two records summed); 02-09 has 0.
    assert_eq!(
        html.matches("class=\"bar\" data-rule=\"module_upgrade\"")
            .count(),
        2
    );
    assert!(html.contains("data-day=\"2027-02-03\" data-calls=\"10\""));
    assert_eq!(
        html.matches("class=\"bar\"").count(),
        2,
        "only rules with a section get a chart"
    );
    assert!(html.contains("<dt>Calls</dt><dd>14</dd>"));
}

#[test]
fn the_timeline_shows_dates_windows_today_and_the_phase() {
    let html = render(&report("x"));
    assert!(html.contains("Deprecation 2026-01-01"));
    assert!(html.contains("Sunset 2027-06-30"));
    assert!(html.contains("today 2027-03-02"));
    assert!(html.contains("brownout until 2027-03-02T14:15:00Z"));
    assert!(html.contains("2027-03-02T14:00:00Z to 2027-03-02T14:15:00Z"));
    let marks = html.matches("class=\"window\"").count();
    assert!((1..=18).contains(&marks), "{marks} window marks");
}

#[test]
fn no_calls_and_no_callers_render_a_readable_page() {
    let mut r = report("x");
    r.daily.clear();
    r.callers.clear();
    let html = render(&r);
    assert!(html.contains("No calls recorded."));
    assert!(html.contains("no calls recorded"));
    assert_eq!(html.matches("class=\"bar\"").count(), 0);
}
