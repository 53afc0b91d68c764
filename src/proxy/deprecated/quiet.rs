//! R18's quiet lane (issue 22: marking a statistics call may cost at most 10 % more than the
//! same call unmarked). Monitoring agents poll the v1 statistics routes every few seconds with
//! the same credentials, User-Agent and address, and R18 audits them one record per caller,
//! template and status per window (`[rules.stats_v1] audit_window`). The envelope
//! ([`super::envelope`]) builds a whole audit record per call, to count most of them into an
//! open window: that was a third of the call's cost.
//!
//! So the envelope runs a caller's first call (its record opens the window) and the lane
//! learns it ([`Quiet::learn`]). The caller's next calls take the lane: forwarded untouched,
//! marked, then counted into the same window, the live summary, the same metrics series and
//! the hourly log summary, exactly as the envelope would have counted them, without building
//! a record ([`crate::audit::AuditLog::repeat_windowed`]).
//!
//! Decisions:
//! - The lane takes only calls whose record would only be counted: R18 observed, no
//!   `[lifecycle.stats_v1]` (a gate decides per call), not refused on entry, the audit log
//!   healthy, a place among `shim.max_concurrent_calls` taken, and at most one
//!   `Authorization`, `User-Agent` and `X-Forwarded-For` header (a record joins several).
//!   Every other call goes through the envelope.
//! - A caller is [`Who`]: the same fields as the window's key, read from the head. A call whose
//!   status the lane has not seen, or whose window was written meanwhile, gets its own record
//!   (the envelope's outcome path) and is learned in turn.
//! - The table is per configuration (a reload starts it empty) and bounded by
//!   [`MAX_CALLERS`] × [`MAX_STATUSES`]; past it, calls go through the envelope.

use super::step::Note;
use super::{outcome, stats};
use crate::audit::{self, AuditRecord};
use crate::listener::ConnInfo;
use crate::locks::lock;
use crate::proxy::app::App;
use crate::proxy::callers::Fingerprint;
use crate::proxy::forward;
use crate::proxy::reply::RespBody;
use crate::rules::version::Seen;
use crate::rules::{Matched, Rule, RuleId};
use http::header::{AUTHORIZATION, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use hyper::body::Incoming;
use prometheus_client::metrics::counter::Counter;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

/// Callers the lane knows at once. Each entry keeps one record per status (~1–2 KB with capped
/// fields), so the table stays under ~8 MB; monitoring pollers are a handful. Past the bound,
/// calls go through the envelope: slower, counted the same.
pub const MAX_CALLERS: usize = 1024;
/// Statuses learned per caller.
pub const MAX_STATUSES: usize = 4;

const FORWARDED_FOR: http::HeaderName = http::HeaderName::from_static("x-forwarded-for");
const REQUEST_ID: http::HeaderName =
    http::HeaderName::from_static(audit::record::REQUEST_ID_HEADER);

/// The fields of a call its window key and summary row are made of, from its head.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Who {
    rule: usize,
    template: String,
    method: Method,
    /// The fingerprint of its `Authorization` (the record's user is read from the first call).
    credentials: Option<Fingerprint>,
    user_agent: Option<HeaderValue>,
    /// Only when `X-Forwarded-For` is trusted, as in the record.
    forwarded_for: Option<HeaderValue>,
    peer: IpAddr,
}

impl Who {
    /// The caller of a call of rule `rule` (its index) whose path said `hint`, if the lane
    /// may take it.
    pub fn of(
        app: &App,
        conn: &ConnInfo,
        req: &Request<Incoming>,
        (rule, hint, credentials): (usize, Hint, Option<Fingerprint>),
    ) -> Option<(Who, PathFacts)> {
        let headers = req.headers();
        let single = |name: http::HeaderName| headers.get_all(name).iter().nth(1).is_none();
        if !(single(AUTHORIZATION) && single(USER_AGENT) && single(FORWARDED_FOR)) {
            return None;
        }
        let trust = app.config.audit.trust_forwarded_for;
        let who = Who {
            rule,
            template: hint.template,
            method: req.method().clone(),
            credentials,
            user_agent: headers.get(USER_AGENT).cloned(),
            forwarded_for: headers.get(FORWARDED_FOR).filter(|_| trust).cloned(),
            peer: conn.peer.ip(),
        };
        Some((who, hint.facts))
    }
}

