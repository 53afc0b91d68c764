//! Bounded audit growth from unverified callers (issue 20, item 6). Pure: the table is given
//! the time; [`super::AuditLog`] writes what it returns.
//!
//! Decisions:
//! - What coalesces: an outcome record of a call that **failed** (outcome other than `ok`)
//!   for a caller the cluster did **not** verify, when no intent record was written for it (a
//!   call with an intent always gets its own outcome, so `report` can pair them). Everything
//!   else, every verified caller and every success, is written one line per call as before.
//! - Per caller (client address, forwarded client, claimed user, User-Agent), rule, route,
//!   method, status, `error_code` and phase, per interval of [`INTERVAL`]: the first call is
//!   written at once, in full; the repeats are counted, and at the end of the interval one
//!   record with `"record": "coalesced"` stands for them all, carrying `count`, `first_seen`,
//!   `last_seen` and the first and last `request_id`. `report` counts `count` calls for it:
//!   the totals stay exact.
//! - At most [`MAX_OPEN`] keys are open; past that, a new caller's calls are folded into one
//!   key per rule, route, status and phase whose caller fields read [`OTHER_CALLERS`]. So an
//!   interval writes at most 2 × ([`MAX_OPEN`] + those overflow keys) lines however many
//!   junk calls come and however many addresses or User-Agents they rotate through.
//! - Open intervals are written at a graceful stop and at a reload ([`Coalescer::drain`]); a
//!   crash loses at most one interval of *counts* of unverified failures (the first call of
//!   each is already on disk).
//! - The same table, with its own bound ([`MAX_WINDOW_KEYS`]) and a longer interval, keeps the
//!   v1 statistics routes' audit bounded (R18, API-CATALOGUE §8.2): one record per caller, path
//!   template and status per `[rules.stats_v1] audit_window`, whatever the outcome, since
//!   monitoring agents poll every few seconds ([`super::AuditLog::write_windowed`]).

use super::record::{AuditRecord, Outcome};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long repeats are counted before their record is written.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// Keys open at once; past it, new callers fold into [`OTHER_CALLERS`].
pub const MAX_OPEN: usize = 1024;
/// The caller fields of the overflow keys.
pub const OTHER_CALLERS: &str = "(other callers)";
/// Keys open at once in the statistics routes' table (R18).
pub const MAX_WINDOW_KEYS: usize = 4096;
/// The `record` value of a coalesced line.
pub const COALESCED: &str = "coalesced";

struct Open {
    started: Instant,
    interval: Duration,
    /// The first call's record: what the coalesced one repeats.
    first: AuditRecord,
    repeats: Option<Repeats>,
}

struct Repeats {
    count: u64,
    first_ts: String,
    last_ts: String,
    first_id: String,
    last_id: String,
}

/// The open intervals.
pub struct Coalescer {
    open: HashMap<String, Open>,
    key: String,
    max_open: usize,
}

impl Default for Coalescer {
    fn default() -> Self {
        Coalescer::bounded(MAX_OPEN)
    }
}

impl Coalescer {
    /// Whether `rec` may be folded at all (see the decisions); `intent`: an intent record was
    /// written for its call.
    pub fn applies(rec: &AuditRecord, intent: bool) -> bool {
        !intent && !rec.verified && rec.outcome != Outcome::Ok && rec.record.is_none()
    }

    /// A table of at most `max_open` keys before new callers fold into [`OTHER_CALLERS`].
    pub fn bounded(max_open: usize) -> Coalescer {
        Coalescer {
            open: HashMap::new(),
            key: String::new(),
            max_open,
        }
    }

    /// Offers a record that [`applies`](Self::applies): `true` when it is to be written now
    /// (the first of its key in this interval), `false` when it was counted into its key.
    pub fn offer(&mut self, rec: &AuditRecord, now: Instant) -> bool {
        self.offer_for(rec, now, INTERVAL)
    }

    /// [`offer`](Self::offer) with the interval a new key is counted for.
    pub fn offer_for(&mut self, rec: &AuditRecord, now: Instant, interval: Duration) -> bool {
        build_key(&mut self.key, rec, false);
        if !self.open.contains_key(&self.key) && self.open.len() >= self.max_open {
            build_key(&mut self.key, rec, true);
        }
        match self.open.get_mut(&self.key) {
            Some(open) => {
                open.repeat(&rec.ts, &rec.request_id);
                false
            }
            None => {
                let mut first = rec.clone();
                if self.open.len() >= self.max_open {
                    other_callers(&mut first);
                }
                self.open.insert(
                    self.key.clone(),
                    Open {
                        started: now,
                        interval,
                        first,
                        repeats: None,
                    },
                );
                true
            }
        }
    }

