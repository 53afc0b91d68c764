//! The keep-alive pool towards the one cluster the shim fronts, on hyper's low-level client
//! connections.
//!
//! hyper-util's general-purpose pool keys idle connections by scheme and authority (hashed on
//! every checkout), rewrites the URI and Host per request and spawns a task per response to
//! return the connection; with a single upstream none of that is needed. Measured in
//! BENCHMARKS.md. Here an idle HTTP/1 connection is a [`http1::SendRequest`] on a stack (the
//! most recently used first); a response body hands its connection back when it ends. An
//! HTTP/2 connection is shared by every request while it is open.
//!
//! Layout: this file is the pool and its checkout (idle stack, shared HTTP/2 connection);
//! `connect.rs` connecting, taking a connection back and the reaper; `exchange.rs` one request
//! on one connection and what may be replayed; `body.rs` the response body and the check-in of
//! its connection.
//!
//! Invariants:
//! 1. A connection's `SendRequest` is in exactly one place: the idle stack, one exchange (then
//!    its response body's [`Checkin`]), or dropped (which closes it once hyper is done).
//! 2. Only a connection whose exchange is complete (`is_ready`) enters the idle stack; one the
//!    cluster closed, or idle past `idle_timeout`, is never handed out (checked at checkout,
//!    and swept by the reaper); the stack holds at most `max_idle`, the oldest leaving first.
//! 3. A request written on a connection is never sent again here. Only one a connection handed
//!    back unsent, or a bodiless GET/HEAD an HTTP/2 peer refused, goes to another connection,
//!    and a refusal by a connection just opened is final (no loop against a broken cluster).
//! 4. One pool per worker (see `crate::workers`): its connections' tasks run on the runtime of
//!    the worker that opened them, so no exchange wakes another worker's thread.
//! 5. HTTP/1 requests always carry a Host; a CONNECT only ever names the cluster's authority.

mod body;
mod connect;
mod exchange;

use super::UpBody;
use body::Checkin;
pub use body::{PooledBody, StreamEnd};
use exchange::{replayable, Exchange, Tried};
use futures_util::future::{Either as FutureEither, FutureExt};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{header, HeaderValue, Method, Request, Response, Uri, Version};
use hyper::client::conn::{http1, http2};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request got no response head.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No connection: refused, unresolvable, TLS handshake failed, connect timeout.
    #[error("connecting failed: {0}")]
    Connect(BoxError),
    /// The exchange failed on an open connection.
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

/// A request that got no response head, and the request itself when none of it was written
/// (a refused connect, a TLS failure, a connection that gave it back): it may go to another
/// node (issue 21: "nothing was sent").
pub struct Failed {
    pub error: SendError,
    pub unsent: Option<Request<UpBody>>,
}

impl Failed {
    fn sent(error: SendError) -> Failed {
        Failed {
            error,
            unsent: None,
        }
    }
}

/// Whether a request may use a pooled connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// An idle connection if there is one, else a new one.
    Pooled,
    /// Always a new connection (it joins the pool afterwards).
    Fresh,
}

pub struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    connector: HttpsConnector<HttpConnector>,
    /// `scheme://authority/`, what the connector dials.
    dial: Uri,
    /// `authority`, the target of a CONNECT.
    connect_target: Uri,
    scheme: Scheme,
    authority: Authority,
    /// The Host header sent on HTTP/1 when the request carries none (port left out when it is
    /// the scheme's default, as browsers and curl do).
    host: HeaderValue,
    idle: Mutex<Vec<Idle>>,
    h2: Mutex<Option<http2::SendRequest<UpBody>>>,
    max_idle: usize,
    idle_timeout: Duration,
    reaper_started: AtomicBool,
}

struct Idle {
    tx: http1::SendRequest<UpBody>,
    since: Instant,
}

enum Sender {
    H1(http1::SendRequest<UpBody>),
    H2(http2::SendRequest<UpBody>),
}

