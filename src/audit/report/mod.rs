//! "Who is still calling the old route?": aggregation of audit records into one row per caller
//! (user, client address, User-Agent). The same [`Summary`] serves the `report` subcommand, which
//! streams audit files line by line (gzip too), and the admin port's live `/deprecations`, which
//! is fed each record as it is written. Memory grows with the number of distinct callers, never
//! with the size of the files.

mod read;
mod render;

pub use read::{aggregate, aggregate_reader, MAX_LINE_BYTES};
pub use render::{render, Format};

use super::record::{format_ts, AuditRecord, Outcome};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::SystemTime;

/// Distinct callers the live summary keeps apart; later ones are folded into one row
/// ([`OVERFLOW`]), so a caller inventing User-Agents cannot grow the process without bound.
pub const LIVE_MAX_CALLERS: usize = 10_000;
/// Databases listed per caller in the live summary.
pub const LIVE_MAX_DATABASES: usize = 1_000;
/// Replica names listed per caller (a deployment has a handful).
pub const MAX_INSTANCES: usize = 64;
/// User, client and User-Agent of the row that absorbs callers past [`LIVE_MAX_CALLERS`].
pub const OVERFLOW: &str = "(other callers)";

/// One caller of the deprecated route, as the report and `/deprecations` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub user: Option<String>,
    /// Whether the cluster accepted this user's credentials on these calls. Verified and
    /// unverified calls under one name are separate rows: a forged name cannot hide among
    /// the real user's calls.
    #[serde(default)]
    pub verified: bool,
    pub client: String,
    pub user_agent: Option<String>,
    pub calls: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub databases: Vec<u64>,
    pub outcomes: Outcomes,
    /// The replicas (`instance` of the records) that served this caller.
    #[serde(default)]
    pub instances: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcomes {
    pub ok: u64,
    pub client_error: u64,
    pub upstream_error: u64,
}

impl Outcomes {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Ok => self.ok += 1,
            Outcome::ClientError => self.client_error += 1,
            // Interrupted by a stop: the call did not get its answer from the cluster.
            Outcome::UpstreamError | Outcome::Interrupted => self.upstream_error += 1,
        }
    }
}

/// Totals under the rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub callers: u64,
    pub calls: u64,
    pub outcomes: Outcomes,
    /// Lines that were not audit records (corrupt, truncated, too long).
    pub skipped_lines: u64,
}

/// The JSON document of `report --format json` and of `GET /deprecations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub callers: Vec<Row>,
    pub totals: Totals,
}

#[derive(Debug)]
struct Entry {
    user: Option<String>,
    verified: bool,
    client: String,
    user_agent: Option<String>,
    calls: u64,
    first_seen: SystemTime,
    last_seen: SystemTime,
    databases: BTreeSet<u64>,
    outcomes: Outcomes,
    instances: BTreeSet<String>,
}

impl Entry {
    fn count(&mut self, call: &Call<'_>, max_dbs: usize) {
        self.calls += 1;
        self.first_seen = self.first_seen.min(call.ts);
        self.last_seen = self.last_seen.max(call.ts);
        if let Some(uid) = call.bdb_uid {
            if self.databases.len() < max_dbs || self.databases.contains(&uid) {
                self.databases.insert(uid);
            }
        }
        self.outcomes.add(call.outcome);
        if let Some(name) = call.instance {
            // Bounded like the databases: the replicas of one deployment are few.
            if self.instances.len() < MAX_INSTANCES && !self.instances.contains(name) {
                self.instances.insert(name.to_owned());
            }
        }
    }
}

/// What one record contributes, borrowed from wherever it was read.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
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

/// Rows keyed by caller, plus counts of what was read.
#[derive(Debug, Default)]
pub struct Summary {
    entries: HashMap<String, Entry>,
    /// Reused to build the lookup key, so a known caller costs no allocation.
    key: String,
    calls: u64,
    skipped: u64,
    limits: Option<(usize, usize)>,
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

