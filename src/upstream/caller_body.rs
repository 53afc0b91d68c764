//! The caller's request body on its way to the cluster, its read errors marked as the caller's.
//!
//! When a pass-through body breaks (a malformed chunk, a client that hangs up half-way), hyper's
//! client reports it as its own send error, indistinguishable by kind from a cluster that reset
//! the connection. Wrapping the body gives the error a type of ours, so the one classification
//! in [`super::classify_failure`] can find it in the cause chain and blame the client (400), not
//! the cluster (502).

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// A downstream request body streamed upstream unchanged.
    pub struct CallerBody {
        #[pin]
        inner: Incoming,
    }
}

impl CallerBody {
    pub fn new(inner: Incoming) -> CallerBody {
        CallerBody { inner }
    }
}

/// Reading the caller's request body failed: the request was never complete.
#[derive(Debug, thiserror::Error)]
#[error("the request body could not be read")]
pub struct CallerBodyError(#[source] pub hyper::Error);

impl Body for CallerBody {
    type Data = Bytes;
    type Error = CallerBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, CallerBodyError>>> {
        self.project()
            .inner
            .poll_frame(cx)
            .map(|frame| frame.map(|r| r.map_err(CallerBodyError)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