/// What the rule table's match of a call says for the lane, taken when the call is
/// classified (so the lane matches nothing again): R18's calls only.
#[derive(Debug)]
pub struct Hint {
    template: String,
    facts: PathFacts,
}

impl Hint {
    /// The hint of a call `matched` classified, when its rule is R18's.
    pub fn of(app: &App, matched: &Matched<'_>) -> Option<Hint> {
        if matched.rule.id != RuleId::StatsV1 || matched.bad_param.is_some() {
            return None;
        }
        let params = &matched.params;
        let facts = PathFacts {
            bdb_uid: params.int("uid").or_else(|| params.int("bdb_uid")),
            successor: app
                .config
                .rules
                .stats
                .metrics_v2_url
                .clone()
                .or_else(|| matched.successor_path()),
        };
        Some(Hint {
            template: matched.template.as_str().to_owned(),
            facts,
        })
    }
}

/// The caller of a call the lane may take or learn from (the module's decisions):
/// `entered_clean` when nothing refused the call on entry.
pub(super) fn caller(
    app: &App,
    conn: &ConnInfo,
    req: &Request<Incoming>,
    (rule, r, hint, credentials): (usize, &Rule, Hint, Option<Fingerprint>),
    (step, entered_clean): (super::Step, bool),
) -> Option<(Who, PathFacts)> {
    let eligible = r.id == RuleId::StatsV1
        && matches!(step, super::Step::Observe { .. })
        && entered_clean
        && !app.config.lifecycle.rules.contains_key(&r.name)
        && !(app.audit.last_write_failed() && app.audit.must_fail());
    eligible
        .then(|| Who::of(app, conn, req, (rule, hint, credentials)))
        .flatten()
}

/// What a call's path says for its record and marks: its database, and the `Link` to its
/// successor (R18: the configured v2 metrics URL).
#[derive(Debug, Clone)]
pub struct PathFacts {
    bdb_uid: Option<u64>,
    successor: Option<String>,
}

/// What the lane counts a repeat with: the window's key, the record that opened it, the
/// metrics series and the log summary's caller key.
pub struct Learned {
    key: String,
    first: AuditRecord,
    counters: [Counter; 2],
    stats_key: String,
}

/// What the lane learned of one caller, per status.
pub type Known = Arc<Vec<(u16, Arc<Learned>)>>;

/// The callers the lane knows, with what it learned per status.
#[derive(Default)]
pub struct Quiet {
    known: Mutex<HashMap<Who, Known>>,
}

impl Quiet {
    /// What the lane knows of `who`, if anything (a call of theirs may then take it).
    pub fn known(&self, who: &Who) -> Option<Known> {
        lock(&self.known).get(who).cloned()
    }

    /// Callers known now (the bound's proof in tests).
    pub fn callers(&self) -> usize {
        lock(&self.known).len()
    }

    /// Learns a call of `who` whose whole record was just counted (written, or counted into
    /// its window) by [`outcome::write_and_count`].
    pub fn learn(&self, app: &App, who: Who, record: &AuditRecord) {
        let learned = Arc::new(Learned {
            key: app.audit.window_key(record),
            first: record.clone(),
            counters: app.metrics.rule_counters(
                record.rule.as_deref(),
                record.verified,
                (record.user.as_deref(), record.user_agent.as_deref()),
                record.error_code.as_deref(),
            ),
            stats_key: stats::caller_key(record),
        });
        let mut known = lock(&self.known);
        if !known.contains_key(&who) && known.len() >= MAX_CALLERS {
            return;
        }
        let entry = known.entry(who).or_default();
        let mut statuses: Vec<_> = entry
            .iter()
            .filter(|(s, _)| *s != record.status)
            .cloned()
            .collect();
        if statuses.len() < MAX_STATUSES {
            statuses.push((record.status, learned));
            *entry = Arc::new(statuses);
        }
    }
}

