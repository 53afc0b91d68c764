//! R18 on the request path (API-CATALOGUE §8.2): the v1 statistics routes are observed, never
//! changed, and logged quietly. Monitoring agents poll them every few seconds, so a per-call
//! deprecation line above DEBUG would flood the log: the call's own line is DEBUG, and
//! [`StatsLog`] says at most one INFO line per caller per [`SUMMARY_EVERY`], with the calls
//! counted since its last one. (The access log, a line per request of any route, is a separate
//! switch.)
//!
//! Decisions:
//! - A caller is its (user, User-Agent, client address), as in the audit.
//! - The first call of a caller is said at once (an operator sees a new poller without waiting
//!   an hour); its later calls are counted and said with the next call after the hour.
//! - At most [`MAX_CALLERS`] callers are tracked (kept across reloads); past it, new callers
//!   share one entry named [`OTHER`], so the table and the lines stay bounded however many
//!   addresses or User-Agents rotate.

use crate::audit::AuditRecord;
use crate::escape::Escaped;
use crate::locks::lock;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most one summary line per caller in this interval.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(3600);
/// Callers tracked before new ones share [`OTHER`].
pub const MAX_CALLERS: usize = 10_000;
/// The caller of the overflow entry.
pub const OTHER: &str = "(other callers)";

struct Seen {
    said: Instant,
    since: u64,
}

/// When each caller of the statistics routes was last said.
#[derive(Default)]
pub struct StatsLog {
    callers: Mutex<HashMap<String, Seen>>,
}

impl StatsLog {
    /// Counts one call; `Some(n)` when a summary line is due now, `n` the calls it stands for.
    pub fn count(&self, caller: &str, now: Instant) -> Option<u64> {
        let mut callers = lock(&self.callers);
        let key = if callers.contains_key(caller) || callers.len() < MAX_CALLERS {
            caller
        } else {
            OTHER
        };
        match callers.get_mut(key) {
            Some(seen) => {
                seen.since += 1;
                if now.duration_since(seen.said) < SUMMARY_EVERY {
                    return None;
                }
                let n = seen.since;
                *seen = Seen {
                    said: now,
                    since: 0,
                };
                Some(n)
            }
            None => {
                callers.insert(
                    key.to_owned(),
                    Seen {
                        said: now,
                        since: 0,
                    },
                );
                Some(1)
            }
        }
    }

    /// Callers tracked now (the bound's proof in tests).
    pub fn tracked(&self) -> usize {
        lock(&self.callers).len()
    }
}

/// The caller key of a record: user, User-Agent and client.
pub fn caller_key(record: &AuditRecord) -> String {
    format!(
        "{}\u{0}{}\u{0}{}",
        record.user.as_deref().unwrap_or("-"),
        record.user_agent.as_deref().unwrap_or("-"),
        record.forwarded_client.as_deref().unwrap_or(&record.client)
    )
}

/// The INFO summary of a caller's calls of the statistics routes.
pub fn say(record: &AuditRecord, calls: u64, warn: bool) {
    let user = Escaped(record.user.as_deref().unwrap_or("-"));
    let user_agent = Escaped(record.user_agent.as_deref().unwrap_or("-"));
    let client = Escaped(record.forwarded_client.as_deref().unwrap_or(&record.client));
    macro_rules! line { ($level:expr) => { tracing::event!(
        target: super::outcome::TARGET,
        $level,
        user = %user,
        user_agent = %user_agent,
        client = %client,
        rule = "stats_v1",
        calls,
        "deprecated v1 statistics routes called {calls} time(s) by this caller since its last summary (latest {} {}); the metrics stream engine (v2) replaces them",
        Escaped(&record.method),
        Escaped(&record.route),
    ) } }
    if warn {
        line!(tracing::Level::WARN);
    } else {
        line!(tracing::Level::INFO);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_is_said_once_then_once_an_hour_with_its_count() {
        let log = StatsLog::default();
        let t0 = Instant::now();
        assert_eq!(
            log.count("a", t0),
            Some(1),
            "the first call is said at once"
        );
        for i in 1..100 {
            assert_eq!(log.count("a", t0 + Duration::from_secs(i)), None);
        }
        assert_eq!(log.count("a", t0 + SUMMARY_EVERY), Some(100));
        assert_eq!(
            log.count("a", t0 + SUMMARY_EVERY + Duration::from_secs(1)),
            None
        );
        assert_eq!(
            log.count("b", t0),
            Some(1),
            "another caller has its own line"
        );
    }

    #[test]
    fn callers_past_the_bound_share_one_entry() {
        let log = StatsLog::default();
        let t0 = Instant::now();
        for i in 0..MAX_CALLERS + 50 {
            log.count(&format!("caller-{i}"), t0);
        }
        assert_eq!(log.tracked(), MAX_CALLERS + 1);
        assert_eq!(
            log.count("yet another", t0),
            None,
            "folded into the shared entry"
        );
    }
}
