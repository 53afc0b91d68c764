//! `report --format html`: the records of a [`Summary`] as [`crate::lifecycle::html`]'s page
//! (calls per day per rule, each rule's timeline, the callers with their phases).
//!
//! Decisions:
//! - A rule's timeline comes from its configured lifecycle (`--config`); without one, from the
//!   rule's own dates in the rule table (the configuration's, else the built-in defaults), with
//!   no brownouts; a rule neither knows (an operator rule read without `--config`) is drawn
//!   from its first recorded call, the only date the records hold.
//! - The page's "today" is the report's instant (`--now`, default now).

use super::Summary;
use crate::config::Config;
use crate::lifecycle::html::{render, CallerRow, DailyCalls, Report, RuleView};
use crate::lifecycle::{AfterSunset, Answer, Lifecycle, Plan};
use crate::rules::{builtin, Options};
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

pub const TITLE: &str = "Legacy callers of the Redis Software REST API";

/// The page for `summary` at `now`, schedules from `cfg` when given.
pub fn page(summary: &Summary, cfg: Option<&Config>, now: SystemTime) -> String {
    render(&report(summary, cfg, now))
}

/// [`page`] with the "Readiness for <target>" section (`report --target V`).
pub fn page_with(
    summary: &Summary,
    cfg: Option<&Config>,
    now: SystemTime,
    readiness: &crate::readiness::Readiness,
) -> String {
    let view = crate::readiness::render::html_view(readiness);
    crate::lifecycle::html::render_with(&report(summary, cfg, now), Some(&view))
}

/// The page's data.
pub fn report(summary: &Summary, cfg: Option<&Config>, now: SystemTime) -> Report {
    let lifecycles = cfg.map(|c| &c.lifecycle.rules);
    let mut names: BTreeSet<&str> = summary.rule_totals().keys().map(String::as_str).collect();
    for name in lifecycles.into_iter().flat_map(|l| l.keys()) {
        if summary.rule_filter().is_none_or(|only| only == name) {
            names.insert(name);
        }
    }
    let defaults = builtin(&Options::default()).unwrap_or_default();
    let rules = names
        .into_iter()
        .filter_map(|name| {
            if let Some(lc) = lifecycles.and_then(|l| l.get(name)) {
                return Some(RuleView::from_lifecycle(name, lc, now));
            }
            let meta = cfg
                .and_then(|c| c.rules.table.get(name))
                .or_else(|| defaults.iter().find(|r| r.name == name))
                .map(|r| (r.meta.deprecation, r.meta.sunset));
            let (deprecation, sunset) = meta.unwrap_or_else(|| {
                let first = summary.rule_totals().get(name).map(|t| t.first_seen);
                (first.unwrap_or(now), None)
            });
            let lc = dates_only(deprecation, sunset)?;
            Some(RuleView::from_lifecycle(name, &lc, now))
        })
        .collect();
    let daily = summary
        .daily()
        .iter()
        .map(|((rule, day), calls)| DailyCalls {
            rule: rule.clone(),
            day: *day,
            calls: *calls,
        })
        .collect();
    Report {
        title: TITLE.to_owned(),
        today: now,
        rules,
        daily,
        callers: caller_rows(summary),
    }
}

/// A lifecycle with only the rule's dates: no brownouts, kept after its Sunset. `None` only if
/// `Lifecycle::new` refused it, which it does for too many brownout windows alone.
fn dates_only(deprecation: SystemTime, sunset: Option<SystemTime>) -> Option<Lifecycle> {
    Lifecycle::new(Plan {
        deprecation,
        sunset: sunset.filter(|s| *s >= deprecation),
        brownouts: Vec::new(),
        after_sunset: AfterSunset::Keep,
        answer: Answer::Gone,
        enforce: false,
        warn_before_sunset: Duration::ZERO,
        exemptions: Vec::new(),
    })
    .ok()
}

/// The callers as the page lists them: by rule, most recently seen first.
fn caller_rows(summary: &Summary) -> Vec<CallerRow> {
    let mut entries: Vec<&super::Entry> = summary.entries.values().collect();
    entries.sort_by(|a, b| {
        a.rule
            .cmp(&b.rule)
            .then(b.last_seen.cmp(&a.last_seen))
            .then(b.calls.cmp(&a.calls))
    });
    entries
        .into_iter()
        .map(|e| CallerRow {
            rule: e.rule.clone(),
            user: e.user.clone(),
            verified: e.verified,
            client: e.client.clone(),
            user_agent: e.user_agent.clone(),
            served: e.phases.served,
            exempt: e.phases.exempt,
            would_refuse: e.phases.would_refuse,
            refused: e.phases.refused,
            last_seen: e.last_seen,
        })
        .collect()
}