/// A call of a caller the lane knows, past the checks of its decisions: forwarded untouched,
/// marked when `mark`, counted.
pub(super) async fn run(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
    (who, facts, known): (Who, PathFacts, Known),
    (mark, seen): (bool, Seen),
    (fingerprint, _admitted): (Option<Fingerprint>, crate::proxy::budget::Admission),
) -> Response<RespBody> {
    let started = Instant::now();
    let at = SystemTime::now();
    let rule = who.rule;
    let request_id = audit::request_id(req.headers());
    let mut resp = forward::in_call(&app, conn.clone(), req).await;
    let status = resp.status().as_u16();
    let exact = known.iter().find(|(s, _)| *s == status).map(|(_, l)| l);
    let this = (at, request_id.as_str(), facts.bdb_uid);
    let counted = match exact {
        Some(l) => app.audit.repeat_windowed(&l.key, &l.first, this).await,
        None => false,
    };
    let note = Note {
        action: Some("observed"),
        sent: true,
        ..Note::default()
    };
    match (counted, exact) {
        (true, Some(l)) => {
            for c in &l.counters {
                c.inc();
            }
            if let Some(fp) = fingerprint.filter(|_| l.first.verified) {
                app.callers.mark_verified(fp);
            }
            if tracing::enabled!(target: outcome::TARGET, tracing::Level::DEBUG) {
                let record = repeat_record(&l.first, this, seen);
                outcome::log(&app, &record, &conn, &note, None, started.elapsed());
            } else {
                outcome::stats_summary(&app, &l.first, &l.stats_key);
            }
        }
        // Its own record: a status not seen yet, or a window written meanwhile. Boxed: a
        // rare path, kept out of the lane's own (moved) state.
        _ => {
            let first = known.first().map(|(_, l)| l.clone());
            let code = resp.status();
            let own = async {
                // `known` is never empty: learned entries are only ever added.
                let Some(base) = first else { return };
                let mut record = repeat_record(&base.first, this, seen);
                outcome::finish_streamed(&mut record, code, None, false, &note, started);
                outcome::write_and_count(&app, &record, &note, false).await;
                app.quiet.learn(&app, who, &record);
                if let Some(fp) = fingerprint.filter(|_| record.verified) {
                    app.callers.mark_verified(fp);
                }
                outcome::log(&app, &record, &conn, &note, None, started.elapsed());
            };
            Box::pin(own).await;
        }
    }
    let headers: &mut HeaderMap = resp.headers_mut();
    if mark {
        if let Some(rule) = app.config.rules.table.rules().get(rule) {
            rule.marks.apply(headers, facts.successor.as_deref());
        }
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, v);
    }
    resp
}

/// A repeat's own record, from the record that opened its caller's window.
fn repeat_record(
    first: &AuditRecord,
    (at, request_id, bdb_uid): (SystemTime, &str, Option<u64>),
    seen: Seen,
) -> AuditRecord {
    let mut record = first.clone();
    record.ts = audit::record::format_ts(at);
    request_id.clone_into(&mut record.request_id);
    record.bdb_uid = bdb_uid;
    record.cluster_version = seen.audit_text();
    record.record = None;
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn app() -> App {
        let raw =
            crate::config::parse_raw("[upstream]\nurl = \"http://127.0.0.1:9\"\n").expect("toml");
        App::new(Config::from_raw(raw).expect("valid")).expect("app")
    }

    fn who(n: u32) -> Who {
        Who {
            rule: 0,
            template: "/v1/bdbs/stats".to_owned(),
            method: Method::GET,
            credentials: None,
            user_agent: HeaderValue::from_str(&format!("agent-{n}")).ok(),
            forwarded_for: None,
            peer: IpAddr::from([127, 0, 0, 1]),
        }
    }

    fn record(status: u16) -> AuditRecord {
        let mut r = AuditRecord::begin(
            SystemTime::now(),
            "id",
            IpAddr::from([127, 0, 0, 1]),
            &Method::GET,
            "/v1/bdbs/stats",
            &HeaderMap::new(),
            false,
        );
        r.rule = Some("stats_v1".to_owned());
        r.status = status;
        r
    }

    #[test]
    fn the_lane_knows_a_bounded_number_of_callers_and_statuses() {
        let app = app();
        for n in 0..(MAX_CALLERS as u32 + 5) {
            app.quiet.learn(&app, who(n), &record(200));
        }
        assert_eq!(
            app.quiet.callers(),
            MAX_CALLERS,
            "new callers past the bound are not kept"
        );
        assert!(app.quiet.known(&who(MAX_CALLERS as u32 + 1)).is_none());
        for status in 200..220 {
            app.quiet.learn(&app, who(0), &record(status));
        }
        let known = app.quiet.known(&who(0)).expect("known");
        assert_eq!(known.len(), MAX_STATUSES);
        app.quiet.learn(&app, who(0), &record(200));
        assert_eq!(app.quiet.known(&who(0)).expect("known").len(), MAX_STATUSES);
    }
}
