//! The access record: one event per request on the `access` target, written when the reply
//! body has been fully sent (or abandoned), so status, bytes and duration are final. Only the
//! path is recorded: query values and credentials never reach it.

use bytes::Bytes;
use http::{Method, StatusCode, Uri};
use hyper::body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// The tracing target of access records.
pub const TARGET: &str = "access";

/// What the access record says about a request, gathered before the reply starts.
pub struct Entry {
    pub method: Method,
    pub uri: Uri,
    pub status: StatusCode,
    pub started: Instant,
}

pin_project! {
    /// A reply body that counts bytes and writes the access record when it ends or is dropped.
    pub struct Logged<B> {
        #[pin]
        inner: B,
        entry: Option<Entry>,
        bytes: u64,
    }

    impl<B> PinnedDrop for Logged<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(entry) = this.entry.take() {
                emit(&entry, *this.bytes, false);
            }
        }
    }
}

impl<B> Logged<B> {
    /// Wraps a reply body; with no `entry` (access records off) it only passes frames through.
    pub fn new(inner: B, entry: Option<Entry>) -> Self {
        Logged {
            inner,
            entry,
            bytes: 0,
        }
    }
}

/// True when access records would be written (the `access` target is enabled at INFO).
pub fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::INFO)
}

fn emit(entry: &Entry, bytes: u64, complete: bool) {
    tracing::info!(
        target: TARGET,
        method = %entry.method,
        path = %crate::escape::Escaped(entry.uri.path()),
        status = entry.status.as_u16(),
        duration_ms = entry.started.elapsed().as_secs_f64() * 1000.0,
        bytes,
        complete,
        "request"
    );
}

impl<B> Body for Logged<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        let polled = this.inner.as_mut().poll_frame(cx);
        if this.entry.is_none() {
            return polled;
        }
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    *this.bytes += data.len() as u64;
                }
                // hyper stops polling a body that reports its end, so the last frame may be
                // the last poll: finish the record here rather than wait for `None`.
                if this.inner.as_ref().get_ref().is_end_stream() {
                    if let Some(entry) = this.entry.take() {
                        emit(&entry, *this.bytes, true);
                    }
                }
            }
            Poll::Ready(None) => {
                if let Some(entry) = this.entry.take() {
                    emit(&entry, *this.bytes, true);
                }
            }
            _ => {}
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
