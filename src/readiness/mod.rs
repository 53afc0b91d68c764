//! "What breaks if we upgrade to 8.2?" (issue 23 item 4): per caller, and per rule or field rule
//! it touched, the verdict on a target version (`carried`, `breaks`, `changes`, `unaffected`),
//! with its evidence. Pure: observations in ([`Tally::add`]), verdict rows out ([`assess`]); no
//! I/O. Reading the audit files is [`cli`] (through the report's reader), printing [`render`].
//!
//! Decisions (the issue and API-CATALOGUE §11–§13 are silent on these):
//! - A caller is the report's: user, verified or not, client address (the trusted
//!   `forwarded_client` first) and User-Agent; one row per caller, rule and `METHOD route`.
//! - A record with field hits (`detail.fields`) counts once for each distinct field rule it
//!   names, not for its primary `rule`; any other record counts for its `rule` (absent: R0).
//! - Route rules: [`crate::rules::decide`] at the target, under the configured mode (the code
//!   the proxy runs): `gone` (410) → `breaks`; the shim translates → `carried`; else the
//!   route's `removed_in` at or below the target → `breaks` (nothing carries it); else
//!   `unaffected` (still served there, R14/R15/R18 included).
//! - Field rules: [`crate::rules::fields::verdict::verdict`] as configured. Both are
//!   [`request`]'s rows.
//! - Reply-side records (F14's aliases added, F2's predefined names absent) are `reply` rows
//!   ([`reply`]): F14 one row per old key read, F2 one per list read; never refused by a
//!   lifecycle (the shim refuses no read for them).
//! - Lifecycle: where `[lifecycle.<rule>]` refuses this caller's call at `at` (brownout or
//!   Sunset, enforced, no exemption for this caller) the row `breaks`, whatever the version.
//!   A dry run (`would_refuse`) does not break. `at` is the planned upgrade's instant (default
//!   now).
//! - A rule the configuration does not know (records from another configuration): `unaffected`,
//!   said in `why`; the verdict is only as good as the configuration given.
//! - A caller's verdict is its worst row (breaks > changes > carried > unaffected); the target is
//!   NO-GO when some caller breaks.

pub mod cli;
pub mod render;
mod reply;
#[cfg(test)]
mod reply_tests;
mod request;
#[cfg(test)]
mod tests;

use crate::audit::record::format_ts;
use crate::lifecycle::{Decision, Lifecycle};
use crate::rules::fields::aliases::ReplyAliases;
use crate::rules::fields::verdict::Verdict;
use crate::rules::{RuleTable, Version};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// Who called, as the report names a caller.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Caller {
    pub user: Option<String>,
    pub verified: bool,
    pub client: String,
    pub user_agent: Option<String>,
}

/// What a row is about: a route rule or a field rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    Route,
    Field,
    /// A field the caller reads in a reply (F14, F2's reply side).
    Reply,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Route => "route",
            Subject::Field => "field",
            Subject::Reply => "reply",
        }
    }
}

/// One record, as plain values: what [`Tally::add`] takes.
#[derive(Debug, Clone)]
pub struct Seen<'a> {
    pub caller: Caller,
    /// The record's `rule` (absent: the module-upgrade rule).
    pub rule: Option<&'a str>,
    pub method: &'a str,
    pub route: &'a str,
    /// The field hits (`detail.fields`): rule name and concrete pointer.
    pub fields: Vec<(&'a str, &'a str)>,
    /// What a reply-side rule saw (F14's old keys, F2's absent names); `None`: a request's
    /// record.
    pub reply: Option<Vec<&'a str>>,
    pub request_id: &'a str,
    pub first: SystemTime,
    pub last: SystemTime,
    pub count: u64,
}

/// Counts, first and last seen, and an example, of one caller's calls on one rule and route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub count: u64,
    pub first: SystemTime,
    pub last: SystemTime,
    /// The request id of the first call seen.
    pub request_id: String,
    /// A concrete pointer of the field (field rules only).
    pub field: Option<String>,
}

/// Caller, subject, rule, `METHOD route`, and for F14 the old key read.
type Key = (Caller, Subject, String, String, Option<String>);

/// Observations so far, by caller, subject, rule and `METHOD route`.
#[derive(Debug, Default)]
pub struct Tally {
    seen: BTreeMap<Key, Evidence>,
    records: u64,
    skipped: u64,
}

impl Tally {
    /// Adds one record.
    pub fn add(&mut self, s: &Seen<'_>) {
        self.records += s.count;
        let call = format!("{} {}", s.method, s.route);
        if let (Some(keys), Some(rule)) = (&s.reply, s.rule) {
            for (key, field) in reply::keys(rule, keys) {
                let k = (
                    s.caller.clone(),
                    Subject::Reply,
                    rule.to_owned(),
                    call.clone(),
                    key,
                );
                self.count(k, s, Some(&field));
            }
            return;
        }
        if s.fields.is_empty() {
            let rule = s.rule.unwrap_or(crate::audit::report::DEFAULT_RULE);
            self.count(
                (
                    s.caller.clone(),
                    Subject::Route,
                    rule.to_owned(),
                    call,
                    None,
                ),
                s,
                None,
            );
            return;
        }
        let mut done: Vec<&str> = Vec::new();
        for (rule, pointer) in &s.fields {
            if done.contains(rule) {
                continue;
            }
            done.push(rule);
            let key = (
                s.caller.clone(),
                Subject::Field,
                (*rule).to_owned(),
                call.clone(),
                None,
            );
            self.count(key, s, Some(pointer));
        }
    }

