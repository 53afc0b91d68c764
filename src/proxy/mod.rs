//! The request path: every downstream request enters [`handle`], is classified, and either
//! streams through to the cluster ([`forward`]) or is translated by the shim. Errors become
//! responses here, in one place.

pub mod access;
pub mod forward;
pub mod headers;

use crate::config::Config;
use crate::error::ApiError;
use crate::server::ConnInfo;
use crate::shim::endpoint;
use crate::shim::route::{self, Route};
use crate::upstream::Upstream;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

/// A reply body before access logging: the cluster's stream, or one the shim built.
pub type RespBody = Either<Incoming, Full<Bytes>>;

/// Everything a request needs, built once from a validated [`Config`].
pub struct App {
    pub config: Config,
    pub upstream: Upstream,
    pub forwarding: headers::ForwardingRules,
    pub preserve_host: bool,
}

impl App {
    pub fn new(config: Config) -> Result<App, crate::tls::TlsError> {
        let upstream = Upstream::new(&config.upstream)?;
        let f = config.forwarding;
        Ok(App {
            forwarding: headers::ForwardingRules {
                x_forwarded_for: f.x_forwarded_for,
                x_forwarded_proto: f.x_forwarded_proto,
                x_forwarded_host: f.x_forwarded_host,
            },
            preserve_host: f.preserve_host,
            upstream,
            config,
        })
    }
}

/// The service function of the data port.
pub async fn handle(
    app: Arc<App>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> Result<Response<access::Logged<RespBody>>, Infallible> {
    // With the `access` target filtered out (e.g. `RUST_LOG=warn`), skip gathering the record:
    // the method, URI and clock read would only be dropped.
    let record =
        access::enabled().then(|| (req.method().clone(), req.uri().clone(), Instant::now()));
    let route = route::classify(
        req.method(),
        req.uri().path(),
        app.config.shim.translate_sibling,
    );
    let resp = match route {
        Route::PassThrough => match forward::pass_through(&app, conn, req).await {
            Ok(resp) => resp,
            Err(e) => error_response(&e),
        },
        Route::Deprecated { bdb_uid, .. } => endpoint::handle(&app, conn, req, Some(bdb_uid)).await,
        Route::BadUid => endpoint::handle(&app, conn, req, None).await,
    };
    let status = resp.status();
    let entry = record.map(|(method, uri, started)| access::Entry {
        method,
        uri,
        status,
        started,
    });
    Ok(resp.map(|b| access::Logged::new(b, entry)))
}

/// The one place an error becomes a reply.
pub fn error_response(e: &ApiError) -> Response<RespBody> {
    match e.blame {
        crate::error::Blame::Client => tracing::debug!(error = %e, "request refused"),
        crate::error::Blame::Upstream => tracing::warn!(error = %e, "upstream failure"),
        crate::error::Blame::Shim => tracing::error!(error = %e, "internal error"),
    }
    e.to_response::<Full<Bytes>>().map(Either::Right)
}
