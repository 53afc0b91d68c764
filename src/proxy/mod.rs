//! The request path: every downstream request enters [`handle`], is classified, and either
//! streams through to the cluster ([`forward`]) or is translated by the shim. Errors become
//! responses here, in one place.

pub mod access;
pub mod budget;
pub mod forward;
pub mod headers;

use crate::admin::AdminState;
use crate::audit::AuditLog;
use crate::config::Config;
use crate::error::ApiError;
use crate::metrics::{Metrics, RouteClass};
use crate::server::ConnInfo;
use crate::shim::endpoint;
use crate::shim::route::{self, Route};
use crate::upstream::Upstream;
use bytes::Bytes;
use futures_util::future::{Either as FutureEither, FutureExt};
use http::{Request, Response};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

/// A reply body before access logging: the cluster's stream, or one the shim built.
pub type RespBody = Either<crate::upstream::PooledBody, Full<Bytes>>;

/// Everything a request needs, built once from a validated [`Config`]. A reload builds a new
/// one; the metrics, the audit log and the admin state are shared across reloads.
pub struct App {
    pub config: Config,
    pub upstream: Upstream,
    pub forwarding: headers::ForwardingRules,
    pub preserve_host: bool,
    pub metrics: Arc<Metrics>,
    pub audit: Arc<AuditLog>,
    pub admin: Arc<AdminState>,
    /// The deprecated route's budget and detached tasks (process-wide, kept across reloads).
    pub work: Arc<budget::Work>,
}

/// Why an [`App`] could not be built from a valid configuration.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("audit.path: {0}")]
    Audit(#[from] crate::audit::AuditError),
}

impl App {
    /// A first App: fresh metrics, the audit log opened from `config`.
    pub fn new(config: Config) -> Result<App, AppError> {
        let metrics = Arc::new(Metrics::new());
        let audit = Arc::new(AuditLog::open(&config.audit, metrics.clone())?);
        let admin = Arc::new(AdminState::new(metrics.clone(), audit.clone()));
        let work = budget::Work::new(
            config.shim.max_buffered_bodies,
            config.shim.max_concurrent_calls,
            metrics.clone(),
        );
        App::build(config, metrics, audit, admin, work)
    }

    /// The App after a reload: same metrics, audit log (re-pointed to `config`'s `[audit]`)
    /// and admin state. The audit log is changed last, so a failure before leaves all as it was.
    pub fn reloaded(config: Config, previous: &App) -> Result<App, AppError> {
        let app = App::build(
            config,
            previous.metrics.clone(),
            previous.audit.clone(),
            previous.admin.clone(),
            previous.work.clone(),
        )?;
        app.audit.reconfigure(&app.config.audit)?;
        app.work.set_limits(
            app.config.shim.max_buffered_bodies,
            app.config.shim.max_concurrent_calls,
        );
        Ok(app)
    }

    fn build(
        config: Config,
        metrics: Arc<Metrics>,
        audit: Arc<AuditLog>,
        admin: Arc<AdminState>,
        work: Arc<budget::Work>,
    ) -> Result<App, AppError> {
        let upstream = Upstream::new(&config.upstream)?;
        admin.set_requires_cluster(config.readiness.requires_cluster);
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
            metrics,
            audit,
            admin,
            work,
        })
    }
}

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
    let route = route::classify(
        req.method(),
        req.uri().path(),
        app.config.shim.translate_sibling,
    );
    let (class, work) = match route {
        // RFC 9112 §3.2: without exactly one valid Host, 400 on every route, before anything
        // is read or sent (boxed: a rare path).
        route if forward::host_problem(&req).is_some() => (
            match route {
                Route::PassThrough => RouteClass::PassThrough,
                _ => RouteClass::Deprecated,
            },
            FutureEither::Right(translated(forward::refuse_host(&req))),
        ),
        Route::PassThrough => (
            RouteClass::PassThrough,
            FutureEither::Left(forward::pass_through(&app, conn, req)),
        ),
        // The sibling is translated on request but is not deprecated (API.md §2): never marked.
        // Boxed: the translation's state is large and would otherwise make every request's
        // future (pass-through included) as large.
        Route::Deprecated { bdb_uid, sibling } => (
            RouteClass::Deprecated,
            FutureEither::Right(translated(endpoint::handle(
                app.clone(),
                conn,
                req,
                Some(bdb_uid),
                !sibling,
                in_flight.take(),
            ))),
        ),
        Route::BadUid { sibling } => (
            RouteClass::Deprecated,
            FutureEither::Right(translated(endpoint::handle(
                app.clone(),
                conn,
                req,
                None,
                !sibling,
                in_flight.take(),
            ))),
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

type Translated = Pin<Box<dyn Future<Output = Response<RespBody>> + Send>>;

fn translated(f: impl Future<Output = Response<RespBody>> + Send + 'static) -> Translated {
    Box::pin(f)
}

/// The one place an error becomes a reply.
pub fn error_response(e: &ApiError) -> Response<RespBody> {
    // The text can quote the caller (a module uid, a path) or the cluster: escaped.
    let text = || crate::escape::escape(&e.to_string()).into_owned();
    match e.blame {
        crate::error::Blame::Client => tracing::debug!(error = %text(), "request refused"),
        crate::error::Blame::Upstream => tracing::warn!(error = %text(), "upstream failure"),
        crate::error::Blame::Shim => tracing::error!(error = %text(), "internal error"),
    }
    e.to_response::<Full<Bytes>>().map(Either::Right)
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