    /// Adds a record as it is written (live view).
    pub fn record(&mut self, rec: &AuditRecord) {
        let ts = humantime::parse_rfc3339(&rec.ts).unwrap_or_else(|_| SystemTime::now());
        self.add(Call {
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
        self.calls += 1;
        let client = caller_address(call.client, call.forwarded_client);
        let (mut user, mut client, mut ua) = (call.user, client, call.user_agent);
        let mut verified = call.verified;
        build_key(&mut self.key, user, verified, client, ua);
        if let Some((max_callers, _)) = self.limits {
            if !self.entries.contains_key(self.key.as_str()) && self.entries.len() >= max_callers {
                (user, client, ua) = (Some(OVERFLOW), OVERFLOW, Some(OVERFLOW));
                verified = false;
                build_key(&mut self.key, user, verified, client, ua);
            }
        }
        let max_dbs = self.limits.map_or(usize::MAX, |l| l.1);
        match self.entries.get_mut(self.key.as_str()) {
            Some(entry) => entry.count(&call, max_dbs),
            None => {
                let mut entry = Entry {
                    user: user.map(str::to_owned),
                    verified,
                    client: client.to_owned(),
                    user_agent: ua.map(str::to_owned),
                    calls: 0,
                    first_seen: call.ts,
                    last_seen: call.ts,
                    databases: BTreeSet::new(),
                    outcomes: Outcomes::default(),
                    instances: BTreeSet::new(),
                };
                entry.count(&call, max_dbs);
                self.entries.insert(self.key.clone(), entry);
            }
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

    /// The rows, most recently seen first (ties: more calls first, then by user and client).
    pub fn report(&self) -> Report {
        let mut entries: Vec<&Entry> = self.entries.values().collect();
        entries.sort_by(|a, b| {
            b.last_seen
                .cmp(&a.last_seen)
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
                Row {
                    user: e.user.clone(),
                    verified: e.verified,
                    client: e.client.clone(),
                    user_agent: e.user_agent.clone(),
                    calls: e.calls,
                    first_seen: format_ts(e.first_seen),
                    last_seen: format_ts(e.last_seen),
                    databases: e.databases.iter().copied().collect(),
                    outcomes: e.outcomes,
                    instances: e.instances.iter().cloned().collect(),
                }
            })
            .collect();
        Report { callers, totals }
    }
}

/// The address a caller is known by: the record's `forwarded_client` when it has one (an IP
/// the shim read from `X-Forwarded-For` by the trusted-proxy rule), else the peer; a port, if
/// any, is dropped so one caller stays one row across connections. The raw `forwarded_for`
/// text is never used: its left-most entry is whatever the caller typed.
pub fn caller_address<'a>(client: &'a str, forwarded_client: Option<&'a str>) -> &'a str {
    let forwarded = forwarded_client.map(str::trim).filter(|s| !s.is_empty());
    let addr = forwarded.unwrap_or(client);
    match addr.parse::<SocketAddr>() {
        Ok(sa) => {
            // "1.2.3.4:5" or "[::1]:5": the IP is the text before the last ':', brackets removed.
            let host = &addr[..addr.rfind(':').unwrap_or(addr.len())];
            if sa.is_ipv6() {
                host.trim_start_matches('[').trim_end_matches(']')
            } else {
                host
            }
        }
        Err(_) => addr,
    }
}

/// An unambiguous key from three optional texts: each is written as a presence mark, its
/// length and itself, so no value can forge another caller's key.
fn build_key(key: &mut String, user: Option<&str>, verified: bool, client: &str, ua: Option<&str>) {
    use std::fmt::Write as _;
    key.clear();
    key.push(if verified { 'v' } else { 'u' });
    for part in [user, Some(client), ua] {
        match part {
            // Writing into a String cannot fail.
            Some(s) => {
                let _ = write!(key, "+{}:{s}", s.len());
            }
            None => key.push('-'),
        }
    }
}

/// The arguments of `deprecation-shim report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Audit log files (JSON lines); rotated `.gz` files are read too.
    #[arg(required = true, num_args = 1.., value_name = "AUDIT.jsonl")]
    pub files: Vec<PathBuf>,
    /// Only count calls at or after DATE ("2024-11-01", "2024-11-01T12:00:00Z" or "@1730419200").
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<SystemTime>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn parse_since(s: &str) -> Result<SystemTime, String> {
    crate::config::parse_date("--since", s).map_err(|e| e.problem)
}

/// Reads the files and renders the report.
pub fn run_report(
    files: &[PathBuf],
    since: Option<SystemTime>,
    format: Format,
) -> Result<String, String> {
    let summary = aggregate(files, since)?;
    Ok(render(&summary.report(), format, since))
}

/// `deprecation-shim report ...`: the report on standard output.
pub fn report_main(args: ReportArgs) -> Result<(), String> {
    use std::io::Write as _;
    let out = run_report(&args.files, args.since, args.format)?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write the report: {e}"))
}

#[cfg(test)]
mod tests;
