//! The request path: every downstream request enters [`handle`], is classified, and either
//! streams through to the cluster ([`forward`]) or is run by the executor of the deprecated
//! routes ([`deprecated`]). Errors become responses in one place ([`reply`]).

pub mod access;
pub mod app;
pub mod budget;
pub mod callers;
pub mod deprecated;
pub mod forward;
pub mod hop_headers;
pub mod reply;
pub mod versions;

pub use app::{App, AppError};
pub use reply::{error_response, RespBody};

use crate::listener::ConnInfo;
use crate::metrics::RouteClass;
use futures_util::future::{Either as FutureEither, FutureExt};
use http::{Request, Response};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// The service function of the data port.
///
/// Built from combinators rather than as an `async fn`: hyper moves this future into its
/// connection task on every request, and an `async fn` would also keep every argument and
/// moved-from local alive in its state (measured: 2.9 KiB before, BENCHMARKS.md).
pub fn handle(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> impl Future<Output = Result<Response<access::Logged<RespBody>>, Infallible>> + Send + 'static {
    // With the `access` target filtered out (e.g. `RUST_LOG=warn`), skip gathering the record:
    // the method, URI and clock read would only be dropped.
    let record =
        access::enabled().then(|| (req.method().clone(), req.uri().clone(), Instant::now()));
    // The deprecated route hands its guard to its detached task, which may outlive the request.
    let mut in_flight = Some(app.metrics.in_flight());
    // The rule table: a method compare and a literal-prefix compare per rule when nothing
    // matches; the matched rule travels as its index (the detached task matches it again on
    // the request it owns).
    let rule = req
        .uri()
        .path_and_query()
        .and_then(|pq| app.config.rules.table.classify(req.method(), pq.as_str()))
        .map(|m| m.index);
    let (class, work) = match rule {
        // RFC 9112 §3.2: without exactly one valid Host, 400 on every route, before anything
        // is read or sent (boxed: a rare path).
        rule if forward::host_problem(&req).is_some() => (
            match rule {
                None => RouteClass::PassThrough,
                Some(_) => RouteClass::Deprecated,
            },
            FutureEither::Right(translated(forward::refuse_host(&req))),
        ),
        None => (
            RouteClass::PassThrough,
            FutureEither::Left(forward::pass_through(&app, conn, req)),
        ),
        Some(rule) => (
            RouteClass::Deprecated,
            FutureEither::Right(deprecated::dispatch(
                app.clone(),
                conn,
                req,
                rule,
                in_flight.take(),
            )),
        ),
    };
    work.map(move |resp| {
        let _in_flight = in_flight;
        let status = resp.status();
        app.metrics.request(class, status.as_u16());
        let entry = record.map(|(method, uri, started)| access::Entry {
            method,
            uri,
            status,
            started,
        });
        Ok(resp.map(|b| access::Logged::new(b, entry)))
    })
}

fn translated(f: impl Future<Output = Response<RespBody>> + Send + 'static) -> deprecated::Boxed {
    Box::pin(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future a function returns, from the function alone.
    fn future_size<A, B, C, F, Fut>(_: F) -> usize
    where
        F: FnOnce(A, B, C) -> Fut,
    {
        std::mem::size_of::<Fut>()
    }

    /// hyper moves the service future into its connection task on every request, so its size
    /// is paid per request (and the pass-through one is most of it). 2.9 KiB when `handle` was
    /// an `async fn` awaiting nested `async fn`s; 624 bytes built from combinators. A bound
    /// with headroom catches a large state (a connect, a TLS handshake, the translation)
    /// creeping back in unboxed.
    #[test]
    fn the_per_request_future_stays_small() {
        let handle_size = future_size(handle);
        let pass_through_size =
            future_size::<&Arc<App>, ConnInfo, Request<Incoming>, _, _>(forward::pass_through);
        assert!(handle_size <= 1024, "handle future: {handle_size} bytes");
        assert!(
            pass_through_size <= 768,
            "pass-through future: {pass_through_size} bytes"
        );
    }
}
