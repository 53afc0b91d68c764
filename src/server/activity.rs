//! What a connection is doing, for its driver in [`super::drive`]: whether its first request has
//! arrived, and how many streams are open (a request counts from its head until its reply body
//! has been sent or dropped), so an idle HTTP/2 connection can be told apart from a busy one.

use crate::locks::lock;
use bytes::Bytes;
use http::{Request, Response, Version};
use hyper::body::{Body, Frame, SizeHint};
use hyper::service::Service;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The open-stream count of one connection.
#[derive(Debug)]
pub(super) struct Activity {
    first: Notify,
    first_seen: AtomicBool,
    http2: AtomicBool,
    /// Open streams, and since when none has been open.
    state: Mutex<(usize, Instant)>,
}

impl Activity {
    pub(super) fn new() -> Activity {
        Activity {
            first: Notify::new(),
            first_seen: AtomicBool::new(false),
            http2: AtomicBool::new(false),
            state: Mutex::new((0, Instant::now())),
        }
    }

    /// Resolves once the first request head has arrived.
    pub(super) async fn first_request(&self) {
        self.first.notified().await;
    }

    /// Since when an HTTP/2 connection has had no open stream; `None` while one is open, and
    /// for HTTP/1 (whose idling hyper's header timer bounds).
    pub(super) fn idle_since(&self) -> Option<Instant> {
        if !self.http2.load(Ordering::Acquire) {
            return None;
        }
        let (open, since) = *lock(&self.state);
        (open == 0).then_some(since)
    }

    /// Whether the connection has been idle (as [`Self::idle_since`]) for `timeout` by now.
    pub(super) fn idle_for(&self, timeout: Duration) -> bool {
        self.idle_since()
            .is_some_and(|since| since + timeout <= Instant::now())
    }

    /// A request head arrived. Only HTTP/2 streams are counted: nothing reads the count of an
    /// HTTP/1 connection (see [`Self::idle_since`]), so its requests skip the lock, the `Arc`
    /// and the clock read on the pass-through hot path.
    fn enter(self: &Arc<Self>, version: Version) -> Option<StreamGuard> {
        // The protocol is known before the first-request signal, so the driver that wakes on it
        // can tell whether to keep an idle timer at all (see [`Self::is_http2`]).
        let guard = (version == Version::HTTP_2).then(|| {
            self.http2.store(true, Ordering::Release);
            lock(&self.state).0 += 1;
            StreamGuard(self.clone())
        });
        if !self.first_seen.swap(true, Ordering::AcqRel) {
            // notify_one stores a permit, so the signal is not lost if nobody waits yet.
            self.first.notify_one();
        }
        guard
    }

    /// Whether the connection speaks HTTP/2 (known from its first request on).
    pub(super) fn is_http2(&self) -> bool {
        self.http2.load(Ordering::Acquire)
    }
}

/// One open stream; closing the last one starts the idle clock.
#[derive(Debug)]
struct StreamGuard(Arc<Activity>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.0 = state.0.saturating_sub(1);
        if state.0 == 0 {
            state.1 = Instant::now();
        }
    }
}

/// A service whose requests count as open streams of the connection until their reply body
/// is done.
pub(super) struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Tracked<S> {
    pub(super) fn new(inner: S, activity: Arc<Activity>) -> Self {
        Tracked { inner, activity }
    }
}

impl<S, B> Service<Request<hyper::body::Incoming>> for Tracked<S>
where
    S: Service<Request<hyper::body::Incoming>, Response = Response<B>>,
{
    type Response = Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn call(&self, req: Request<hyper::body::Incoming>) -> Self::Future {
        let guard = self.activity.enter(req.version());
        TrackedFuture {
            inner: self.inner.call(req),
            guard,
        }
    }
}

pin_project_lite::pin_project! {
    /// The service's future, handing the stream's guard to the reply body.
    pub(super) struct TrackedFuture<F> {
        #[pin]
        inner: F,
        guard: Option<StreamGuard>,
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(resp)) => {
                let guard = this.guard.take();
                Poll::Ready(Ok(resp.map(|inner| TrackedBody {
                    inner,
                    _guard: guard,
                })))
            }
            Poll::Ready(Err(e)) => {
                this.guard.take();
                Poll::Ready(Err(e))
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// A reply body that keeps its stream open until hyper drops it (sent, or reset).
    pub struct TrackedBody<B> {
        #[pin]
        inner: B,
        _guard: Option<StreamGuard>,
    }
}

impl<B: Body<Data = Bytes>> Body for TrackedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
