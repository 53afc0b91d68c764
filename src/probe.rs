//! What the background cluster probe found (its loop is [`crate::wiring::probe`]): is the cluster reachable, whatever the traffic? Every
//! `admin.cluster_probe_interval` it sends `GET /v1/cluster` **without credentials** (the shim
//! holds none, API.md §1). Any HTTP answer, a 401 included, proves the cluster is up; a connect,
//! TLS or timeout failure says it is down. The result feeds the `cluster_up` metric, the
//! `/readyz?verbose` body and, only with `admin.ready_requires_cluster = true`, readiness itself.
//!
//! Decisions:
//! - Readiness does not follow the cluster by default: a cluster in maintenance would otherwise
//!   take every replica out of its load balancer at once, and callers would get connection
//!   errors instead of the cluster's own answer.
//! - The probe reads the live configuration on every round, so a reload that moves
//!   `upstream.url` is probed from the next round on.

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The probed path: RS answers it (401 without credentials) on every node.
pub const PROBE_PATH: &str = "/v1/cluster";

/// Longest failure text kept for `/readyz?verbose`.
const MAX_ERROR_TEXT: usize = 300;

/// What the last probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterHealth {
    /// No probe has finished yet.
    Unknown,
    Up,
    Down,
}

impl ClusterHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterHealth::Unknown => "unknown",
            ClusterHealth::Up => "up",
            ClusterHealth::Down => "down",
        }
    }
}

/// The probe's findings, shared with the admin port (lock-free except the error text).
pub struct ClusterStatus {
    started: Instant,
    health: AtomicU8,
    /// Milliseconds after `started` of the last finished probe, plus one; 0 = never.
    checked_at: AtomicU64,
    /// HTTP status of the last answer (0 when the last probe failed).
    last_status: AtomicU16,
    last_error: Mutex<Option<String>>,
}

impl Default for ClusterStatus {
    fn default() -> Self {
        ClusterStatus {
            started: Instant::now(),
            health: AtomicU8::new(0),
            checked_at: AtomicU64::new(0),
            last_status: AtomicU16::new(0),
            last_error: Mutex::new(None),
        }
    }
}

impl ClusterStatus {
    pub fn health(&self) -> ClusterHealth {
        match self.health.load(Ordering::Relaxed) {
            1 => ClusterHealth::Up,
            2 => ClusterHealth::Down,
            _ => ClusterHealth::Unknown,
        }
    }

    /// The cluster answered with `status` (any status: it is up).
    pub fn record_answer(&self, status: u16) {
        self.last_status.store(status, Ordering::Relaxed);
        *self.error_slot() = None;
        self.mark(ClusterHealth::Up);
    }

    /// The cluster could not be reached; `why` is kept (cut) for `/readyz?verbose`.
    pub fn record_failure(&self, why: &str) {
        self.last_status.store(0, Ordering::Relaxed);
        let mut cut = why.to_owned();
        if cut.len() > MAX_ERROR_TEXT {
            let mut end = MAX_ERROR_TEXT;
            while !cut.is_char_boundary(end) {
                end -= 1;
            }
            cut.truncate(end);
        }
        *self.error_slot() = Some(cut);
        self.mark(ClusterHealth::Down);
    }

    fn mark(&self, health: ClusterHealth) {
        let code = match health {
            ClusterHealth::Unknown => 0,
            ClusterHealth::Up => 1,
            ClusterHealth::Down => 2,
        };
        self.health.store(code, Ordering::Relaxed);
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.checked_at.store(ms + 1, Ordering::Relaxed);
    }

    /// How long ago the last probe finished; None before the first.
    pub fn since_checked(&self) -> Option<Duration> {
        match self.checked_at.load(Ordering::Relaxed) {
            0 => None,
            at => Some(
                self.started
                    .elapsed()
                    .saturating_sub(Duration::from_millis(at - 1)),
            ),
        }
    }

    /// The status the cluster last answered with, when the last probe got an answer.
    pub fn last_status(&self) -> Option<u16> {
        Some(self.last_status.load(Ordering::Relaxed)).filter(|s| *s != 0)
    }

    pub fn last_error(&self) -> Option<String> {
        self.error_slot().clone()
    }

    fn error_slot(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        crate::locks::lock(&self.last_error)
    }
}