    /// The key an offer of `rec` is counted under now: its own, or its overflow key when the
    /// table is full and its own is not open.
    pub fn key_for(&self, rec: &AuditRecord) -> String {
        let mut key = String::new();
        build_key(&mut key, rec, false);
        if !self.open.contains_key(&key) && self.open.len() >= self.max_open {
            build_key(&mut key, rec, true);
        }
        key
    }

    /// Counts a repeat of the call whose record opened `key` ([`key_for`](Self::key_for)),
    /// made at `ts` with request id `id`, without building its record: `false` when `key` is
    /// not open (its interval was written), so the call needs its own record.
    pub fn repeat(&mut self, key: &str, ts: &str, id: &str) -> bool {
        match self.open.get_mut(key) {
            Some(open) => {
                open.repeat(ts, id);
                true
            }
            None => false,
        }
    }

    /// The coalesced records of the intervals over by `now`; their keys close.
    pub fn due(&mut self, now: Instant) -> Vec<AuditRecord> {
        let mut out = Vec::new();
        self.open.retain(|_, open| {
            if now.duration_since(open.started) < open.interval {
                return true;
            }
            out.extend(coalesced(open));
            false
        });
        out
    }

    /// Every open interval's coalesced record (a stop, a reload); the table is emptied.
    pub fn drain(&mut self) -> Vec<AuditRecord> {
        self.open
            .drain()
            .filter_map(|(_, open)| coalesced(&open))
            .collect()
    }

    /// Keys open now.
    pub fn open_keys(&self) -> usize {
        self.open.len()
    }
}

impl Open {
    fn repeat(&mut self, ts: &str, id: &str) {
        let r = self.repeats.get_or_insert_with(|| Repeats {
            count: 0,
            first_ts: ts.to_owned(),
            last_ts: String::new(),
            first_id: id.to_owned(),
            last_id: String::new(),
        });
        r.count += 1;
        ts.clone_into(&mut r.last_ts);
        id.clone_into(&mut r.last_id);
    }
}

/// The record standing for an interval's repeats, if there were any.
fn coalesced(open: &Open) -> Option<AuditRecord> {
    let r = open.repeats.as_ref()?;
    let mut rec = open.first.clone();
    rec.record = Some(COALESCED.to_owned());
    rec.ts.clone_from(&r.first_ts);
    rec.request_id.clone_from(&r.first_id);
    rec.count = Some(r.count);
    rec.first_seen = Some(r.first_ts.clone());
    rec.last_seen = Some(r.last_ts.clone());
    rec.first_request_id = Some(r.first_id.clone());
    rec.last_request_id = Some(r.last_id.clone());
    Some(rec)
}

/// The first record of an overflow key names no caller.
fn other_callers(rec: &mut AuditRecord) {
    rec.client = OTHER_CALLERS.to_owned();
    rec.forwarded_client = None;
    rec.forwarded_for = None;
    rec.user = Some(OTHER_CALLERS.to_owned());
    rec.user_agent = Some(OTHER_CALLERS.to_owned());
    rec.bdb_uid = None;
}

fn build_key(key: &mut String, rec: &AuditRecord, overflow: bool) {
    key.clear();
    let mut push = |s: &str| {
        key.push_str(s);
        key.push('\u{0}');
    };
    push(rec.rule.as_deref().unwrap_or(""));
    push(&rec.route);
    push(&rec.method);
    push(&rec.status.to_string());
    push(rec.error_code.as_deref().unwrap_or(""));
    push(rec.phase.as_deref().unwrap_or(""));
    if overflow {
        push(OTHER_CALLERS);
        return;
    }
    push(&rec.client);
    push(rec.forwarded_client.as_deref().unwrap_or(""));
    push(rec.user.as_deref().unwrap_or(""));
    push(rec.user_agent.as_deref().unwrap_or(""));
}

#[cfg(test)]
#[path = "coalesce_tests.rs"]
mod tests;
