//! Listeners: binding with a real backlog, TLS accept, HTTP/1.1 + HTTP/2 serving, connection
//! limits, and the graceful stop. Every listener of the process (data port, admin port, the
//! simulator) goes through [`serve`], so limits and shutdown behave the same everywhere.
//!
//! Decisions:
//! - A connection holds one of `listen.max_connections` [`Slot`]s; work it started that outlives
//!   it (the deprecated route's detached task) keeps the slot until that work ends, so the limit
//!   bounds all work in flight, calls whose clients hung up included.
//! - Timeouts are coarse: one sweep per listener ([`sweep`]) checks every connection's deadlines
//!   a few times a second, instead of timers armed per request. The first request head must
//!   arrive within `listen.header_read_timeout` of accept; an HTTP/1 connection with no request
//!   open for that long is dropped (slowloris, keep-alive idling); an HTTP/2 connection with no
//!   open stream for `listen.idle_timeout` is closed gracefully (GOAWAY): answering pings alone
//!   does not keep a slot. Each may fire up to one sweep late.
//! - Stop: connections are told to finish (GOAWAY / `Connection: close`) and get
//!   `listen.shutdown_grace`; then they are cut, except one whose deprecated-route call is still
//!   running, which stays until that call ends (bounded by `shim.shutdown_grace`, see
//!   `crate::proxy::budget`) so its client gets the reply.

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::service::Service;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

mod activity;
mod drive;
mod listen;
mod protocol;
mod sweep;
use activity::{Activity, Tracked};
pub use listen::{bind, bind_workers};
use sweep::{Phase, Sweep};

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
    /// HTTP/2 connections with no open stream for this long are closed (GOAWAY); also the
    /// interval of keep-alive pings.
    pub idle_timeout: Duration,
    /// How long in-flight requests may run after a stop signal (connections waiting on a
    /// deprecated-route call stay until it ends).
    pub shutdown_grace: Duration,
    /// HTTP/2 streams a client may open at once on one connection.
    pub max_concurrent_streams: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
            max_connections: 10_000,
            idle_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
            // RFC 9113 §6.5.2 recommends no less than 100; hyper's default is 200.
            max_concurrent_streams: 100,
        }
    }
}

/// Facts about the connection a request arrived on.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub tls: bool,
    /// The connection's place among `listen.max_connections`.
    pub slot: Slot,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What serves a connection's requests: the bounds every function driving a connection shares.
pub trait ConnService<B>:
    Service<
        Request<Incoming>,
        Response = Response<B>,
        Future: Send + 'static,
        Error: Into<BoxError>,
    > + Send
    + 'static
{
}

impl<T, B> ConnService<B> for T
where
    T: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    T::Future: Send + 'static,
    T::Error: Into<BoxError>,
{
}

/// A reply body a listener can send.
pub trait ReplyBody: Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static {}

impl<T> ReplyBody for T
where
    T: Body<Data = Bytes> + Send + 'static,
    T::Error: Into<BoxError>,
{
}

/// A connection's place among `listen.max_connections`: freed when the connection has ended
/// and every [`SlotHold`] taken from it is dropped.
#[derive(Debug, Clone)]
pub struct Slot(Arc<SlotInner>);

#[derive(Debug)]
struct SlotInner {
    _permit: Option<OwnedSemaphorePermit>,
    held: AtomicUsize,
}

/// Work started by a connection that may outlive it keeps the connection's slot with this.
#[derive(Debug)]
pub struct SlotHold(Slot);

impl Slot {
    fn new(permit: Option<OwnedSemaphorePermit>) -> Slot {
        Slot(Arc::new(SlotInner {
            _permit: permit,
            held: AtomicUsize::new(0),
        }))
    }

    /// A slot of no listener (for code driving the request path without [`serve`]).
    pub fn unbounded() -> Slot {
        Slot::new(None)
    }

    /// Keeps this slot taken until the returned hold is dropped.
    pub fn hold(&self) -> SlotHold {
        self.0.held.fetch_add(1, Ordering::AcqRel);
        SlotHold(self.clone())
    }

    /// Whether detached work of this connection is still running.
    fn held(&self) -> bool {
        self.0.held.load(Ordering::Acquire) > 0
    }
}

