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

use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::metrics::RouteClass;
use crate::rules::target;
use futures_util::future::{Either as FutureEither, FutureExt};
use http::uri::PathAndQuery;
use http::{Request, Response, Uri};
use hyper::body::Incoming;
use std::borrow::Cow;
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
    mut req: Request<Incoming>,
) -> impl Future<Output = Result<Response<access::Logged<RespBody>>, Infallible>> + Send + 'static {
    // First, so that every later reader (the access record, classification, the envelope's
    // match, the audit, the request forwarded) sees the one spelling the cluster gets.
    let normal = normalise_target(&mut req);
    // With the `access` target filtered out (e.g. `RUST_LOG=warn`), skip gathering the record:
    // the method, URI and clock read would only be dropped.
    let record =
        access::enabled().then(|| (req.method().clone(), req.uri().clone(), Instant::now()));
    // The deprecated route hands its guard to its detached task, which may outlive the request.
    let mut in_flight = Some(app.metrics.in_flight());
    // The rule table: a method compare and a literal-prefix compare per rule when nothing
    // matches; the matched rule travels as its index (the detached task matches it again on
    // the request it owns).
    let (rule, hint) = match req
        .uri()
        .path_and_query()
        .and_then(|pq| app.config.rules.table.classify(req.method(), pq.as_str()))
    {
        Some(m) => (Some(m.index), deprecated::quiet::Hint::of(&app, &m)),
        None => (None, None),
    };
    let refused = match (normal, rule) {
        (Err(e), _) => Some(e),
        (Ok(()), None) => misspelled(&app, &req),
        (Ok(()), Some(_)) => None,
    };
    let (class, work) = match (rule, refused) {
        // RFC 9112 §3.2: without exactly one valid Host, 400 on every route, before anything
        // is read or sent (boxed: a rare path).
        (rule, _) if forward::host_problem(&req).is_some() => (
            route_class(rule),
            FutureEither::Right(translated(forward::refuse_host(&req))),
        ),
        // A target that cannot be normalised safely, or that spells a rule's path in a way
        // the shim does not forward: 400 before anything is read or sent, like the Host's.
        (rule, Some(e)) => (
            route_class(rule),
            FutureEither::Right(translated(std::future::ready(error_response(&e)))),
        ),
        // A field rule's route (API-CATALOGUE §9): its body is read and inspected (boxed).
        (None, None) if inspects_fields(&app, &req) => (
            RouteClass::PassThrough,
            FutureEither::Right(deprecated::fields::dispatch(
                app.clone(),
                conn,
                req,
                in_flight.take(),
            )),
        ),
        (None, None) => match reply_aliases(&app, &req) {
            // F14 (API-CATALOGUE §9.6), on only when configured: the reply is read (boxed).
            Some(object) => (
                RouteClass::PassThrough,
                FutureEither::Right(deprecated::reply_aliases::dispatch(
                    app.clone(),
                    conn,
                    req,
                    object,
                )),
            ),
            None => match predefined_list(&app, &req) {
                // F2's reply side (API-CATALOGUE §9.2): the reply is read (boxed).
                Some(list) => (
                    RouteClass::PassThrough,
                    FutureEither::Right(deprecated::predefined::dispatch(
                        app.clone(),
                        conn,
                        req,
                        list,
                    )),
                ),
                None => (
                    RouteClass::PassThrough,
                    FutureEither::Left(forward::pass_through(&app, conn, req)),
                ),
            },
        },
        (Some(rule), None) => (
            RouteClass::Deprecated,
            FutureEither::Right(deprecated::dispatch(
                app.clone(),
                conn,
                req,
                (rule, hint),
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

/// Whether some field rule reads this call's body: a method compare and a literal-prefix
/// compare per field rule route when none does.
fn inspects_fields(app: &App, req: &Request<Incoming>) -> bool {
    req.uri().path_and_query().is_some_and(|pq| {
        app.config
            .rules
            .table
            .inspects_fields(req.method(), pq.as_str())
    })
}

/// Whether F14's reply aliases read this call's reply: `None` at once when they are off.
fn reply_aliases(
    app: &App,
    req: &Request<Incoming>,
) -> Option<crate::rules::fields::aliases::Object> {
    app.config
        .rules
        .reply_aliases
        .reads(req.method(), req.uri().path())
}

/// Whether F2 reads this call's reply: a method and path compare, then F2's mode.
fn predefined_list(
    app: &App,
    req: &Request<Incoming>,
) -> Option<crate::rules::fields::predefined::List> {
    let list = crate::rules::fields::predefined::list_of(req.method(), req.uri().path())?;
    let rules = app.config.rules.table.fields().rules();
    rules
        .iter()
        .any(|r| r.name == deprecated::predefined::RULE && r.mode != crate::rules::Mode::Off)
        .then_some(list)
}

fn route_class(rule: Option<usize>) -> RouteClass {
    match rule {
        None => RouteClass::PassThrough,
        Some(_) => RouteClass::Deprecated,
    }
}

/// Rewrites the request target to its normal form ([`rules::target`](crate::rules::target)),
/// keeping its scheme and authority (HTTP/2's `:authority`, an absolute-form target). Nothing
/// is copied or allocated when the path is already normal. `Err`: a path whose normal form
/// would be ambiguous, refused.
fn normalise_target(req: &mut Request<Incoming>) -> Result<(), ApiError> {
    let refuse =
        |why: &dyn std::fmt::Display| ApiError::bad_request("invalid_request", why.to_string());
    let Some(pq) = req.uri().path_and_query() else {
        return Ok(());
    };
    let normal = match target::normalise_target(pq.as_str()) {
        Ok(Cow::Borrowed(_)) => return Ok(()),
        Ok(Cow::Owned(normal)) => normal,
        Err(e) => return Err(refuse(&e)),
    };
    // Cannot fail: the normal form only drops bytes of a valid path or adds unreserved ones.
    let bad = || refuse(&"the request target has no valid normal form");
    let mut parts = std::mem::take(req.uri_mut()).into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(normal).map_err(|_| bad())?);
    *req.uri_mut() = Uri::from_parts(parts).map_err(|_| bad())?;
    Ok(())
}

/// The 400 for a (normal) target that matched no rule but spells one in a lenient reading
/// ([`RuleTable::misspelled`](crate::rules::RuleTable::misspelled)): a `;` parameter, another
/// case, an encoded slash, a lower-case method. The cluster might read it as the rule's path,
/// and the rule would be skipped.
fn misspelled(app: &App, req: &Request<Incoming>) -> Option<ApiError> {
    let pq = req.uri().path_and_query()?;
    app.config
        .rules
        .table
        .misspelled(req.method(), pq.as_str())?;
    Some(ApiError::bad_request(
        "invalid_request",
        "the request target spells a deprecated route in a form the proxy does not forward \
         (a ';' parameter, another letter case, an encoded slash, a lower-case method); \
         send the method and path as the cluster documents them",
    ))
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
