//! What a connection is doing, and what its listener has ordered it to do.
//!
//! Counts (lock-free, no clock read on the request path): requests opened and closed (a request
//! counts from its head until its reply body has been sent or dropped) and whether the
//! connection speaks HTTP/2. The listener's [`super::sweep`] reads them every sweep to tell a
//! busy connection from an idle one; it answers with an [`Order`] that the connection's driver
//! ([`super::drive`]) carries out the next time it is polled, woken for it.

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http::{Request, Response, Version};
use hyper::body::{Body, Frame, SizeHint};
use hyper::service::Service;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// What the listener wants of a connection. Orders only escalate (a later, milder one is
/// ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(super) enum Order {
    Run = 0,
    /// Finish what is in flight and close (GOAWAY / `Connection: close`).
    Close = 1,
    /// Drop the connection now (closes the socket), for the given reason.
    DropNoHead = 2,
    DropIdle = 3,
    DropCut = 4,
    DropFlushed = 5,
}

impl Order {
    fn from_u8(v: u8) -> Order {
        match v {
            0 => Order::Run,
            1 => Order::Close,
            2 => Order::DropNoHead,
            3 => Order::DropIdle,
            4 => Order::DropCut,
            _ => Order::DropFlushed,
        }
    }

    /// Why a connection dropped on this order ended (for its debug line).
    pub(super) fn reason(self) -> &'static str {
        match self {
            Order::Run | Order::Close => "ended",
            Order::DropNoHead => "no request head before the header read timeout",
            Order::DropIdle => "HTTP/1 idle (no complete request head) for the header read timeout",
            Order::DropCut => "cut at the shutdown deadline",
            Order::DropFlushed => "cut at the shutdown deadline after its last reply",
        }
    }
}

/// One connection's counts and orders.
#[derive(Debug, Default)]
pub(super) struct Activity {
    opened: AtomicUsize,
    closed: AtomicUsize,
    http2: AtomicBool,
    order: AtomicU8,
    waker: AtomicWaker,
}

/// A reading of [`Activity`]'s counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counts {
    pub opened: usize,
    pub closed: usize,
    pub http2: bool,
}

impl Activity {
    pub(super) fn new() -> Activity {
        Activity::default()
    }

    /// The counts now (`closed` read first: a request closed after that read is still open in
    /// this reading, never the other way round).
    pub(super) fn counts(&self) -> Counts {
        let closed = self.closed.load(Ordering::Acquire);
        Counts {
            opened: self.opened.load(Ordering::Acquire),
            closed,
            http2: self.http2.load(Ordering::Acquire),
        }
    }

    /// Orders the connection (escalating only) and wakes its driver.
    pub(super) fn order(&self, order: Order) {
        let before = self.order.fetch_max(order as u8, Ordering::AcqRel);
        if before < order as u8 {
            self.waker.wake();
        }
    }

    /// The order in force; `cx`'s waker is woken when a stronger one comes.
    pub(super) fn order_for(&self, cx: &Context<'_>) -> Order {
        self.waker.register(cx.waker());
        Order::from_u8(self.order.load(Ordering::Acquire))
    }

    /// A request head arrived.
    fn enter(self: &Arc<Self>, version: Version) -> StreamGuard {
        if version == Version::HTTP_2 && !self.http2.load(Ordering::Relaxed) {
            self.http2.store(true, Ordering::Release);
        }
        self.opened.fetch_add(1, Ordering::AcqRel);
        StreamGuard(self.clone())
    }
}

/// One open request; dropping it closes the request.
#[derive(Debug)]
struct StreamGuard(Arc<Activity>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.closed.fetch_add(1, Ordering::AcqRel);
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
        let guard = Some(self.activity.enter(req.version()));
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