    fn count(&mut self, key: Key, s: &Seen<'_>, field: Option<&str>) {
        let e = self.seen.entry(key).or_insert_with(|| Evidence {
            count: 0,
            first: s.first,
            last: s.last,
            request_id: s.request_id.to_owned(),
            field: field.map(str::to_owned),
        });
        e.count += s.count;
        if s.first < e.first {
            e.first = s.first;
            e.request_id = s.request_id.to_owned();
        }
        e.last = e.last.max(s.last);
    }

    /// Counts a line that was not a record.
    pub fn skip(&mut self) {
        self.skipped += 1;
    }
}

/// What the verdicts are decided against.
#[derive(Debug, Clone, Copy)]
pub struct Against<'a> {
    pub table: &'a RuleTable,
    pub lifecycles: &'a BTreeMap<String, Lifecycle>,
    /// F14's settings (the reply aliases added there).
    pub aliases: &'a ReplyAliases,
    pub target: Version,
    /// The planned upgrade's instant: the lifecycles are decided then.
    pub at: SystemTime,
}

/// One caller's verdict on one rule and route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub subject: Subject,
    /// `R18`, `F3`, or `custom`.
    pub id: String,
    pub rule: String,
    /// `METHOD /route/{template}`.
    pub call: String,
    pub verdict: Verdict,
    pub why: String,
    pub evidence: Evidence,
}

/// One caller, its worst verdict and its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerVerdict {
    pub caller: Caller,
    pub verdict: Verdict,
    pub rows: Vec<Row>,
}

/// The readiness of a target version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub target: Version,
    pub at: SystemTime,
    pub callers: Vec<CallerVerdict>,
    /// Calls read (a coalesced record counts its calls), and lines that were not records.
    pub records: u64,
    pub skipped_lines: u64,
}

impl Readiness {
    /// No caller breaks.
    pub fn go(&self) -> bool {
        self.breaking().next().is_none()
    }

    /// The callers that break.
    pub fn breaking(&self) -> impl Iterator<Item = &CallerVerdict> {
        self.callers.iter().filter(|c| c.verdict == Verdict::Breaks)
    }

    /// Callers per verdict: carried, breaks, changes, unaffected.
    pub fn counts(&self) -> [(Verdict, usize); 4] {
        ORDER.map(|v| (v, self.callers.iter().filter(|c| c.verdict == v).count()))
    }
}

const ORDER: [Verdict; 4] = [
    Verdict::Breaks,
    Verdict::Changes,
    Verdict::Carried,
    Verdict::Unaffected,
];

fn severity(v: Verdict) -> usize {
    ORDER.len() - ORDER.iter().position(|o| *o == v).unwrap_or(ORDER.len())
}

/// Every caller's verdicts on `against.target`.
pub fn assess(tally: &Tally, against: &Against<'_>) -> Readiness {
    let mut callers: Vec<CallerVerdict> = Vec::new();
    for ((caller, subject, rule, call, key), evidence) in &tally.seen {
        let (id, verdict, why) = judge(*subject, (rule, key.as_deref()), caller, against);
        let row = Row {
            subject: *subject,
            id,
            rule: rule.clone(),
            call: call.clone(),
            verdict,
            why,
            evidence: evidence.clone(),
        };
        match callers.last_mut() {
            Some(c) if c.caller == *caller => c.rows.push(row),
            _ => callers.push(CallerVerdict {
                caller: caller.clone(),
                verdict: Verdict::Unaffected,
                rows: vec![row],
            }),
        }
    }
    for c in &mut callers {
        c.rows
            .sort_by_key(|r| std::cmp::Reverse(severity(r.verdict)));
        c.verdict = c.rows.first().map_or(Verdict::Unaffected, |r| r.verdict);
    }
    callers.sort_by_key(|c| std::cmp::Reverse(severity(c.verdict)));
    Readiness {
        target: against.target,
        at: against.at,
        callers,
        records: tally.records,
        skipped_lines: tally.skipped,
    }
}

/// The id, verdict and reason of one row.
fn judge(
    subject: Subject,
    (name, key): (&str, Option<&str>),
    caller: &Caller,
    a: &Against<'_>,
) -> (String, Verdict, String) {
    let (id, verdict, why) = match subject {
        Subject::Route => request::route(name, a),
        Subject::Field => request::field(name, a),
        Subject::Reply => return reply::judge(name, key, a),
    };
    match refused(name, caller, a) {
        Some(code) => (
            id,
            Verdict::Breaks,
            format!(
                "refused by [lifecycle.{name}] at {} ({code})",
                format_ts(a.at)
            ),
        ),
        None => (id, verdict, why),
    }
}

/// The error code of the configured lifecycle's refusal of this caller's call at `a.at`.
fn refused(name: &str, caller: &Caller, a: &Against<'_>) -> Option<&'static str> {
    let lc = a.lifecycles.get(name)?;
    let who = crate::lifecycle::Caller {
        verified_user: caller.user.as_deref().filter(|_| caller.verified),
        user_agent: caller.user_agent.as_deref(),
        client_ip: caller.client.parse().ok(),
    };
    match crate::lifecycle::decide(a.at, lc, &who) {
        Decision::Refuse(r) => Some(r.error_code),
        _ => None,
    }
}
