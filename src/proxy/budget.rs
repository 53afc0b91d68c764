//! The deprecated route's share of the process: a memory budget for the bodies it buffers
//! (`shim.max_buffered_bodies`), a bound on the calls running at once
//! (`shim.max_concurrent_calls`), and the detached tasks those calls run in — owned, counted,
//! waited for on stop, and interrupted when `shim.shutdown_grace` runs out.
//!
//! Decisions:
//! - Over a bound, a call is refused with `503 shim_overloaded` and `Retry-After`, before any
//!   more of its body is read: a declared `Content-Length` is reserved up front, a body without
//!   one reserves each chunk as it arrives. A reservation is released when dropped, so on every
//!   exit path; it lives until the body is parsed.
//! - The refusal is the caller's to retry (blame: client, logged at debug), so a flood of
//!   them cannot flood the logs; each is counted in `deprecated_refused`.
//! - A call's task is detached (a hang-up does not cancel an upgrade) but tracked: stop waits for
//!   it up to `shim.shutdown_grace`, then interrupts it; the call then writes its audit record
//!   with outcome `interrupted` and what it knew (the `action_uid` once the cluster gave one)
//!   before the process exits.
//! - Shared across reloads; a reload changes the two bounds for calls that start after it.

use crate::error::{ApiError, Blame};
use crate::metrics::Metrics;
use http::StatusCode;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// `error_code` of a call refused by a bound.
pub const OVERLOADED: &str = "shim_overloaded";
/// `error_code` of a call interrupted at the end of `shim.shutdown_grace`.
pub const INTERRUPTED: &str = "shim_interrupted";
/// `Retry-After` (seconds) on an overload refusal.
pub const RETRY_AFTER_SECS: u64 = 5;
/// After the interruption, how long the calls get to write their audit records.
const RECORD_GRACE: Duration = Duration::from_secs(10);

/// The deprecated route's budget and tasks, one per process.
pub struct Work {
    bytes: Bound,
    calls: Bound,
    tracker: TaskTracker,
    cut: CancellationToken,
    metrics: Arc<Metrics>,
}

/// A counter with a ceiling, taken from without waiting.
struct Bound {
    used: AtomicUsize,
    max: AtomicUsize,
}

impl Bound {
    fn new(max: usize) -> Bound {
        Bound {
            used: AtomicUsize::new(0),
            max: AtomicUsize::new(max),
        }
    }

