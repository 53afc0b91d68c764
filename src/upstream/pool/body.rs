//! The end of an exchange: [`PooledBody`] streams the response and, when it has ended, hands its
//! HTTP/1 connection back to the pool ([`Checkin`]); dropped before the end, the connection
//! closes with it.

use super::Shared;
use crate::upstream::UpBody;
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use std::pin::Pin;
use std::sync::Weak;
use std::task::{Context, Poll};

/// Where a finished HTTP/1 exchange returns its connection.
pub(super) struct Checkin {
    pub(super) tx: http1::SendRequest<UpBody>,
    pub(super) pool: Weak<Shared>,
}

impl Checkin {
    fn done(self) {
        let Some(pool) = self.pool.upgrade() else {
            return;
        };
        let mut tx = self.tx;
        if tx.is_ready() {
            pool.put(tx);
        } else if !tx.is_closed() {
            // The connection task has not yet seen the end of the exchange it just delivered
            // (it runs as its own task): hand it back once it is ready.
            tokio::spawn(async move {
                if tx.ready().await.is_ok() {
                    pool.put(tx);
                }
            });
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body from the pool; returns its HTTP/1 connection when it ends. Dropped
    /// before the end, the connection closes with it (hyper cannot reuse a half-read one).
    pub struct PooledBody {
        #[pin]
        inner: Incoming,
        slot: Option<Checkin>,
        // Told how the body ended ([`PooledBody::on_end`]); boxed: one pointer when unused.
        watch: Option<Box<Watch>>,
    }

    impl PinnedDrop for PooledBody {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(w) = this.watch.take() {
                (w.on_end)(w.sent, StreamEnd::Abandoned);
            }
        }
    }
}

/// How a watched response body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// Every byte was read.
    Complete,
    /// Dropped before its end: the client went away (or stopped reading).
    Abandoned,
    /// The cluster's side broke off.
    Failed,
}

struct Watch {
    sent: u64,
    on_end: Box<dyn FnOnce(u64, StreamEnd) + Send>,
}

impl PooledBody {
    pub(super) fn new(inner: Incoming, slot: Option<Checkin>) -> PooledBody {
        let mut body = PooledBody {
            inner,
            slot,
            watch: None,
        };
        if body.inner.is_end_stream() {
            release(&mut body.slot);
        }
        body
    }

    /// Calls `on_end` once with the bytes passed on and how the body ended (issue 20: a
    /// download's audit record says whether the client got it all).
    pub fn on_end(&mut self, on_end: impl FnOnce(u64, StreamEnd) + Send + 'static) {
        let watch = Watch {
            sent: 0,
            on_end: Box::new(on_end),
        };
        if self.inner.is_end_stream() {
            (watch.on_end)(0, StreamEnd::Complete);
        } else {
            self.watch = Some(Box::new(watch));
        }
    }
}

/// Hands the connection back (once) when the body has ended.
fn release(slot: &mut Option<Checkin>) {
    if let Some(slot) = slot.take() {
        slot.done();
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let mut this = self.project();
        let polled = this.inner.as_mut().poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None) => Some(StreamEnd::Complete),
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(w), Some(data)) = (this.watch.as_mut(), frame.data_ref()) {
                    w.sent = w.sent.saturating_add(data.len() as u64);
                }
                this.inner.is_end_stream().then_some(StreamEnd::Complete)
            }
            Poll::Ready(Some(Err(_))) => Some(StreamEnd::Failed),
            Poll::Pending => None,
        };
        if let Some(end) = ended {
            if end == StreamEnd::Complete {
                release(this.slot);
            }
            if let Some(w) = this.watch.take() {
                (w.on_end)(w.sent, end);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
