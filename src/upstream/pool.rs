//! The keep-alive pool towards the one cluster the shim fronts, on hyper's low-level client
//! connections.
//!
//! hyper-util's general-purpose pool keys idle connections by scheme and authority (hashed on
//! every checkout), rewrites the URI and Host per request and spawns a task per response to
//! return the connection; with a single upstream none of that is needed. Measured in
//! BENCHMARKS.md. Here an idle HTTP/1 connection is a [`http1::SendRequest`] on a stack (the
//! most recently used first); a response body hands its connection back when it ends. An
//! HTTP/2 connection is shared by every request while it is open.

use super::UpBody;
use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{header, HeaderValue, Method, Request, Response, Uri, Version};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::{http1, http2};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower_service::Service;

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

    /// Sends `req` (origin-form URI: path and query only) and waits for the response head.
    ///
    /// A request that an idle connection refused before writing a byte (the cluster had closed
    /// it) is sent again on another connection; one that was written is never sent twice here.
    pub async fn send(
        &self,
        mut req: Request<UpBody>,
        reuse: Reuse,
    ) -> Result<Response<PooledBody>, SendError> {
        let shared = &self.shared;
        loop {
            let (sender, reused) = match reuse {
                Reuse::Pooled => match shared.checkout() {
                    Some(sender) => (sender, true),
                    None => (Box::pin(shared.connect(true)).await?, false),
                },
                // Boxed: the connect and TLS handshake state is large and rarely needed, and
                // the request future, copied whole into hyper's task on every request, would
                // otherwise carry it.
                Reuse::Fresh => (Box::pin(shared.connect(false)).await?, false),
            };
            let sent = match sender {
                Sender::H1(mut tx) => {
                    if !req.headers().contains_key(header::HOST) {
                        req.headers_mut().insert(header::HOST, shared.host.clone());
                    }
                    *req.version_mut() = Version::HTTP_11;
                    if req.method() == Method::CONNECT {
                        // Authority-form, and only ever the cluster's own (never an open proxy).
                        *req.uri_mut() = shared.connect_target.clone();
                    }
                    match tx.try_send_request(req).await {
                        Ok(resp) => {
                            let slot = Some(Checkin {
                                tx,
                                pool: Arc::downgrade(shared),
                            });
                            return Ok(resp.map(|body| PooledBody::new(body, slot)));
                        }
                        Err(e) => e,
                    }
                }
                Sender::H2(mut tx) => {
                    *req.uri_mut() = shared.absolute(req.uri())?;
                    *req.version_mut() = Version::HTTP_2;
                    match tx.try_send_request(req).await {
                        Ok(resp) => return Ok(resp.map(|body| PooledBody::new(body, None))),
                        Err(e) => e,
                    }
                }
            };
            let mut failed = sent;
            match failed.take_message() {
                // Refused before any byte was written: safe to try another connection. A new
                // connection that refuses is not retried (no loop on a broken cluster).
                Some(mut unsent) if reused => {
                    tracing::debug!(error = %failed.error(), "pooled connection closed; request sent on another");
                    // Undo the per-protocol rewrite so the next connection starts clean.
                    if let Some(pq) = unsent.uri().path_and_query().cloned() {
                        *unsent.uri_mut() = Uri::from(pq);
                    }
                    req = unsent;
                }
                _ => return Err(SendError::Http(failed.into_error())),
            }
        }
    }
}

impl Shared {
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
        // A panic while holding this lock cannot leave the Vec inconsistent: keep using it.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn shared_h2(&self) -> MutexGuard<'_, Option<http2::SendRequest<UpBody>>> {
        self.h2
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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

    /// Opens a connection; HTTP/2 (ALPN) becomes the shared one when `share` is set.
    async fn connect(self: &Arc<Self>, share: bool) -> Result<Sender, SendError> {
        let io = self
            .connector
            .clone()
            .call(self.dial.clone())
            .await
            .map_err(SendError::Connect)?;
        if io.connected().is_negotiated_h2() {
            let (tx, conn) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake(io)
                .await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "upstream HTTP/2 connection ended");
                }
            });
            if share {
                *self.shared_h2() = Some(tx.clone());
            }
            Ok(Sender::H2(tx))
        } else {
            let (tx, conn) = http1::Builder::new().handshake(io).await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "upstream connection ended");
                }
            });
            Ok(Sender::H1(tx))
        }
    }

    /// Takes back a connection whose exchange is complete.
    fn put(self: &Arc<Self>, tx: http1::SendRequest<UpBody>) {
        if self.max_idle == 0 || tx.is_closed() {
            return;
        }
        {
            let mut idle = self.idle();
            if idle.len() >= self.max_idle {
                // The oldest goes: the stack's bottom.
                idle.remove(0);
            }
            idle.push(Idle {
                tx,
                since: Instant::now(),
            });
        }
        if !self.reaper_started.swap(true, Ordering::Relaxed) {
            tokio::spawn(reap(Arc::downgrade(self), self.idle_timeout));
        }
    }
}

/// Closes connections idle for longer than the timeout even when no request comes to find
/// them; ends with the pool.
async fn reap(pool: Weak<Shared>, idle_timeout: Duration) {
    let period = (idle_timeout / 2).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(period).await;
        let Some(pool) = pool.upgrade() else { return };
        pool.idle()
            .retain(|c| c.since.elapsed() < idle_timeout && !c.tx.is_closed());
    }
}

/// Where a finished HTTP/1 exchange returns its connection.
struct Checkin {
    tx: http1::SendRequest<UpBody>,
    pool: Weak<Shared>,
}

impl Checkin {
    fn done(self) {
        let Some(pool) = self.pool.upgrade() else {
            return;
        };
        let mut tx = self.tx;
        if tx.is_ready() {
            pool.put(tx);
        } else if !tx.is_closed() {
            // The connection task has not yet seen the end of the exchange it just delivered
            // (it runs on another worker): hand it back once it is ready.
            tokio::spawn(async move {
                if tx.ready().await.is_ok() {
                    pool.put(tx);
                }
            });
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body from the pool; returns its HTTP/1 connection when it ends. Dropped
    /// before the end, the connection closes with it (hyper cannot reuse a half-read one).
    pub struct PooledBody {
        #[pin]
        inner: Incoming,
        slot: Option<Checkin>,
    }
}

impl PooledBody {
    fn new(inner: Incoming, slot: Option<Checkin>) -> PooledBody {
        let mut body = PooledBody { inner, slot };
        if body.inner.is_end_stream() {
            body.release();
        }
        body
    }

    fn release(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.done();
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let mut this = self.project();
        let polled = this.inner.as_mut().poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => this.inner.is_end_stream(),
            _ => false,
        };
        if ended {
            if let Some(slot) = this.slot.take() {
                slot.done();
            }
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
