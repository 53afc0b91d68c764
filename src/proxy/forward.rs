//! Pass-through: the request goes to the cluster with only the hop's own headers changed, and
//! the reply streams back. Bodies are never buffered.

use super::headers::{self, Hop};
use super::{App, RespBody};
use crate::error::ApiError;
use crate::metrics::RouteClass;
use crate::server::ConnInfo;
use http::{header, HeaderValue, Request, Response, Version};
use http_body_util::Either;
use hyper::body::Incoming;
use std::time::Instant;

/// Forwards `req` upstream unchanged but for hop-by-hop and forwarding headers.
pub async fn pass_through(
    app: &App,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, ApiError> {
    let (mut parts, body) = req.into_parts();
    // Only the path and query travel: an absolute-form target naming another host is still
    // sent to the cluster, so the shim can never be used as an open proxy.
    let pq = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    let host = original_host(&parts);
    headers::strip_hop_by_hop(&mut parts.headers);
    headers::add_forwarding(
        &mut parts.headers,
        Hop {
            client_ip: conn.peer.ip(),
            tls: conn.tls,
            host: host.as_ref(),
        },
        app.forwarding,
    );
    if app.preserve_host {
        if let Some(h) = host {
            parts.headers.insert(header::HOST, h);
        }
    } else {
        // The client sets Host from the upstream URI when none is present.
        parts.headers.remove(header::HOST);
    }
    parts.uri = app.upstream.uri_for(pq);
    // The upstream protocol is negotiated per connection (ALPN), not inherited from downstream.
    parts.version = Version::HTTP_11;
    let upstream_req = Request::from_parts(parts, Either::Left(body));
    let sent = Instant::now();
    let resp = app.upstream.send(upstream_req).await?;
    app.metrics
        .upstream_latency(RouteClass::PassThrough, sent.elapsed());
    app.admin.mark_upstream_ok();
    let (mut parts, body) = resp.into_parts();
    headers::strip_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, Either::Left(body)))
}

/// The authority the client addressed: Host on HTTP/1, `:authority` on HTTP/2.
fn original_host(parts: &http::request::Parts) -> Option<HeaderValue> {
    parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    })
}
