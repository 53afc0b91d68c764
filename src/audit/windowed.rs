//! The audit of a high-rate observed route (R18, API-CATALOGUE §8.2): one record per caller,
//! path template and status per window, with a `count` ([`super::coalesce`]), so `report`
//! still counts every call.
//!
//! Two ways in:
//! - [`AuditLog::write_windowed`]: a call with its whole record (the first of its key, or any
//!   call the quiet lane does not know);
//! - [`AuditLog::repeat_windowed`]: a call the quiet lane (`proxy::deprecated::quiet`) knows
//!   to repeat an open key exactly, counted without building its record: into its key's
//!   repeats and into the live summary, as `write_windowed` would.

use super::report::{Call, CallPhase, Many};
use super::{AuditError, AuditLog, AuditRecord, SWEEP_EVERY};
use crate::locks::lock;
use std::time::{Duration, Instant, SystemTime};

impl AuditLog {
    /// Writes the outcome record of a call of a high-rate observed route (R18), or counts it
    /// into its caller's record for `window`.
    pub async fn write_windowed(
        &self,
        rec: &AuditRecord,
        intent: bool,
        window: Duration,
    ) -> Result<(), AuditError> {
        self.write_counted(rec, intent, Some(window)).await
    }

    /// The window key a record written by [`write_windowed`](Self::write_windowed) counts its
    /// repeats under now.
    pub fn window_key(&self, rec: &AuditRecord) -> String {
        lock(&self.windows).key_for(rec)
    }

    /// Counts a call that repeats `first` (same rule, route, method, status and caller), made
    /// at `at` with `request_id` on database `bdb_uid`, into the open window `key`: `false`
    /// when that window was written meanwhile, so the call needs its own record.
    pub async fn repeat_windowed(
        &self,
        key: &str,
        first: &AuditRecord,
        (at, request_id, bdb_uid): (SystemTime, &str, Option<u64>),
    ) -> bool {
        let now = Instant::now();
        self.sweep_if_due(now).await;
        let ts = super::record::format_ts(at);
        if !lock(&self.windows).repeat(key, &ts, request_id) {
            return false;
        }
        let call = Call {
            rule: first.rule.as_deref(),
            phase: first.phase.as_deref().and_then(CallPhase::parse),
            user: first.user.as_deref(),
            verified: first.verified,
            client: &first.client,
            forwarded_client: first.forwarded_client.as_deref(),
            user_agent: first.user_agent.as_deref(),
            ts: at,
            bdb_uid,
            outcome: first.outcome,
            instance: first.instance.as_deref(),
        };
        lock(&self.summary).add_many(call, &Many { count: 1, last: at });
        self.metrics.audit_coalesced();
        true
    }

    /// Writes the windows and intervals that are over, at most once per [`SWEEP_EVERY`].
    pub(super) async fn sweep_if_due(&self, now: Instant) {
        let due = {
            let mut swept = lock(&self.swept);
            let due = now.duration_since(*swept) >= SWEEP_EVERY;
            if due {
                *swept = now;
            }
            due
        };
        if due {
            // Boxed: once a second, kept out of every caller's (moved) state.
            Box::pin(self.write_due()).await;
        }
    }
}
