//! One exchange on a pooled connection: [`Exchange`] resolves to a response (its body a
//! [`PooledBody`]) or to a request that was never sent, to try on another connection; and which
//! requests may be replayed.
//!
//! Decisions:
//! - Only a request the connection gave back unsent, or a bodiless GET/HEAD an HTTP/2 peer
//!   refused (REFUSED_STREAM, GOAWAY: RFC 9113 §8.7), is sent again; nothing else is retried.

use super::body::{Checkin, PooledBody};
use super::{Attempt, SendError};
use crate::upstream::UpBody;
use bytes::Bytes;
use http::{Method, Request, Response, Uri};
use http_body_util::{Either, Full};
use hyper::body::{Body, Incoming};
use hyper::client::conn::TrySendError;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

pub(super) type Tried = Result<Response<Incoming>, TrySendError<Request<UpBody>>>;

/// A copy of `req` to send again if an HTTP/2 connection refuses it: only for GET and HEAD
/// without a body (idempotent, and nothing streamed that could not be sent twice).
pub(super) fn replayable(req: &Request<UpBody>) -> Option<Request<UpBody>> {
    if !(req.method() == Method::GET || req.method() == Method::HEAD) || !req.body().is_end_stream()
    {
        return None;
    }
    let mut copy = Request::new(Either::Right(Full::new(Bytes::new())));
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.version_mut() = req.version();
    *copy.headers_mut() = req.headers().clone();
    Some(copy)
}

/// Whether an HTTP/2 exchange failed because the peer refused the stream or sent GOAWAY.
fn refused_by_h2_peer(e: &hyper::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h2) = s.downcast_ref::<h2::Error>() {
            return h2.is_go_away() || h2.reason() == Some(h2::Reason::REFUSED_STREAM);
        }
        source = s.source();
    }
    false
}

pin_project_lite::pin_project! {
    /// One request in flight on one connection.
    #[project = ExchangeProj]
    pub(super) enum Exchange<A, B> {
        H1 { #[pin] fut: A, slot: Option<Checkin> },
        // `replay`: a copy of an idempotent, bodiless request, sent again elsewhere if the
        // connection refuses it (REFUSED_STREAM, GOAWAY) without handing it back.
        H2 { #[pin] fut: B, replay: Option<Request<UpBody>> },
        Failed { error: Option<SendError> },
    }
}

impl<A, B> Future for Exchange<A, B>
where
    A: Future<Output = Tried>,
    B: Future<Output = Tried>,
{
    type Output = Attempt;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Attempt> {
        let (tried, slot, replay) = match self.project() {
            ExchangeProj::H1 { fut, slot } => (ready!(fut.poll(cx)), slot.take(), None),
            ExchangeProj::H2 { fut, replay } => (ready!(fut.poll(cx)), None, Some(replay.take())),
            ExchangeProj::Failed { error } => {
                let error = error
                    .take()
                    .unwrap_or_else(|| SendError::Connect("exchange polled after its end".into()));
                return Poll::Ready(Attempt::Done(Err(error)));
            }
        };
        Poll::Ready(match tried {
            Ok(resp) => Attempt::Done(Ok(resp.map(|body| PooledBody::new(body, slot)))),
            Err(mut failed) => match failed.take_message() {
                Some(mut unsent) => {
                    // Undo the per-protocol rewrite so another connection starts clean.
                    if let Some(pq) = unsent.uri().path_and_query().cloned() {
                        *unsent.uri_mut() = Uri::from(pq);
                    }
                    Attempt::Unsent(unsent, failed.into_error(), replay.is_some())
                }
                None => match replay.flatten() {
                    // The cluster refused the stream (RFC 9113 §8.7: not processed) or went
                    // away; hyper kept the request, but a GET or HEAD without a body is safe
                    // to send again (RFC 9110 §9.2.2).
                    Some(copy) if refused_by_h2_peer(failed.error()) => {
                        Attempt::Unsent(copy, failed.into_error(), true)
                    }
                    _ => Attempt::Done(Err(SendError::Http(failed.into_error()))),
                },
            },
        })
    }
}
