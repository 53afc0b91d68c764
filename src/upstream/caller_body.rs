//! The caller's request body on its way to the cluster, its read errors marked as the caller's.
//!
//! When a pass-through body breaks (a malformed chunk, a client that hangs up half-way), hyper's
//! client reports it as its own send error, indistinguishable by kind from a cluster that reset
//! the connection. Wrapping the body gives the error a type of ours, so the one classification
//! in [`super::classify_failure`] can find it in the cause chain and blame the client (400), not
//! the cluster (502). A capped body (a streamed module upload, API-RULES §4.7) also ends with
//! an error of ours once more than its limit has arrived, which becomes a 413.

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
        // `usize::MAX` when uncapped.
        limit: usize,
        seen: usize,
    }
}

impl CallerBody {
    pub fn new(inner: Incoming) -> CallerBody {
        CallerBody::capped(inner, usize::MAX)
    }

    /// A body that fails with [`CallerBodyError::TooLarge`] once more than `limit` bytes came.
    pub fn capped(inner: Incoming, limit: usize) -> CallerBody {
        CallerBody {
            inner,
            limit,
            seen: 0,
        }
    }
}

/// Reading the caller's request body failed: the request was never complete.
#[derive(Debug, thiserror::Error)]
pub enum CallerBodyError {
    #[error("the request body could not be read")]
    Read(#[source] hyper::Error),
    #[error("the request body is larger than the {0}-byte limit")]
    TooLarge(usize),
}

impl Body for CallerBody {
    type Data = Bytes;
    type Error = CallerBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, CallerBodyError>>> {
        let this = self.project();
        let limit = *this.limit;
        let seen = this.seen;
        this.inner.poll_frame(cx).map(|frame| {
            frame.map(|r| {
                let frame = r.map_err(CallerBodyError::Read)?;
                if let Some(data) = frame.data_ref() {
                    *seen = seen.saturating_add(data.len());
                    if *seen > limit {
                        return Err(CallerBodyError::TooLarge(limit));
                    }
                }
                Ok(frame)
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
