//! The per-rule part of the report: each rule's calls and phases, and, when the configuration
//! gives it a lifecycle, its schedule at the report's instant (phase, next brownout, Sunset,
//! days left). The table prints it as one header line per rule; JSON, CSV readers and
//! `/deprecations` get it as `rules`.

use super::{Phases, Summary};
use crate::lifecycle::calendar::{rfc3339, Day};
use crate::lifecycle::Lifecycle;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// One rule: what its calls met and, if configured, its schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStatus {
    pub rule: String,
    pub calls: u64,
    pub phases: Phases,
    /// `None` (JSON `null`): no lifecycle is configured for this rule (or the report was
    /// made without `--config`).
    pub lifecycle: Option<Schedule>,
}

/// A rule's schedule at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// `announced`, `deprecated`, `brownout` or `sunset`.
    pub phase: String,
    /// `false`: dry run (refusals are only counted as would_refuse).
    pub enforce: bool,
    /// The Deprecation date, RFC 3339.
    pub deprecation: String,
    pub sunset: Option<String>,
    /// Whole days to the Sunset, rounded towards it; negative after it.
    pub days_left: Option<i64>,
    /// The brownout in force, else the next one.
    pub next_window: Option<WindowView>,
    /// Exemptions configured (in force or not).
    pub exemptions: usize,
}

/// A brownout window, `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowView {
    pub start: String,
    pub end: String,
    /// Whether the window is in force at the report's instant.
    pub now: bool,
}

impl Schedule {
    pub fn of(lc: &Lifecycle, now: SystemTime) -> Schedule {
        let plan = lc.plan();
        Schedule {
            phase: lc.phase(now).name().to_owned(),
            enforce: plan.enforce,
            deprecation: rfc3339(plan.deprecation),
            sunset: plan.sunset.map(rfc3339),
            days_left: lc.days_to_sunset(now),
            next_window: lc.next_window(now).map(|w| WindowView {
                start: rfc3339(w.start),
                end: rfc3339(w.end),
                now: w.contains(now),
            }),
            exemptions: plan.exemptions.len(),
        }
    }
}

/// One status per rule seen in the records or configured in `lifecycles` (restricted to the
/// summary's `--rule`), by name.
pub fn statuses(
    summary: &Summary,
    lifecycles: Option<&BTreeMap<String, Lifecycle>>,
    now: SystemTime,
) -> Vec<RuleStatus> {
    let mut out: BTreeMap<&str, RuleStatus> = BTreeMap::new();
    for (name, t) in summary.rule_totals() {
        out.insert(
            name,
            RuleStatus {
                rule: name.clone(),
                calls: t.calls,
                phases: t.phases,
                lifecycle: None,
            },
        );
    }
    for (name, lc) in lifecycles.into_iter().flatten() {
        if summary.rule_filter().is_some_and(|only| only != name) {
            continue;
        }
        out.entry(name)
            .or_insert_with(|| RuleStatus {
                rule: name.clone(),
                calls: 0,
                phases: Phases::default(),
                lifecycle: None,
            })
            .lifecycle = Some(Schedule::of(lc, now));
    }
    out.into_values().collect()
}

/// The table's header line for one rule, e.g.
/// `rule module_upgrade: brownout now, until 2027-03-02T14:15:00Z; sunset 2027-06-30 (120 days left); enforced; 12 calls: ...`.
pub fn header_line(s: &RuleStatus, configured: bool) -> String {
    let schedule = match &s.lifecycle {
        None if configured => "no lifecycle configured for this rule".to_owned(),
        None => "no lifecycle configured (pass --config FILE to show its schedule)".to_owned(),
        Some(l) => {
            let next = match &l.next_window {
                Some(w) if w.now => format!("brownout now, until {}", w.end),
                Some(w) => format!("next brownout {} to {}", w.start, w.end),
                None => "no brownout scheduled".to_owned(),
            };
            let sunset = match (&l.sunset, l.days_left) {
                (Some(s), Some(d)) if d >= 0 => format!("sunset {} ({d} days left)", day(s)),
                // -1 during the Sunset's first day: `-d - 1` whole days have passed since.
                (Some(s), Some(d)) => format!("sunset {} (passed {} days ago)", day(s), -d - 1),
                _ => "no sunset".to_owned(),
            };
            let enforce = if l.enforce { "enforced" } else { "dry run" };
            format!("{}; {next}; {sunset}; {enforce}", l.phase)
        }
    };
    let p = &s.phases;
    format!(
        "rule {}: {schedule}; {} call{}: served {}, exempt {}, would refuse {}, refused {}",
        crate::escape::escape_capped(&s.rule, 64),
        s.calls,
        if s.calls == 1 { "" } else { "s" },
        p.served,
        p.exempt,
        p.would_refuse,
        p.refused
    )
}

/// "2027-06-30T00:00:00Z" → "2027-06-30".
fn day(ts: &str) -> String {
    match humantime::parse_rfc3339(ts) {
        Ok(t) => Day::of(t).to_string(),
        Err(_) => ts.to_owned(),
    }
}
