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
    }
}

impl PooledBody {
    pub(super) fn new(inner: Incoming, slot: Option<Checkin>) -> PooledBody {
        let mut body = PooledBody { inner, slot };
        if body.inner.is_end_stream() {
            release(&mut body.slot);
        }
        body
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
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => this.inner.is_end_stream(),
            _ => false,
        };
        if ended {
            release(this.slot);
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