impl Pool {
    pub fn new(
        connector: HttpsConnector<HttpConnector>,
        scheme: Scheme,
        authority: Authority,
        max_idle: usize,
        idle_timeout: Duration,
    ) -> Result<Pool, http::Error> {
        let dial = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query("/")
            .build()?;
        let connect_target = Uri::builder().authority(authority.clone()).build()?;
        let default_port = if scheme == Scheme::HTTPS { 443 } else { 80 };
        let host = match authority.port_u16() {
            Some(p) if p != default_port => HeaderValue::from_str(authority.as_str())?,
            _ => HeaderValue::from_str(authority.host())?,
        };
        Ok(Pool {
            shared: Arc::new(Shared {
                connector,
                dial,
                connect_target,
                scheme,
                authority,
                host,
                idle: Mutex::new(Vec::new()),
                h2: Mutex::new(None),
                max_idle,
                idle_timeout,
                reaper_started: AtomicBool::new(false),
            }),
        })
    }

    pub fn host_header(&self) -> &HeaderValue {
        &self.shared.host
    }

    /// Idle HTTP/1 connections held now (tests).
    #[cfg(test)]
    pub(super) fn idle_count(&self) -> usize {
        self.shared.idle().len()
    }

    /// Sends `req` (origin-form URI: path and query only) and waits for the response head.
    ///
    /// A request that an idle connection refused before writing a byte (the cluster had closed
    /// it) is sent again on another connection; one that was written is never sent twice here.
    ///
    /// The common case, an idle connection at hand, is a small future built from combinators;
    /// connecting and retrying happen in a boxed one (see `proxy::handle` on future size).
    pub fn send(
        &self,
        req: Request<UpBody>,
        reuse: Reuse,
    ) -> impl Future<Output = Result<Response<PooledBody>, Failed>> + Send + 'static {
        let shared = self.shared.clone();
        let pooled = match reuse {
            Reuse::Pooled => shared.checkout(),
            Reuse::Fresh => None,
        };
        match pooled {
            Some(sender) => {
                FutureEither::Left(shared.dispatch(sender, req).then(
                    move |attempt| match attempt {
                        Attempt::Done(result) => {
                            FutureEither::Left(std::future::ready(result.map_err(Failed::sent)))
                        }
                        Attempt::Unsent(req, error, h2) => {
                            shared.refused_unsent(&error, h2);
                            FutureEither::Right(Box::pin(shared.send_slow(req, Reuse::Pooled)))
                        }
                    },
                ))
            }
            None => FutureEither::Right(Box::pin(shared.send_slow(req, reuse))),
        }
    }
}

/// What one try on one connection came to.
enum Attempt {
    Done(Result<Response<PooledBody>, SendError>),
    /// The connection refused the request before writing any of it: it may go elsewhere.
    /// (`true` when that connection was the shared HTTP/2 one.)
    Unsent(Request<UpBody>, hyper::Error, bool),
}

impl Shared {
    /// The general path: connects when no idle connection is at hand, and tries again on
    /// another connection when a pooled one refused the request unsent. A new connection that
    /// refuses is not retried (no loop on a broken cluster), but for one case: a new HTTP/2
    /// connection is shared the moment it is made, so other requests may have used up its
    /// streams and met its GOAWAY before this one was dispatched on it; that request gets one
    /// more new connection.
    async fn send_slow(
        self: Arc<Self>,
        mut req: Request<UpBody>,
        reuse: Reuse,
    ) -> Result<Response<PooledBody>, Failed> {
        let mut new_h2_refused = false;
        loop {
            let pooled = match reuse {
                Reuse::Pooled => self.checkout(),
                Reuse::Fresh => None,
            };
            let (sender, reused) = match pooled {
                Some(sender) => (sender, true),
                None => match self.connect(reuse == Reuse::Pooled).await {
                    Ok(sender) => (sender, false),
                    Err(error) => {
                        return Err(Failed {
                            error,
                            unsent: Some(req),
                        })
                    }
                },
            };
            match self.dispatch(sender, req).await {
                Attempt::Done(result) => return result.map_err(Failed::sent),
                Attempt::Unsent(unsent, error, h2)
                    if reused || (h2 && reuse == Reuse::Pooled && !new_h2_refused) =>
                {
                    new_h2_refused |= !reused;
                    self.refused_unsent(&error, h2);
                    req = unsent;
                }
                Attempt::Unsent(unsent, error, _) => {
                    return Err(Failed {
                        error: SendError::Http(error),
                        unsent: Some(unsent),
                    })
                }
            }
        }
    }