impl Drop for SlotHold {
    fn drop(&mut self) {
        self.0 .0.held.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves `listener` until `shutdown` resolves, then stops accepting and lets in-flight
/// connections finish for up to `limits.shutdown_grace` (see the module's decisions for the
/// connections that stay longer).
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
    S: ConnService<B>,
    B: ReplyBody,
{
    let slots = connection_slots(&limits);
    serve_sharing(listener, tls, limits, slots, make_service, shutdown).await
}

/// The `listen.max_connections` slots, to share between the listeners of one port
/// ([`serve_sharing`]).
pub fn connection_slots(limits: &Limits) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(limits.max_connections.max(1)))
}

/// [`serve`] with connection slots shared with other listeners of the same port (one per
/// worker): `listen.max_connections` bounds the port, not each listener.
pub async fn serve_sharing<M, S, B>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    slots: Arc<Semaphore>,
    make_service: M,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    M: Fn(ConnInfo) -> S,
    S: ConnService<B>,
    B: ReplyBody,
{
    let builders = Arc::new(protocol::Builders::new(&limits));
    let conns = TaskTracker::new();
    let sweep = Sweep::new(sweep::Deadlines {
        header_read_timeout: limits.header_read_timeout,
        idle_timeout: limits.idle_timeout,
    });
    let sweeping = AbortOnDrop(tokio::spawn(sweep.clone().run(sweep::period(
        limits.header_read_timeout,
        limits.idle_timeout,
    ))));
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
        let slot = Slot::new(Some(permit));
        let info = ConnInfo {
            peer,
            tls: tls.is_some(),
            slot: slot.clone(),
        };
        let activity = Arc::new(Activity::new());
        let conn = Conn {
            service: make_service(info),
            builders: builders.clone(),
            registered: sweep.register(activity.clone(), slot),
            activity,
            // The TLS handshake shares the first request's deadline.
            handshake_by: tokio::time::Instant::now() + limits.header_read_timeout,
        };
        conns.spawn(serve_one(stream, tls.clone(), conn));
    }
    drop(listener);
    sweep.enter(Phase::Stopping);
    conns.close();
    if tokio::time::timeout(limits.shutdown_grace, conns.wait())
        .await
        .is_err()
    {
        tracing::warn!(grace = ?limits.shutdown_grace, "in-flight connections cut at the shutdown deadline (those waiting on a deprecated-route call stay until it ends)");
        sweep.enter(Phase::Cut);
        conns.wait().await;
    }
    drop(sweeping);
    Ok(())
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One accepted connection before it is driven.
struct Conn<S> {
    service: S,
    builders: Arc<protocol::Builders>,
    activity: Arc<Activity>,
    /// Leaves the listener's sweep when the connection ends.
    registered: sweep::Registered,
    handshake_by: tokio::time::Instant,
}

async fn serve_one<S, B>(stream: TcpStream, tls: Option<TlsAcceptor>, conn: Conn<S>)
where
    S: ConnService<B>,
    B: ReplyBody,
{
    let Conn {
        service,
        builders,
        activity,
        registered: _registered,
        handshake_by,
    } = conn;
    let service = Tracked::new(service, activity.clone());
    let ended = match tls {
        None => match protocol::sniff(&stream, &activity).await {
            Some(proto) => builders.serve(stream, proto, service, &activity).await,
            None => "closed or timed out before a request",
        },
        // Boxed: a TLS connection's state is several times a plain one's, and the task of
        // every connection would otherwise be sized for it (idle memory, BENCHMARKS.md).
        Some(acceptor) => {
            Box::pin(serve_tls(
                stream,
                acceptor,
                handshake_by,
                &builders,
                service,
                &activity,
            ))
            .await
        }
    };
    tracing::debug!(reason = ended, "connection closed");
}

/// The TLS handshake, then the connection in the protocol ALPN chose.
async fn serve_tls<S, B>(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    handshake_by: tokio::time::Instant,
    builders: &protocol::Builders,
    service: S,
    activity: &Activity,
) -> &'static str
where
    S: ConnService<B>,
    B: ReplyBody,
{
    // The handshake shares the header deadline: a peer that never finishes it holds a
    // connection slot just like a slowloris client.
    let tls_stream = match tokio::time::timeout_at(handshake_by, acceptor.accept(stream)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            return "TLS handshake failed";
        }
        Err(_) => return "TLS handshake timed out",
    };
    let proto = protocol::from_alpn(tls_stream.get_ref().1.alpn_protocol());
    builders.serve(tls_stream, proto, service, activity).await
}
