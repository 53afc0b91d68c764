//! The client spans of a deprecated call (issue 24 item 2): every request the shim sends to the
//! cluster while a call's span is current becomes a child of it, named for what it is.
//!
//! Decisions:
//! - One generic wrap, in the upstream send path ([`in_call`], called by
//!   [`crate::upstream::Upstream`]'s send and call methods): no rule has to remember it. Its
//!   default names are [`FORWARDED`] for a request built from the caller's (the rule sends it
//!   on in the caller's place) and [`OWN`] for a request of the shim's own.
//! - A call site that knows better wraps its send in [`in_call`] (or [`request_in_call`]) with
//!   its own name ("role look-up", "module DELETE"): that span is then current when the send
//!   path looks, which is not the call's, so the generic wrap adds nothing and there is exactly
//!   one span per request. ([`fetched`], the older form, always makes its span.)
//! - Only under a call's span: a plain pass-through request (its own `pass through` span, or
//!   none) gets nothing more, and with telemetry off the wrap costs one relaxed load.
//! - The span covers what the wrapped future covers: for a streamed request, up to the
//!   response head (the body streams to the caller after); for a request read whole, the read.

use super::{current_call, on, upstream_span};
use futures_util::future::Either;
use http::{Method, Request};
use std::future::Future;
use std::pin::Pin;
use tracing::{Instrument, Span};

/// The default name of a request a rule sends on in the caller's place.
pub const FORWARDED: &str = "forwarded call";

/// The default name of a request of the shim's own (a look-up, a write it builds).
pub const OWN: &str = "upstream call";

/// A reply whose status a client span records.
pub trait Answered {
    fn status_code(&self) -> u16;
}

impl Answered for crate::upstream::Fetched {
    fn status_code(&self) -> u16 {
        self.status.as_u16()
    }
}

impl<B> Answered for http::Response<B> {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// A boxed sending future (only ever built with telemetry on).
type Traced<'a, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>;

/// `send()`, the request `method path`, in a client child of the current call's span named
/// `name` when a call's span is current; `send()` as it is otherwise. `send` runs inside the
/// child (the request's `traceparent` is the child's: see [`super::inject`]).
pub fn in_call<'a, F, T, E>(
    name: &'static str,
    method: &Method,
    path: &str,
    send: impl FnOnce() -> F,
) -> Either<F, Traced<'a, T, E>>
where
    F: Future<Output = Result<T, E>> + Send + 'a,
    T: Answered + 'a,
    E: 'a,
{
    match child(name, method, path) {
        None => Either::Left(send()),
        Some(span) => {
            let sending = span.in_scope(send);
            Either::Right(Box::pin(recorded(span, sending)))
        }
    }
}

/// [`in_call`] for a request already built: `send(req)`.
pub fn request_in_call<'a, B, F, T, E>(
    name: &'static str,
    req: Request<B>,
    send: impl FnOnce(Request<B>) -> F,
) -> Either<F, Traced<'a, T, E>>
where
    F: Future<Output = Result<T, E>> + Send + 'a,
    T: Answered + 'a,
    E: 'a,
{
    match child(name, req.method(), req.uri().path()) {
        None => Either::Left(send(req)),
        Some(span) => {
            let sending = span.in_scope(|| send(req));
            Either::Right(Box::pin(recorded(span, sending)))
        }
    }
}

/// The child span for a request sent now, when a call's span is current.
fn child(name: &'static str, method: &Method, path: &str) -> Option<Span> {
    if !on() {
        return None;
    }
    current_call()?;
    Some(upstream_span(name, method, path))
}

/// Runs `call`, one request the shim sends on its own behalf, in an [`upstream_span`] named
/// `name`, recording the status of its answer.
pub async fn fetched<T: Answered, E>(
    name: &'static str,
    method: &Method,
    path: &str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    if !on() {
        return call.await;
    }
    recorded(upstream_span(name, method, path), call).await
}

/// `sending` in `span`, its answer's status (or the failure) recorded on it.
async fn recorded<T: Answered, E>(
    span: Span,
    sending: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let result = sending.instrument(span.clone()).await;
    match &result {
        Ok(answer) => span.record("http.response.status_code", answer.status_code()),
        Err(_) => span.record("otel.status_code", "ERROR"),
    };
    result
}
