//! Listeners: binding with a real backlog, TLS accept, HTTP/1.1 + HTTP/2 serving, connection
//! limits, and the graceful stop. Every listener of the process (data port, admin port, the
//! simulator) goes through [`serve`], so limits and shutdown behave the same everywhere.

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

/// Limits applied to every downstream connection.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Whole request head must arrive within this (slowloris): the first one counted from
    /// accept, TLS handshake included; later HTTP/1 heads by hyper's timer, which also bounds
    /// keep-alive idling between requests.
    pub header_read_timeout: Duration,
    /// Largest request head (HTTP/1 read buffer, HTTP/2 header list).
    pub max_header_bytes: usize,
    /// Connections served at once; further ones wait in the kernel backlog.
    pub max_connections: usize,
    /// HTTP/2 connections with no stream for this long are pinged and closed.
    pub idle_timeout: Duration,
    /// How long in-flight requests may run after a stop signal.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
            max_connections: 10_000,
            idle_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Facts about the connection a request arrived on.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub tls: bool,
}

/// Binds a TCP listener with a large accept backlog (tokio's `bind` uses 128, which drops
/// connections under a burst of a thousand clients).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Serves `listener` until `shutdown` resolves, then stops accepting and lets in-flight
/// connections finish for up to `limits.shutdown_grace`.
///
/// `make_service` is called once per connection with that connection's facts.
pub async fn serve<M, S, B>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    make_service: M,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    M: Fn(ConnInfo) -> S,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let builder = Arc::new(connection_builder(&limits));
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        // Wait for a free slot before accepting, so overload queues in the kernel backlog
        // instead of in our memory.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let info = ConnInfo {
            peer,
            tls: tls.is_some(),
        };
        let service = make_service(info);
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        // The first request head (TLS handshake included) must arrive by this deadline.
        let deadline = tokio::time::Instant::now() + limits.header_read_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            serve_one(stream, tls, deadline, &builder, watcher, service).await;
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(grace = ?limits.shutdown_grace, "in-flight connections cut at the shutdown deadline");
        }
    }
    Ok(())
}

fn connection_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(limits.idle_timeout))
        .keep_alive_timeout(Duration::from_secs(20));
    builder
}

async fn serve_one<S, B>(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    deadline: Instant,
    builder: &auto::Builder<TokioExecutor>,
    watcher: Watcher,
    service: S,
) where
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let first_request = Arc::new(Notify::new());
    let service = FirstRequest {
        inner: service,
        seen: first_request.clone(),
    };
    let result = match tls {
        None => {
            // Boxed here and below: the connection task then holds only what its own protocol
            // needs (a plain connection does not carry the size of a TLS one), which is most of
            // the memory an idle keep-alive connection costs (BENCHMARKS.md).
            let conn =
                Box::pin(watcher.watch(builder.serve_connection(TokioIo::new(stream), service)));
            first_request_by(deadline, &first_request, conn).await
        }
        Some(acceptor) => {
            // The handshake shares the header deadline: a peer that never finishes it holds a
            // connection slot just like a slowloris client.
            let accepted =
                tokio::time::timeout_at(deadline, Box::pin(acceptor.accept(stream))).await;
            let tls_stream = match accepted {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake timed out");
                    return;
                }
            };
            let conn = Box::pin(
                watcher.watch(builder.serve_connection(TokioIo::new(tls_stream), service)),
            );
            first_request_by(deadline, &first_request, conn).await
        }
    };
    match result {
        None => tracing::debug!("no request head before the header read timeout: closed"),
        Some(Err(e)) => tracing::debug!(error = %e, "connection ended with an error"),
        Some(Ok(())) => {}
    }
}

/// Drives `conn`, dropping it (which closes the socket) if no request has arrived by
/// `deadline`. hyper's own HTTP/1 header timer only starts once the auto builder has sniffed
/// the protocol, which waits for bytes without limit; and HTTP/2 has no such timer at all. So
/// a client that connects and stays silent, trickles the HTTP/2 preface, or opens an HTTP/2
/// connection without a stream would otherwise hold a connection slot for ever.
async fn first_request_by<F: Future>(
    deadline: Instant,
    seen: &Notify,
    conn: F,
) -> Option<F::Output> {
    tokio::pin!(conn);
    tokio::select! {
        done = &mut conn => return Some(done),
        _ = seen.notified() => {}
        _ = tokio::time::sleep_until(deadline) => return None,
    }
    Some(conn.await)
}

/// A service that signals when the connection's first request head has arrived.
struct FirstRequest<S> {
    inner: S,
    seen: Arc<Notify>,
}

impl<S, R> Service<R> for FirstRequest<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, req: R) -> S::Future {
        // notify_one stores a permit, so the signal is not lost if nobody waits yet.
        self.seen.notify_one();
        self.inner.call(req)
    }
}
