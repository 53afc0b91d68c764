//! `check --at <instant>`: what each rule would do at that instant, as a text table, for an
//! operator rehearsing a schedule before it bites.
//!
//! Columns: rule, phase, what a call without an exemption gets, the window in force or next,
//! the Sunset with days left, and how many exemptions are in force then.

use super::calendar::{rfc3339, Day};
use super::decide::{self, Decision};
use super::exempt::Caller;
use super::schedule::Lifecycle;
use std::time::SystemTime;

/// The table, a header line naming the instant, then one row per rule in the order given.
pub fn check_table<'a>(
    at: SystemTime,
    rules: impl IntoIterator<Item = (&'a str, &'a Lifecycle)>,
) -> String {
    let mut rows = vec![[
        "rule".to_owned(),
        "phase".to_owned(),
        "a call gets".to_owned(),
        "brownout (current or next)".to_owned(),
        "sunset".to_owned(),
        "exemptions in force".to_owned(),
    ]];
    for (name, lc) in rules {
        rows.push(row(at, name, lc));
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!("at {}\n", rfc3339(at));
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < r.len() {
                let pad = widths[c] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn row(at: SystemTime, name: &str, lc: &Lifecycle) -> [String; 6] {
    let plan = lc.plan();
    let gets = match decide::decide(at, lc, &Caller::default()) {
        Decision::Serve => "served".to_owned(),
        Decision::Refuse(r) => refusal_text(&r),
        Decision::WouldRefuse { why } => {
            format!("served (dry run; would be {})", refusal_text(&why))
        }
        // A caller with no identity matches no exemption.
        Decision::Exempt { .. } => "served (exempt)".to_owned(),
    };
    let window = match lc.next_window(at) {
        Some(w) if w.contains(at) => format!("now, until {}", rfc3339(w.end)),
        Some(w) => format!(
            "{} for {}",
            rfc3339(w.start),
            humantime::format_duration(w.duration())
        ),
        None => "none".to_owned(),
    };
    let sunset = match (plan.sunset, lc.days_to_sunset(at)) {
        (Some(s), Some(d)) if d >= 0 => format!("{} ({d} days left)", Day::of(s)),
        // -1 during the Sunset's first day: `-d - 1` whole days have passed since.
        (Some(s), Some(d)) => format!("{} (passed {} days ago)", Day::of(s), -d - 1),
        _ => "none".to_owned(),
    };
    let in_force = plan
        .exemptions
        .iter()
        .filter(|e| !matches!(e.expires, Some(x) if at >= x))
        .count();
    [
        name.to_owned(),
        lc.phase(at).name().to_owned(),
        gets,
        window,
        sunset,
        format!("{in_force} of {}", plan.exemptions.len()),
    ]
}

fn refusal_text(r: &decide::Refusal) -> String {
    match r.retry_after_header() {
        Some(s) => format!("{} {}, Retry-After {s}", r.status.as_u16(), r.error_code),
        None => format!("{} {}", r.status.as_u16(), r.error_code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::schedule::tests::{at, plan};
    use crate::lifecycle::{Answer, Exemption, Grant};

    #[test]
    fn the_check_table_shows_each_rules_phase_answer_and_next_window() {
        let plain = Lifecycle::new(plan()).unwrap();
        let mut p = plan();
        p.answer = Answer::Unavailable;
        p.enforce = false;
        p.exemptions = vec![
            Exemption {
                grant: Grant::User("ops".into()),
                expires: Some(at(2027, 3, 1, 0, 0)),
            },
            Exemption {
                grant: Grant::User("ci".into()),
                expires: None,
            },
        ];
        let dry = Lifecycle::new(p).unwrap();
        let before = check_table(at(2027, 3, 1, 14, 5), [("module_upgrade", &plain)]);
        assert_eq!(
            before,
            "at 2027-03-01T14:05:00Z\n\
             rule            phase       a call gets  brownout (current or next)    sunset                      exemptions in force\n\
             module_upgrade  deprecated  served       2027-03-02T14:00:00Z for 15m  2027-06-30 (120 days left)  0 of 0\n"
        );
        let during = check_table(
            at(2027, 3, 2, 14, 5),
            [("module_upgrade", &plain), ("modules_upload", &dry)],
        );
        let lines: Vec<&str> = during.lines().collect();
        assert!(
            lines[2].contains("brownout") && lines[2].contains("410 route_brownout"),
            "{during}"
        );
        assert!(
            lines[2].contains("now, until 2027-03-02T14:15:00Z"),
            "{during}"
        );
        assert!(
            lines[3].contains("served (dry run; would be 503 route_brownout, Retry-After 600)"),
            "{during}"
        );
        assert!(lines[3].ends_with("1 of 2"), "{during}");
        let after = check_table(at(2027, 7, 2, 0, 0), [("module_upgrade", &plain)]);
        assert!(
            after.contains("sunset") && after.contains("410 route_sunset"),
            "{after}"
        );
        assert!(
            after.contains("2027-06-30 (passed 2 days ago)") && after.contains("none"),
            "{after}"
        );
    }
}
