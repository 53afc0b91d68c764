//! Coarse timers: one sweep per listener, every [`period`] (at most 250 ms), over every
//! connection it serves, instead of timers armed and cancelled per request (issue 15). The
//! sweep reads each connection's counts ([`Activity`]) and orders the connection closed or
//! dropped when a deadline has passed:
//!
//! - no first request head within `listen.header_read_timeout` of accept: dropped;
//! - HTTP/1 with no request open (between requests, or a head still incomplete) for
//!   `listen.header_read_timeout`: dropped (the slowloris and keep-alive bound);
//! - HTTP/2 with no stream open for `listen.idle_timeout`: closed gracefully (GOAWAY);
//! - stop: every connection closed gracefully; at the cut (after `listen.shutdown_grace`) those
//!   without a running deprecated-route call are dropped, the others once their call has ended
//!   and its reply had [`FLUSH`] to leave.
//!
//! A deadline fires up to one sweep late, never early: the sweep only knows that a connection
//! went idle some time since the previous sweep, and counts from the later of the two.

use super::activity::{Activity, Counts, Order};
use super::Slot;
use crate::locks::lock;
use slab::Slab;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// After the cut, how long a connection whose last deprecated-route call just ended may take
/// to write that reply.
pub(super) const FLUSH: Duration = Duration::from_secs(1);

/// The sweep period for these timeouts: a quarter of the shortest, within 10–250 ms.
pub(super) fn period(header_read_timeout: Duration, idle_timeout: Duration) -> Duration {
    (header_read_timeout.min(idle_timeout) / 4)
        .clamp(Duration::from_millis(10), Duration::from_millis(250))
}

/// Where the listener is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Serving,
    /// Told to stop: every connection has been ordered to close gracefully.
    Stopping,
    /// The grace is over.
    Cut,
}

/// The timeouts the sweep enforces.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadlines {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

/// What the sweep remembers of one connection between sweeps.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seen {
    accepted: Instant,
    /// The counts at the previous sweep.
    counts: Counts,
    /// When the connection was last seen busy or changing (an upper bound of when it went idle).
    quiet_since: Instant,
    /// A deprecated-route call held it at the cut.
    waited: bool,
    flush_by: Option<Instant>,
}

impl Seen {
    pub(super) fn new(accepted: Instant) -> Seen {
        Seen {
            accepted,
            counts: Counts {
                opened: 0,
                closed: 0,
                http2: false,
            },
            quiet_since: accepted,
            waited: false,
            flush_by: None,
        }
    }
}

/// The order for one connection at this sweep (pure: the tests drive it with made-up times).
pub(super) fn decide(
    seen: &mut Seen,
    now: Counts,
    held: bool,
    at: Instant,
    phase: Phase,
    limits: Deadlines,
) -> Order {
    let busy = now.opened != now.closed;
    if busy || now != seen.counts {
        seen.quiet_since = at;
        seen.counts = now;
    }
    match phase {
        Phase::Serving => {
            if now.opened == 0 {
                if at >= seen.accepted + limits.header_read_timeout {
                    return Order::DropNoHead;
                }
            } else if !busy && !now.http2 {
                if at >= seen.quiet_since + limits.header_read_timeout {
                    return Order::DropIdle;
                }
            } else if !busy && at >= seen.quiet_since + limits.idle_timeout {
                return Order::Close;
            }
            Order::Run
        }
        Phase::Stopping => Order::Close,
        Phase::Cut => {
            if held {
                seen.waited = true;
                return Order::Close;
            }
            if !seen.waited {
                return Order::DropCut;
            }
            let flush_by = *seen.flush_by.get_or_insert(at + FLUSH);
            if at >= flush_by {
                Order::DropFlushed
            } else {
                Order::Close
            }
        }
    }
}

struct Entry {
    activity: Arc<Activity>,
    slot: Slot,
    seen: Seen,
}

/// Every connection of one listener, and the listener's phase.
pub(super) struct Sweep {
    limits: Deadlines,
    state: Mutex<(Phase, Slab<Entry>)>,
}

/// A connection's registration: dropping it (the connection ended) removes the entry.
pub(super) struct Registered {
    sweep: Arc<Sweep>,
    key: usize,
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.sweep.state).1.try_remove(self.key);
    }
}

impl Sweep {
    pub(super) fn new(limits: Deadlines) -> Arc<Sweep> {
        Arc::new(Sweep {
            limits,
            state: Mutex::new((Phase::Serving, Slab::new())),
        })
    }

    /// Adds a connection accepted now.
    pub(super) fn register(self: &Arc<Self>, activity: Arc<Activity>, slot: Slot) -> Registered {
        let mut state = lock(&self.state);
        let key = state.1.insert(Entry {
            activity,
            slot,
            seen: Seen::new(Instant::now()),
        });
        Registered {
            sweep: self.clone(),
            key,
        }
    }

    /// Moves to `phase` and sweeps at once.
    pub(super) fn enter(&self, phase: Phase) {
        lock(&self.state).0 = phase;
        self.sweep();
    }

    /// One sweep over every connection.
    pub(super) fn sweep(&self) {
        let at = Instant::now();
        let mut state = lock(&self.state);
        let (phase, entries) = &mut *state;
        for (_, e) in entries.iter_mut() {
            let order = decide(
                &mut e.seen,
                e.activity.counts(),
                e.slot.held(),
                at,
                *phase,
                self.limits,
            );
            if order != Order::Run {
                e.activity.order(order);
            }
        }
    }

    /// Sweeps every `period` until dropped (the listener aborts it when it returns).
    pub(super) async fn run(self: Arc<Self>, period: Duration) {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.sweep();
        }
    }
}

#[cfg(test)]
#[path = "sweep_tests.rs"]
mod tests;
