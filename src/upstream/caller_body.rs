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

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// When a request body was last read to its end (unset while it is still arriving).
#[derive(Debug, Default)]
pub struct BodyEnd(OnceLock<Instant>);

impl BodyEnd {
    /// When the body ended, if it has.
    pub fn at(&self) -> Option<Instant> {
        self.0.get().copied()
    }

    fn mark(&self) {
        let _ = self.0.set(Instant::now());
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
        idle: Duration,
        // Armed when the body is first waited on; re-armed at each new wait.
        timer: Option<Pin<Box<Sleep>>>,
        // The last poll answered "pending": the caller, not the cluster, is being waited on.
        waiting: bool,
        end: Arc<BodyEnd>,
    }
}

impl CallerBody {
    /// The caller's body, cut after `idle` without a byte.
    pub fn new(inner: Incoming, idle: Duration) -> CallerBody {
        CallerBody::capped(inner, usize::MAX, idle)
    }

    /// A body that fails with [`CallerBodyError::TooLarge`] once more than `limit` bytes came.
    pub fn capped(inner: Incoming, limit: usize, idle: Duration) -> CallerBody {
        let end = Arc::new(BodyEnd::default());
        if inner.is_end_stream() {
            end.mark();
        }
        CallerBody {
            inner,
            limit,
            seen: 0,
            idle,
            timer: None,
            waiting: false,
            end,
        }
    }

    /// When this body ends (shared with the response-head deadline).
    pub fn end(&self) -> Arc<BodyEnd> {
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
        match this.inner.as_mut().poll_frame(cx) {
            Poll::Pending => {
                let due = Instant::now() + *this.idle;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
                if !*this.waiting {
                    // A new wait: the time the cluster took to ask for more is not the caller's.
                    timer.as_mut().reset(due);
                    *this.waiting = true;
                }
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(CallerBodyError::Stalled(*this.idle)))),
                    Poll::Pending => Poll::Pending,
                }
            }
            Poll::Ready(None) => {
                *this.waiting = false;
                this.end.mark();
                Poll::Ready(None)
            }
            Poll::Ready(Some(r)) => {
                *this.waiting = false;
                let frame = r.map_err(CallerBodyError::Read)?;
                if let Some(data) = frame.data_ref() {
                    *this.seen = this.seen.saturating_add(data.len());
                    if *this.seen > *this.limit {
                        return Poll::Ready(Some(Err(CallerBodyError::TooLarge(*this.limit))));
                    }
                }
                if this.inner.is_end_stream() {
                    this.end.mark();
                }
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
