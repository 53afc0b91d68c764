//! Coarse deadlines for the response head (issue 15): one sweep task per worker fires every
//! due deadline of that worker every [`PERIOD`], instead of a tokio timer entry armed and
//! cancelled per request. A deadline fires up to one period late, never early.
//!
//! A request that gets its head within the first poll never registers at all; one that waits
//! registers once (an uncontended lock: the table is per worker) and leaves on drop.

use super::caller_body::BodyEnd;
use crate::locks::lock;
use slab::Slab;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::time::Instant;

/// How often due deadlines are fired.
pub const PERIOD: Duration = Duration::from_millis(100);

/// One worker's pending deadlines.
#[derive(Default)]
pub struct Deadlines {
    table: Mutex<Slab<Pending>>,
    sweeping: AtomicBool,
}

struct Pending {
    due: Due,
    waker: Waker,
    fired: bool,
}

/// When a deadline falls: a fixed instant, or a limit counted from the end of a request body
/// still arriving (issue 20: `upstream.request_timeout` counts from the end of the body).
#[derive(Debug, Clone)]
enum Due {
    At(Instant),
    AfterBody(Arc<BodyEnd>, Duration),
}

impl Due {
    /// The instant, once it is known.
    fn at(&self) -> Option<Instant> {
        match self {
            Due::At(t) => Some(*t),
            Due::AfterBody(end, limit) => Some(end.due(*limit)),
        }
    }
}

/// The deadline passed before the inner future finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl Deadlines {
    /// Bounds `inner` by `limit` from now.
    pub fn within<F: Future>(self: &Arc<Self>, limit: Duration, inner: F) -> Within<F> {
        self.within_due(Due::At(Instant::now() + limit), inner)
    }

    /// Bounds `inner` by `limit` from the end of the request body `end` (from now if it has
    /// already ended); while the body is still arriving, by `limit` plus its idle timeout
    /// from its last progress ([`BodyEnd::due`]).
    pub fn within_after_body<F: Future>(
        self: &Arc<Self>,
        limit: Duration,
        end: Arc<BodyEnd>,
        inner: F,
    ) -> Within<F> {
        let due = match end.at() {
            Some(_) => Due::At(Instant::now() + limit),
            None => Due::AfterBody(end, limit),
        };
        self.within_due(due, inner)
    }

    fn within_due<F: Future>(self: &Arc<Self>, due: Due, inner: F) -> Within<F> {
        Within {
            inner,
            table: self.clone(),
            due,
            key: None,
        }
    }

    /// Fires every deadline due by `now`; says how many are left.
    fn fire_due(&self, now: Instant) -> usize {
        let mut table = lock(&self.table);
        for (_, p) in table.iter_mut() {
            if !p.fired && p.due.at().is_some_and(|due| due <= now) {
                p.fired = true;
                p.waker.wake_by_ref();
            }
        }
        table.len()
    }

    /// Starts this worker's sweep on the current runtime, once; it ends with the table.
    fn ensure_sweeping(self: &Arc<Self>) {
        if !self.sweeping.swap(true, Ordering::AcqRel) {
            tokio::spawn(sweep(Arc::downgrade(self)));
        }
    }
}

async fn sweep(table: Weak<Deadlines>) {
    let mut ticks = tokio::time::interval(PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(table) = table.upgrade() else { return };
        table.fire_due(Instant::now());
    }
}

pin_project_lite::pin_project! {
    /// `inner`, or [`Elapsed`] once its deadline has passed.
    pub struct Within<F> {
        #[pin]
        inner: F,
        table: Arc<Deadlines>,
        due: Due,
        key: Option<usize>,
    }

    impl<F> PinnedDrop for Within<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(key) = this.key.take() {
                lock(&this.table.table).try_remove(key);
            }
        }
    }
}

impl<F: Future> Future for Within<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.inner.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match *this.key {
            None => {
                let mut table = lock(&this.table.table);
                *this.key = Some(table.insert(Pending {
                    due: this.due.clone(),
                    waker: cx.waker().clone(),
                    fired: false,
                }));
                drop(table);
                this.table.ensure_sweeping();
                Poll::Pending
            }
            Some(key) => {
                let mut table = lock(&this.table.table);
                match table.get_mut(key) {
                    Some(p) if p.fired => Poll::Ready(Err(Elapsed)),
                    Some(p) => {
                        if !p.waker.will_wake(cx.waker()) {
                            p.waker = cx.waker().clone();
                        }
                        Poll::Pending
                    }
                    None => Poll::Ready(Err(Elapsed)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_future_that_never_ends_gets_elapsed_after_its_limit_and_not_before() {
        let table = Arc::new(Deadlines::default());
        let started = tokio::time::Instant::now();
        let r = table
            .within(Duration::from_millis(350), std::future::pending::<()>())
            .await;
        assert_eq!(r, Err(Elapsed));
        let took = started.elapsed();
        // Fired by the first sweep at or after the deadline: late by at most one period.
        assert!(took >= Duration::from_millis(350), "{took:?}");
        assert!(took <= Duration::from_millis(350) + PERIOD, "{took:?}");
        assert_eq!(lock(&table.table).len(), 0, "the entry left the table");
    }

    #[tokio::test]
    async fn a_future_that_ends_in_time_gives_its_value_and_leaves_no_entry() {
        let table = Arc::new(Deadlines::default());
        let r = table
            .within(Duration::from_secs(5), async {
                tokio::task::yield_now().await;
                7
            })
            .await;
        assert_eq!(r, Ok(7));
        assert_eq!(lock(&table.table).len(), 0);
    }
}
