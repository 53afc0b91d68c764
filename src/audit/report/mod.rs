//! "Who is still calling the old routes?": aggregation of audit records into one row per rule
//! and caller (user, client address, User-Agent), with the lifecycle phase each call met. The
//! same [`Summary`] serves the `report` subcommand, which streams audit files line by line (gzip
//! too), and the admin port's live `/deprecations`, which is fed each record as it is written.
//! Memory grows with the number of distinct callers (and, for the HTML page, rules × days),
//! never with the size of the files.
//!
//! - [`read`](mod@read): streaming files into a [`Summary`].
//! - [`caller`](mod@caller): the address a caller is known by, and its row's key.
//! - [`rules`](mod@rules): the per-rule header ([`RuleStatus`]: calls, phases, schedule).
//! - [`render`](mod@render): table, JSON, CSV; [`html`](mod@html): the HTML page.
//! - [`cli`](mod@cli): the `report` arguments and command.
//!
//! Records without `rule` are the module-upgrade rule's (files from before the rule table);
//! records without `phase` were served (no lifecycle decision was taken).

mod caller;
mod cli;
pub mod html;
mod read;
mod render;
pub mod rules;
mod types;

pub use caller::caller_address;
pub use cli::{offline_config, report_main, run, run_report, OutputFormat, ReportArgs};
pub use read::{
    aggregate, aggregate_filtered, aggregate_reader, visit, Line, Sink, MAX_LINE_BYTES,
};
pub use render::{render, Format};
pub use rules::{RuleStatus, Schedule, WindowView};
pub use types::{CallPhase, Outcomes, Phases, Report, Row, Totals};

use super::record::{format_ts, AuditRecord, Outcome};
use crate::lifecycle::Day;
use caller::build_key;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::SystemTime;

/// The rule of records that name none: the module-upgrade route, the only one before the table.
pub const DEFAULT_RULE: &str = "module_upgrade";
/// Distinct rule names the live summary keeps apart (rule names come from the configuration;
/// the cap only bounds a misbehaving writer).
pub const LIVE_MAX_RULES: usize = 256;

/// Distinct callers the live summary keeps apart, per class (verified by the cluster, and not):
/// later ones of a class are folded into one row ([`OVERFLOW`]), so a caller inventing
/// User-Agents cannot grow the process without bound, and (issue 20) junk callers cannot fold
/// a verified one away. At most 2 × this many rows, each a few hundred bytes plus its
/// databases (at most [`LIVE_MAX_DATABASES`]).
pub const LIVE_MAX_CALLERS: usize = 10_000;
/// Databases listed per caller in the live summary.
pub const LIVE_MAX_DATABASES: usize = 1_000;
/// Replica names listed per caller (a deployment has a handful).
pub const MAX_INSTANCES: usize = 64;
/// User, client and User-Agent of the row that absorbs callers past [`LIVE_MAX_CALLERS`].
pub const OVERFLOW: &str = "(other callers)";

#[derive(Debug)]
struct Entry {
    rule: String,
    user: Option<String>,
    verified: bool,
    client: String,
    user_agent: Option<String>,
    calls: u64,
    first_seen: SystemTime,
    last_seen: SystemTime,
    databases: BTreeSet<u64>,
    outcomes: Outcomes,
    phases: Phases,
    instances: BTreeSet<String>,
}

impl Entry {
    fn count(&mut self, call: &Call<'_>, max_dbs: usize, n: &Many) {
        self.calls += n.count;
        self.first_seen = self.first_seen.min(call.ts);
        self.last_seen = self.last_seen.max(n.last);
        if let Some(uid) = call.bdb_uid {
            if self.databases.len() < max_dbs || self.databases.contains(&uid) {
                self.databases.insert(uid);
            }
        }
        self.outcomes.add(call.outcome, n.count);
        self.phases
            .add(call.phase.unwrap_or(CallPhase::Served), n.count);
        if let Some(name) = call.instance {
            // Bounded like the databases: the replicas of one deployment are few.
            if self.instances.len() < MAX_INSTANCES && !self.instances.contains(name) {
                self.instances.insert(name.to_owned());
            }
        }
    }
}

/// How many calls one record stands for, and when the last was (a coalesced record).
#[derive(Debug, Clone, Copy)]
pub struct Many {
    pub count: u64,
    pub last: SystemTime,
}