    fn try_take(&self, n: usize) -> bool {
        let max = self.max.load(Ordering::Relaxed);
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= max)
            })
            .is_ok()
    }

    fn give_back(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

impl Work {
    pub fn new(
        max_buffered_bodies: usize,
        max_concurrent_calls: usize,
        metrics: Arc<Metrics>,
    ) -> Arc<Work> {
        Arc::new(Work {
            bytes: Bound::new(max_buffered_bodies),
            calls: Bound::new(max_concurrent_calls),
            tracker: TaskTracker::new(),
            cut: CancellationToken::new(),
            metrics,
        })
    }

    /// New bounds after a reload; what is already taken stays taken.
    pub fn set_limits(&self, max_buffered_bodies: usize, max_concurrent_calls: usize) {
        self.bytes.max.store(max_buffered_bodies, Ordering::Relaxed);
        self.calls
            .max
            .store(max_concurrent_calls, Ordering::Relaxed);
    }

    /// Admits one call, or refuses it when `shim.max_concurrent_calls` are running.
    pub fn admit(self: &Arc<Self>) -> Result<CallPermit, ApiError> {
        if self.calls.try_take(1) {
            Ok(CallPermit(self.clone()))
        } else {
            self.metrics.deprecated_refused("concurrency");
            Err(overloaded(
                "too many deprecated-route calls are running (shim.max_concurrent_calls)",
            ))
        }
    }

    /// Reserves `n` body bytes (a declared `Content-Length`, or 0 to grow as chunks arrive).
    pub fn reserve(self: &Arc<Self>, n: usize) -> Result<Reservation, ApiError> {
        let mut r = Reservation {
            work: self.clone(),
            bytes: 0,
        };
        r.grow_to(n)?;
        Ok(r)
    }

    /// Runs `call` in its own tracked task; `keep` (the connection's slot, the permit, gauges)
    /// is held until the task ends.
    pub fn spawn<F>(&self, keep: impl Send + 'static, call: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let task = self.metrics.deprecated_task();
        self.tracker.spawn(async move {
            let _keep = (keep, task);
            call.await
        })
    }

    /// Resolves when `shim.shutdown_grace` has run out: running calls stop where they are.
    pub async fn interrupted(&self) {
        self.cut.cancelled().await;
    }

    /// Counts an interrupted call.
    pub fn count_interrupted(&self) {
        self.metrics.deprecated_interrupted();
    }

    /// After a stop signal: waits for the running calls up to `grace`, then interrupts them and
    /// waits (briefly) for their audit records. Whether every call has ended.
    pub async fn drain(&self, grace: Duration) -> bool {
        self.tracker.close();
        if self.tracker.is_empty() {
            return true;
        }
        tracing::info!(
            calls = self.tracker.len(),
            ?grace,
            "waiting for deprecated-route calls to finish (shim.shutdown_grace)"
        );
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
        {
            return true;
        }
        tracing::warn!(
            calls = self.tracker.len(),
            ?grace,
            "shim.shutdown_grace ran out: interrupting the deprecated-route calls still running; each is audited with outcome interrupted"
        );
        self.cut.cancel();
        let ended = tokio::time::timeout(RECORD_GRACE, self.tracker.wait())
            .await
            .is_ok();
        if !ended {
            tracing::error!(
                calls = self.tracker.len(),
                "interrupted deprecated-route calls did not finish writing their audit records"
            );
        }
        ended
    }
}

/// A call's place among `shim.max_concurrent_calls`, taken when the call is ready to run
/// (issue 20: a rule that reads its body whole takes it once the body has arrived, so slow
/// bodies cannot hold the places) and held until the call's task ends.
pub struct Admission {
    work: Arc<Work>,
    permit: std::sync::Mutex<Option<CallPermit>>,
}

impl Admission {
    pub fn new(work: &Arc<Work>) -> Admission {
        Admission {
            work: work.clone(),
            permit: std::sync::Mutex::new(None),
        }
    }

    /// Takes the call's place, once; refused (`503 shim_overloaded`) when all are taken.
    pub fn take(&self) -> Result<(), ApiError> {
        let mut permit = crate::locks::lock(&self.permit);
        if permit.is_none() {
            *permit = Some(self.work.admit()?);
        }
        Ok(())
    }

    /// Whether the call holds its place.
    pub fn taken(&self) -> bool {
        crate::locks::lock(&self.permit).is_some()
    }
}

/// One admitted call; frees its place when dropped.
pub struct CallPermit(Arc<Work>);

impl Drop for CallPermit {
    fn drop(&mut self) {
        self.0.calls.give_back(1);
    }
}

/// Body bytes reserved against `shim.max_buffered_bodies`; released when dropped.
pub struct Reservation {
    work: Arc<Work>,
    bytes: usize,
}

impl Reservation {
    /// Bytes reserved so far.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Grows the reservation to `total` bytes, or refuses the call (and leaves it as it was).
    pub fn grow_to(&mut self, total: usize) -> Result<(), ApiError> {
        let more = total.saturating_sub(self.bytes);
        if more == 0 {
            return Ok(());
        }
        if !self.work.bytes.try_take(more) {
            self.work.metrics.deprecated_refused("body_budget");
            return Err(overloaded(
                "deprecated-route bodies in memory are at their limit (shim.max_buffered_bodies)",
            ));
        }
        self.bytes = total;
        self.work.metrics.deprecated_body_bytes(as_i64(more));
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.work.bytes.give_back(self.bytes);
        self.work.metrics.deprecated_body_bytes(-as_i64(self.bytes));
    }
}

fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn overloaded(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        OVERLOADED,
        format!("{what}; retry in {RETRY_AFTER_SECS} s"),
    )
    .blamed_on(Blame::Client)
    .retry_in(RETRY_AFTER_SECS)
}

/// The error of a call interrupted at the end of `shim.shutdown_grace`. The upgrade may still
/// run on the cluster: the reply says where to look instead of inviting a retry.
pub fn interrupted_error(action_uid: Option<&str>) -> ApiError {
    let text = match action_uid {
        Some(uid) => format!("the shim stopped before the upgrade finished (shim.shutdown_grace); it may still be running on the cluster: GET /v1/actions/{uid}"),
        None => "the shim stopped before this call finished (shim.shutdown_grace); if the upgrade reached the cluster it may still be running there".to_owned(),
    };
    let e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, INTERRUPTED, text);
    match action_uid {
        Some(uid) => e.with("action_uid", uid),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_bounded_and_released_on_drop() {
        let work = Work::new(100, 1, Arc::new(Metrics::new()));
        let mut a = work.reserve(60).expect("fits");
        assert!(work.reserve(41).is_err());
        let b = work.reserve(40).expect("fits exactly");
        assert_eq!(
            a.grow_to(61).map_err(|e| e.error_code),
            Err(OVERLOADED.into())
        );
        assert_eq!(
            a.bytes(),
            60,
            "a refused growth leaves the reservation as it was"
        );
        drop(b);
        a.grow_to(100).expect("room again");
        drop(a);
        assert_eq!(work.bytes.used.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn calls_past_the_bound_are_refused_until_one_ends() {
        let work = Work::new(100, 2, Arc::new(Metrics::new()));
        let a = work.admit().expect("first");
        let _b = work.admit().expect("second");
        let refused = work.admit().err().expect("third refused");
        assert_eq!(
            (refused.status.as_u16(), refused.retry_after),
            (503, Some(RETRY_AFTER_SECS))
        );
        drop(a);
        assert!(work.admit().is_ok());
    }
}
