//! The caller's request body on its way to the cluster, its read errors marked as the caller's.
//!
//! When a pass-through body breaks (a malformed chunk, a client that hangs up half-way), hyper's
//! client reports it as its own send error, indistinguishable by kind from a cluster that reset
//! the connection. Wrapping the body gives the error a type of ours, so the one classification
//! in [`super::classify_failure`] can find it in the cause chain and blame the client (400), not
//! the cluster (502). A capped body (a streamed module upload, API-RULES §4.7) also ends with
//! an error of ours once more than its limit has arrived, which becomes a 413.
//!
//! Issue 20 (timeouts that mean what they say):
//! - A body that sends nothing for `listen.body_idle_timeout` while the cluster waits for it
//!   ends with [`CallerBodyError::Stalled`], the client's `408`. Only the caller's silence
//!   counts: the clock runs while this body is waited on (its last poll answered "pending"),
//!   not while the cluster is slow to take what already came.
//! - The body says when it ended ([`BodyEnd`]), so the response-head deadline
//!   (`upstream.request_timeout`) counts from there, not from the first byte of an upload.
//!   While it is still arriving, a cluster that stops taking it is cut `request_timeout` plus
//!   the idle timeout after its last progress (504, the cluster's).

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// When a request body ended (unset while it is still arriving), and when it last moved.
#[derive(Debug)]
pub struct BodyEnd {
    ended: OnceLock<Instant>,
    started: Instant,
    /// Nanoseconds from `started` to the last frame passed on.
    moved: AtomicU64,
    idle: Duration,
}

impl BodyEnd {
    fn new(idle: Duration) -> BodyEnd {
        BodyEnd {
            ended: OnceLock::new(),
            started: Instant::now(),
            moved: AtomicU64::new(0),
            idle,
        }
    }

    /// When the body ended, if it has.
    pub fn at(&self) -> Option<Instant> {
        self.ended.get().copied()
    }

    /// When a response-head deadline of `limit` falls: `limit` after the body's end; while it
    /// is still arriving, `limit` + the idle timeout after it last moved, so that a cluster that
    /// stops taking the body (it reads nothing and answers nothing) is still cut, and a caller's
    /// own pauses are left to its idle timeout, which fires first.
    pub fn due(&self, limit: Duration) -> Instant {
        match self.at() {
            Some(end) => end + limit,
            None => {
                let moved = Duration::from_nanos(self.moved.load(Ordering::Relaxed));
                self.started + moved + limit + self.idle
            }
        }
    }

    fn mark(&self) {
        let _ = self.ended.set(Instant::now());
    }

    fn moved(&self) {
        let nanos = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.moved.store(nanos, Ordering::Relaxed);
    }
}

pin_project! {
    /// A downstream request body streamed upstream unchanged.
    pub struct CallerBody {
        #[pin]
        inner: Incoming,
        // `usize::MAX` when uncapped.
        limit: usize,
        seen: usize,
        // Armed when the body is first waited on; re-armed at each new wait.
        timer: Option<Pin<Box<Sleep>>>,
        // The last poll answered "pending": the caller, not the cluster, is being waited on.
        waiting: bool,
        // `None` for a body that had ended before it was sent (a GET): no allocation on the
        // common pass-through path. Holds the idle timeout too (only a body still arriving
        // can be waited on), which keeps the pass-through future within its bound.
        end: Option<Arc<BodyEnd>>,
        // Bytes already read from `inner` (a field rule's inspection that gave up at its
        // limit), sent first.
        prefix: Option<Box<Bytes>>,
    }
}

impl CallerBody {
    /// The caller's body, cut after `idle` without a byte.
    pub fn new(inner: Incoming, idle: Duration) -> CallerBody {
        CallerBody::capped(inner, usize::MAX, idle)
    }

    /// A body that fails with [`CallerBodyError::TooLarge`] once more than `limit` bytes came.
    pub fn capped(inner: Incoming, limit: usize, idle: Duration) -> CallerBody {
        let end = (!inner.is_end_stream()).then(|| Arc::new(BodyEnd::new(idle)));
        CallerBody {
            inner,
            limit,
            seen: 0,
            timer: None,
            waiting: false,
            end,
            prefix: None,
        }
    }

    /// The caller's body of which `prefix` was already read: `prefix`, then the rest of
    /// `inner`, cut after `idle` without a byte.
    pub fn with_prefix(prefix: Bytes, inner: Incoming, idle: Duration) -> CallerBody {
        let mut body = CallerBody::new(inner, idle);
        if body.end.is_none() {
            body.end = Some(Arc::new(BodyEnd::new(idle)));
        }
        body.seen = prefix.len();
        body.prefix = (!prefix.is_empty()).then(|| Box::new(prefix));
        body
    }

    /// When this body ends (shared with the response-head deadline); `None` when it had
    /// ended before it was sent.
    pub fn end(&self) -> Option<Arc<BodyEnd>> {
        self.end.clone()
    }
}

/// Reading the caller's request body failed: the request was never complete.
#[derive(Debug, thiserror::Error)]
pub enum CallerBodyError {
    #[error("the request body could not be read")]
    Read(#[source] hyper::Error),
    #[error("the request body is larger than the {0}-byte limit")]
    TooLarge(usize),
    #[error("the request body stalled: no byte for {0:?} (listen.body_idle_timeout)")]
    Stalled(Duration),
}

impl Body for CallerBody {
    type Data = Bytes;
    type Error = CallerBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, CallerBodyError>>> {
        let mut this = self.project();
        if let Some(prefix) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(*prefix))));
        }
        match this.inner.as_mut().poll_frame(cx) {
            Poll::Pending => {
                let idle = this.end.as_ref().map_or(Duration::ZERO, |e| e.idle);
                let due = Instant::now() + idle;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
                if !*this.waiting {
                    // A new wait: the time the cluster took to ask for more is not the caller's.
                    timer.as_mut().reset(due);
                    *this.waiting = true;
                }
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(CallerBodyError::Stalled(idle)))),
                    Poll::Pending => Poll::Pending,
                }
            }
            Poll::Ready(None) => {
                *this.waiting = false;
                if let Some(end) = this.end.as_ref() {
                    end.mark();
                }
                Poll::Ready(None)
            }
            Poll::Ready(Some(r)) => {
                *this.waiting = false;
                if let Some(end) = this.end.as_ref() {
                    end.moved();
                }
                let frame = r.map_err(CallerBodyError::Read)?;
                if let Some(data) = frame.data_ref() {
                    *this.seen = this.seen.saturating_add(data.len());
                    if *this.seen > *this.limit {
                        return Poll::Ready(Some(Err(CallerBodyError::TooLarge(*this.limit))));
                    }
                }
                if this.inner.is_end_stream() {
                    if let Some(end) = this.end.as_ref() {
                        end.mark();
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let inner = self.inner.size_hint();
        match &self.prefix {
            None => inner,
            // No upper bound: a body that came without a declared length goes on chunked.
            Some(p) => {
                let mut hint = SizeHint::new();
                hint.set_lower(inner.lower().saturating_add(p.len() as u64));
                hint
            }
        }
    }
}
