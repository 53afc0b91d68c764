//! Pass-through: the request goes to the cluster with only the hop's own headers changed, and
//! the reply streams back. Bodies are never buffered.

use super::hop_headers::{self, Hop};
use super::{App, RespBody};
use crate::error::ApiError;
use crate::listener::ConnInfo;
use crate::metrics::RouteClass;
use crate::upstream::{CallerBody, UpBody};
use futures_util::FutureExt;
use http::{header, HeaderValue, Request, Response, Version};
use http_body_util::{BodyExt, Either};
use hyper::body::Incoming;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// Forwards `req` upstream unchanged but for hop-by-hop and forwarding headers. The future
/// owns what it needs (no borrow of `app`) and stays small: see [`super::handle`].
///
/// When a node's redirect could be followed (several nodes, or a node map: issue 21), a body
/// of a declared length within `upstream.max_replay_body` is read first, within the
/// process-wide body budget, so that it can be sent again to the master; any other body
/// streams, and a redirect then reaches the client as a relative `307` (see
/// [`crate::upstream`]'s `route.rs`).
///
/// With telemetry on (issue 24), a request that may be sampled gets a span whose context the
/// upstream request carries; boxed, so the untraced future keeps its size. One that cannot be
/// sampled gets none, and goes with the caller's unsampled context or a fresh one
/// ([`crate::telemetry::pass_through_plan`]).
pub fn pass_through(
    app: &Arc<App>,
    conn: ConnInfo,
    mut req: Request<Incoming>,
) -> impl Future<Output = Response<RespBody>> + Send + 'static {
    use crate::telemetry::PassThroughPlan;
    if crate::telemetry::on() {
        match crate::telemetry::pass_through_plan(req.headers()) {
            PassThroughPlan::Span => {
                return futures_util::future::Either::Right(Box::pin(traced(app, conn, req)));
            }
            PassThroughPlan::Unsampled(Some(fresh)) => {
                req.headers_mut()
                    .insert(http::HeaderName::from_static("traceparent"), fresh);
            }
            PassThroughPlan::Unsampled(None) => {}
        }
    }
    futures_util::future::Either::Left(untraced(app, conn, req))
}

/// A deprecated call its rule passes through: after a version look-up, inside the call's span
/// (which says so), else as any pass-through request.
pub fn passed_by_rule(
    app: &Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> impl Future<Output = Response<RespBody>> + Send + 'static {
    use tracing::Instrument;
    let span = crate::telemetry::current_call().unwrap_or_else(tracing::Span::none);
    span.record("outcome", "passed_through");
    let sending = span.in_scope(|| in_call(app, conn, req));
    sending.instrument(span)
}

/// A deprecated call's request sent on as it came. Inside the call's span it gets no
/// `pass through` span of its own: the upstream send path makes it the call's
/// `forwarded call` child (issue 24). Outside a call (telemetry off), [`pass_through`].
pub fn in_call(
    app: &Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> impl Future<Output = Response<RespBody>> + Send + 'static {
    if crate::telemetry::current_call().is_some() {
        return futures_util::future::Either::Left(untraced(app, conn, req));
    }
    futures_util::future::Either::Right(pass_through(app, conn, req))
}

fn traced(
    app: &Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> impl Future<Output = Response<RespBody>> + Send + 'static {
    use tracing::Instrument;
    let span = crate::telemetry::pass_through_span(req.method(), req.uri().path(), req.headers());
    // Entered while the upstream request is built: its `traceparent` is this span's.
    let sending = span.in_scope(|| untraced(app, conn, req));
    let recorded = span.clone();
    sending.instrument(span).map(move |resp| {
        recorded.record("http.response.status_code", resp.status().as_u16());
        resp
    })
}

fn untraced(
    app: &Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> impl Future<Output = Response<RespBody>> + Send + 'static {
    let upstream_req = prepare(app, conn, req);
    if let Some(n) = replay_size(app, &upstream_req) {
        return futures_util::future::Either::Right(Box::pin(buffered(
            app.clone(),
            upstream_req,
            n,
        )));
    }
    futures_util::future::Either::Left(streamed(app, upstream_req))
}

fn streamed(
    app: &Arc<App>,
    upstream_req: Request<UpBody>,
) -> impl Future<Output = Response<RespBody>> + Send + 'static {
    let sent = Instant::now();
    let sending = app.upstream.send(upstream_req);
    let app = app.clone();
    sending.map(move |resp| relay(&app, sent, resp))
}

fn relay(
    app: &App,
    sent: Instant,
    resp: Result<Response<crate::upstream::PooledBody>, ApiError>,
) -> Response<RespBody> {
    match resp {
        Ok(resp) => {
            app.metrics
                .upstream_latency(RouteClass::PassThrough, sent.elapsed());
            app.admin.mark_upstream_ok();
            let (mut parts, body) = resp.into_parts();
            hop_headers::strip_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, Either::Left(body))
        }
        Err(e) => super::error_response(&e),
    }
}

/// The body length to read before sending, when a redirect could be followed with it.
fn replay_size(app: &App, req: &Request<UpBody>) -> Option<usize> {
    if !app.upstream.follows_redirects() {
        return None;
    }
    let Either::Left(caller) = req.body() else {
        return None;
    };
    if hyper::body::Body::is_end_stream(caller) {
        return None;
    }
    let n = usize::try_from(hyper::body::Body::size_hint(caller).exact()?).ok()?;
    (n > 0 && n <= app.config.upstream.max_replay_body).then_some(n)
}