/// What one record contributes, borrowed from wherever it was read.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// `None`: [`DEFAULT_RULE`].
    pub rule: Option<&'a str>,
    /// `None`: served.
    pub phase: Option<CallPhase>,
    pub user: Option<&'a str>,
    pub verified: bool,
    pub client: &'a str,
    /// The record's `forwarded_client` (an IP by the trusted-proxy rule), preferred to `client`.
    pub forwarded_client: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub ts: SystemTime,
    pub bdb_uid: Option<u64>,
    pub outcome: Outcome,
    pub instance: Option<&'a str>,
}

/// Calls and phases of one rule, and the first call seen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuleTotals {
    pub(crate) calls: u64,
    pub(crate) phases: Phases,
    pub(crate) first_seen: SystemTime,
}

/// Rows keyed by rule and caller, plus counts of what was read.
#[derive(Debug, Default)]
pub struct Summary {
    entries: HashMap<String, Entry>,
    /// Rows of unverified and of verified callers (the overflow row aside), each capped.
    rows: [usize; 2],
    /// Reused to build the lookup key, so a known caller costs no allocation.
    key: String,
    calls: u64,
    skipped: u64,
    limits: Option<(usize, usize)>,
    rules: BTreeMap<String, RuleTotals>,
    /// Calls per rule and UTC day, for the HTML chart (not kept by the live summary).
    daily: BTreeMap<(String, Day), u64>,
    /// `report --rule NAME`: calls of other rules are not counted.
    only_rule: Option<String>,
}

impl Summary {
    /// An unbounded summary, for reading files.
    pub fn new() -> Summary {
        Summary::default()
    }

    /// A summary for the live view: callers and databases per caller capped.
    pub fn live() -> Summary {
        Summary {
            limits: Some((LIVE_MAX_CALLERS, LIVE_MAX_DATABASES)),
            ..Summary::default()
        }
    }

    /// Counts only the calls of `rule` (`report --rule`).
    pub fn only_rule(mut self, rule: Option<String>) -> Summary {
        self.only_rule = rule;
        self
    }

    /// The rule filter, if any.
    pub fn rule_filter(&self) -> Option<&str> {
        self.only_rule.as_deref()
    }

    /// Adds a record as it is written (live view).
    pub fn record(&mut self, rec: &AuditRecord) {
        let ts = humantime::parse_rfc3339(&rec.ts).unwrap_or_else(|_| SystemTime::now());
        self.add(Call {
            rule: rec.rule.as_deref(),
            phase: rec.phase.as_deref().and_then(CallPhase::parse),
            user: rec.user.as_deref(),
            verified: rec.verified,
            client: &rec.client,
            forwarded_client: rec.forwarded_client.as_deref(),
            user_agent: rec.user_agent.as_deref(),
            ts,
            bdb_uid: rec.bdb_uid,
            outcome: rec.outcome,
            instance: rec.instance.as_deref(),
        });
    }

    /// Adds one call.
    pub fn add(&mut self, call: Call<'_>) {
        let many = Many {
            count: 1,
            last: call.ts,
        };
        self.add_many(call, &many);
    }

    /// Adds `many.count` calls alike, the first at `call.ts` and the last at `many.last` (a
    /// coalesced record, [`crate::audit::coalesce`]).
    pub fn add_many(&mut self, call: Call<'_>, many: &Many) {
        let mut rule = call.rule.unwrap_or(DEFAULT_RULE);
        if self.only_rule.as_deref().is_some_and(|only| only != rule) {
            return;
        }
        self.calls += many.count;
        if self.limits.is_some()
            && !self.rules.contains_key(rule)
            && self.rules.len() >= LIVE_MAX_RULES
        {
            rule = OVERFLOW;
        }
        self.count_rule(rule, &call, many.count);
        let client = caller_address(call.client, call.forwarded_client);
        let (mut user, mut client, mut ua) = (call.user, client, call.user_agent);
        let mut verified = call.verified;
        build_key(&mut self.key, rule, user, verified, client, ua);
        if let Some((max_callers, _)) = self.limits {
            if !self.entries.contains_key(self.key.as_str())
                && self.rows[usize::from(verified)] >= max_callers
            {
                (user, client, ua) = (Some(OVERFLOW), OVERFLOW, Some(OVERFLOW));
                verified = false;
                build_key(&mut self.key, rule, user, verified, client, ua);
            }
        }
        let max_dbs = self.limits.map_or(usize::MAX, |l| l.1);
        match self.entries.get_mut(self.key.as_str()) {
            Some(entry) => entry.count(&call, max_dbs, many),
            None => {
                let mut entry = Entry {
                    rule: rule.to_owned(),
                    user: user.map(str::to_owned),
                    verified,
                    client: client.to_owned(),
                    user_agent: ua.map(str::to_owned),
                    calls: 0,
                    first_seen: call.ts,
                    last_seen: call.ts,
                    databases: BTreeSet::new(),
                    outcomes: Outcomes::default(),
                    phases: Phases::default(),
                    instances: BTreeSet::new(),
                };
                entry.count(&call, max_dbs, many);
                if client != OVERFLOW {
                    self.rows[usize::from(verified)] += 1;
                }
                self.entries.insert(self.key.clone(), entry);
            }
        }
    }