    /// Writes `req` on `sender`'s connection, adapted to its protocol.
    fn dispatch(
        self: &Arc<Self>,
        sender: Sender,
        mut req: Request<UpBody>,
    ) -> Exchange<impl Future<Output = Tried>, impl Future<Output = Tried>> {
        match sender {
            Sender::H1(mut tx) => {
                if !req.headers().contains_key(header::HOST) {
                    req.headers_mut().insert(header::HOST, self.host.clone());
                }
                *req.version_mut() = Version::HTTP_11;
                if req.method() == Method::CONNECT {
                    // Authority-form, and only ever the cluster's own (never an open proxy).
                    *req.uri_mut() = self.connect_target.clone();
                }
                let fut = tx.try_send_request(req);
                Exchange::H1 {
                    fut,
                    slot: Some(Checkin {
                        tx,
                        pool: Arc::downgrade(self),
                    }),
                }
            }
            Sender::H2(mut tx) => match self.absolute(req.uri()) {
                Ok(uri) => {
                    // HTTP/2 names the authority in `:authority`; the Host the proxy set for
                    // HTTP/1 is dropped rather than sent as a second, differently written one.
                    if req.headers().get(header::HOST) == Some(&self.host) {
                        req.headers_mut().remove(header::HOST);
                    }
                    *req.uri_mut() = uri;
                    *req.version_mut() = Version::HTTP_2;
                    let replay = replayable(&req);
                    Exchange::H2 {
                        fut: tx.try_send_request(req),
                        replay,
                    }
                }
                Err(e) => Exchange::Failed { error: Some(e) },
            },
        }
    }

    fn absolute(&self, uri: &Uri) -> Result<Uri, SendError> {
        let pq = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(pq)
            .build()
            .map_err(|e| SendError::Connect(Box::new(e)))
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Idle>> {
        crate::locks::lock(&self.idle)
    }

    fn shared_h2(&self) -> MutexGuard<'_, Option<http2::SendRequest<UpBody>>> {
        crate::locks::lock(&self.h2)
    }

    /// The most recently returned idle HTTP/1 connection that is still usable, or the shared
    /// HTTP/2 connection.
    fn checkout(&self) -> Option<Sender> {
        {
            let mut idle = self.idle();
            while let Some(c) = idle.pop() {
                if c.since.elapsed() < self.idle_timeout && c.tx.is_ready() {
                    return Some(Sender::H1(c.tx));
                }
                // Expired or closed by the cluster: dropping it closes the socket.
            }
        }
        let mut h2 = self.shared_h2();
        match h2.as_ref() {
            Some(tx) if !tx.is_closed() => Some(Sender::H2(tx.clone())),
            Some(_) => {
                *h2 = None;
                None
            }
            None => None,
        }
    }

    /// A pooled connection refused a request unsent, which then goes to another one. When that
    /// was the shared HTTP/2 connection, the next try connects anew rather than meeting it again.
    fn refused_unsent(&self, error: &hyper::Error, h2: bool) {
        tracing::debug!(%error, "pooled connection refused the request unsent; sent on another");
        if h2 {
            *self.shared_h2() = None;
        }
    }
}