/// Reads the body (`n` bytes declared) within the body budget, then sends it held, so a
/// redirect can be followed with it. Over the budget, the body streams instead.
async fn buffered(app: Arc<App>, req: Request<UpBody>, n: usize) -> Response<RespBody> {
    let Ok(reservation) = app.work.reserve(n) else {
        return streamed(&app, req).await;
    };
    let (parts, body) = req.into_parts();
    let Either::Left(caller) = body else {
        return streamed(&app, Request::from_parts(parts, body)).await;
    };
    let bytes = match http_body_util::Limited::new(caller, n).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let stalled = e
                .downcast_ref::<crate::upstream::CallerBodyError>()
                .is_some_and(|c| matches!(c, crate::upstream::CallerBodyError::Stalled(_)));
            let err = if stalled {
                ApiError::new(
                    http::StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    e.to_string(),
                )
            } else {
                ApiError::bad_request(
                    "invalid_request",
                    format!("the request body could not be read: {e}"),
                )
            };
            return super::error_response(&err);
        }
    };
    let req = Request::from_parts(parts, Either::Right(http_body_util::Full::new(bytes)));
    let resp = streamed(&app, req).await;
    drop(reservation);
    resp
}

/// Why `req` has no usable `Host` (RFC 9112 §3.2), if it has none; see
/// [`hop_headers::host_problem`].
pub fn host_problem(req: &Request<Incoming>) -> Option<&'static str> {
    hop_headers::host_problem(req.version(), req.headers())
}

/// The 400 for a request [`host_problem`] refuses, in the cluster's error shape. Like hyper's
/// own 400s for broken heads, it is not audited: the request never reached a route.
pub fn refuse_host(req: &Request<Incoming>) -> std::future::Ready<Response<RespBody>> {
    let why = host_problem(req).unwrap_or("the Host header is invalid");
    std::future::ready(super::error_response(&ApiError::bad_request(
        "invalid_request",
        why,
    )))
}

/// Sends a request the executor rewrote (path, headers and/or a body it built): the same hop
/// rules as [`pass_through`], the response head awaited for at most `head_timeout`
/// (`None`: `upstream.request_timeout`), the body streamed back.
pub fn send_rewritten(
    app: &Arc<App>,
    conn: ConnInfo,
    mut parts: http::request::Parts,
    body: UpBody,
    head_timeout: Option<std::time::Duration>,
) -> impl Future<Output = Result<Response<RespBody>, ApiError>> + Send + 'static {
    prepare_parts(app, conn, &mut parts);
    let sending = app
        .upstream
        .send_within(Request::from_parts(parts, body), head_timeout);
    let app = app.clone();
    sending.map(move |resp| {
        let resp = resp?;
        app.admin.mark_upstream_ok();
        let (mut parts, body) = resp.into_parts();
        hop_headers::strip_hop_by_hop(&mut parts.headers);
        Ok(Response::from_parts(parts, Either::Left(body)))
    })
}

/// The request as the cluster gets it.
fn prepare(app: &App, conn: ConnInfo, req: Request<Incoming>) -> Request<UpBody> {
    let (mut parts, body) = req.into_parts();
    prepare_parts(app, conn, &mut parts);
    Request::from_parts(
        parts,
        Either::Left(CallerBody::new(body, app.config.listen.body_idle_timeout)),
    )
}

/// The hop's changes to a request head (see [`pass_through`]).
fn prepare_parts(app: &App, conn: ConnInfo, parts: &mut http::request::Parts) {
    // Only the path and query travel: an absolute-form target naming another host is still
    // sent to the cluster, so the shim can never be used as an open proxy.
    let pq = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    let host = original_host(parts);
    hop_headers::strip_hop_by_hop(&mut parts.headers);
    hop_headers::add_forwarding(
        &mut parts.headers,
        Hop {
            client_ip: conn.peer.ip(),
            tls: conn.tls,
            host: host.as_ref(),
        },
        app.config.forwarding,
    );
    // One write either way (replacing the client's Host costs one look-up, not a removal and
    // then the pool's insertion).
    match (app.config.forwarding.preserve_host, host) {
        (true, Some(h)) => {
            parts.headers.insert(header::HOST, h);
        }
        // HTTP/2 downstream without :authority: the pool sets the cluster's Host.
        (true, None) => {}
        (false, _) => {
            parts
                .headers
                .insert(header::HOST, app.upstream.host_header().clone());
        }
    }
    parts.uri = app.upstream.uri_for(pq);
    // The upstream protocol is negotiated per connection (ALPN), not inherited from downstream.
    parts.version = Version::HTTP_11;
}

/// The authority the client addressed: Host on HTTP/1, `:authority` on HTTP/2 (or an
/// absolute-form target without Host), never with userinfo: `http://admin:pw@x/` must not
/// carry `admin:pw` to the cluster (RFC 9110 §4.2.4 deprecates userinfo in http URIs, and a
/// Host with it is refused by [`host_problem`]).
fn original_host(parts: &http::request::Parts) -> Option<HeaderValue> {
    parts.headers.get(header::HOST).cloned().or_else(|| {
        let authority = parts.uri.authority()?;
        let host_port = match authority.as_str().rsplit_once('@') {
            Some((_, host_port)) => host_port,
            None => authority.as_str(),
        };
        HeaderValue::from_str(host_port).ok()
    })
}