    fn count_rule(&mut self, rule: &str, call: &Call<'_>, n: u64) {
        let phase = call.phase.unwrap_or(CallPhase::Served);
        match self.rules.get_mut(rule) {
            Some(t) => {
                t.calls += n;
                t.phases.add(phase, n);
                t.first_seen = t.first_seen.min(call.ts);
            }
            None => {
                let mut t = RuleTotals {
                    calls: n,
                    phases: Phases::default(),
                    first_seen: call.ts,
                };
                t.phases.add(phase, n);
                self.rules.insert(rule.to_owned(), t);
            }
        }
        // A coalesced record's calls count on the day of its first (its interval is a minute).
        if self.limits.is_none() {
            *self
                .daily
                .entry((rule.to_owned(), Day::of(call.ts)))
                .or_default() += n;
        }
    }

    /// Counts a line that was not an audit record.
    pub fn skip(&mut self) {
        self.skipped += 1;
    }

    pub fn calls(&self) -> u64 {
        self.calls
    }

    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    pub fn callers(&self) -> usize {
        self.entries.len()
    }

    /// The report without schedules ([`Summary::report_at`] adds them).
    pub fn report(&self) -> Report {
        self.report_at(None, SystemTime::now())
    }

    /// The rows, by rule, then most recently seen first (ties: more calls first, then by user
    /// and client); and one [`RuleStatus`] per rule seen or configured in `lifecycles`, with
    /// its schedule as it stands at `now`.
    pub fn report_at(
        &self,
        lifecycles: Option<&BTreeMap<String, crate::lifecycle::Lifecycle>>,
        now: SystemTime,
    ) -> Report {
        let mut entries: Vec<&Entry> = self.entries.values().collect();
        entries.sort_by(|a, b| {
            a.rule
                .cmp(&b.rule)
                .then(b.last_seen.cmp(&a.last_seen))
                .then(b.calls.cmp(&a.calls))
                .then_with(|| a.user.cmp(&b.user))
                .then_with(|| b.verified.cmp(&a.verified))
                .then_with(|| a.client.cmp(&b.client))
                .then_with(|| a.user_agent.cmp(&b.user_agent))
        });
        let mut totals = Totals {
            callers: entries.len() as u64,
            calls: self.calls,
            skipped_lines: self.skipped,
            ..Totals::default()
        };
        let callers = entries
            .into_iter()
            .map(|e| {
                totals.outcomes.ok += e.outcomes.ok;
                totals.outcomes.client_error += e.outcomes.client_error;
                totals.outcomes.upstream_error += e.outcomes.upstream_error;
                totals.outcomes.interrupted += e.outcomes.interrupted;
                totals.outcomes.unknown += e.outcomes.unknown;
                totals.phases.sum(&e.phases);
                Row {
                    rule: e.rule.clone(),
                    user: e.user.clone(),
                    verified: e.verified,
                    client: e.client.clone(),
                    user_agent: e.user_agent.clone(),
                    calls: e.calls,
                    first_seen: format_ts(e.first_seen),
                    last_seen: format_ts(e.last_seen),
                    databases: e.databases.iter().copied().collect(),
                    outcomes: e.outcomes,
                    phases: e.phases,
                    instances: e.instances.iter().cloned().collect(),
                }
            })
            .collect();
        Report {
            rules: rules::statuses(self, lifecycles, now),
            callers,
            totals,
        }
    }

    /// Calls per rule (seen), for the per-rule header and the HTML page.
    pub(crate) fn rule_totals(&self) -> &BTreeMap<String, RuleTotals> {
        &self.rules
    }

    /// Calls per rule and UTC day (file reading only).
    pub(crate) fn daily(&self) -> &BTreeMap<(String, Day), u64> {
        &self.daily
    }
}

#[cfg(test)]
mod tests;
