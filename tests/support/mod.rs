//! Helpers shared by the integration tests. [`harness`] starts and stops what a test needs (a
//! simulated cluster, the shim in-process or as a subprocess, an admin port, a misbehaving
//! upstream); this file holds the one reply type ([`Reply`]) and a one-shot HTTP/1.1 client over
//! a fresh connection. The other submodules: a test upstream ([`upstream`]), the binary as a
//! subprocess ([`shim`]), an h1/h2 plain/TLS client ([`client`]), generated and hashed bodies
//! ([`bodies`]), a test CA ([`tls`]), a misbehaving upstream ([`faulty`]) and the fault
//! matrix's rig ([`fault_rig`]), the audit file as JSON ([`audit_file`]), the old route's
//! assertions and calls ([`legacy`]), the lifecycle tests' shim on a test clock
//! ([`lifecycle`]), the pool tests' counting relay ([`relay`]), the rewrite rules' calls
//! ([`rewrites`]), F1's role calls ([`roles`]), the `redis-enterprise` crate's client
//! ([`third_party`]), the old route's translation rig ([`translation`]), where the shim of a
//! differential sends first ([`topology`]) and the one raw HTTP/1.1 writer and reader, for
//! hostile framing only ([`wire`]).
#![allow(dead_code)]

pub mod audit_file;
pub mod bodies;
pub mod catalogue;
pub mod client;
pub mod fault_rig;
pub mod faulty;
pub mod harness;
pub mod legacy;
pub mod lifecycle;
pub mod otlp;
pub mod rehearsal;
pub mod relay;
pub mod rewrites;
pub mod roles;
pub mod shim;
pub mod third_party;
pub mod tls;
pub mod topology;
pub mod translation;
pub mod upstream;
pub mod wire;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::net::SocketAddr;
use tokio::net::TcpStream;

/// A whole reply, body read to the end: the one reply type of every helper here, whether it
/// came through hyper ([`send`], [`client::Client`]) or off the wire ([`wire`]).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "reply is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of `name`, in order.
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    /// The status and headers as text, for assertion messages.
    pub fn head(&self) -> String {
        let mut out = format!("{:?} {}\n", self.version, self.status);
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())));
        }
        out
    }
}

/// `Authorization` value for HTTP Basic auth.
pub fn basic(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Sends one request on a new HTTP/1.1 connection and reads the whole reply.
pub async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    try_send(addr, method, path, headers, body)
        .await
        .expect("request on a new connection")
}

/// The one request/reply exchange every helper here uses, for any request body type.
async fn exchange<B>(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: B,
) -> Result<Reply, hyper::Error>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body).expect("request");
    let resp = sender.send_request(req).await?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Reply {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body,
    })
}

/// Fails the test instead of hanging when `fut` takes longer than `limit`.
pub async fn within<T>(
    limit: std::time::Duration,
    what: &str,
    fut: impl std::future::Future<Output = T>,
) -> T {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {limit:?}"))
}

/// `GET path` with Basic auth.
pub async fn get(addr: SocketAddr, path: &str, auth: &str) -> Reply {
    send(
        addr,
        Method::GET,
        path,
        &[("authorization", auth)],
        Bytes::new(),
    )
    .await
}

/// `POST path` with a JSON body and Basic auth.
pub async fn post_json(addr: SocketAddr, path: &str, auth: &str, body: &Value) -> Reply {
    post_bytes(addr, path, auth, serde_json::to_vec(body).expect("json")).await
}

/// Like [`send`], but a connection the server closes without replying is an `Err` instead of a
/// panic (for fault tests).
pub async fn try_send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Reply, hyper::Error> {
    exchange(addr, method, path, headers, Full::new(body.into())).await
}

/// `POST path` with a raw body (not necessarily JSON) and Basic auth.
pub async fn post_raw(addr: SocketAddr, path: &str, auth: &str, body: &'static str) -> Reply {
    post_bytes(addr, path, auth, body).await
}

/// `POST path` with `Content-Type: application/json` and Basic auth.
async fn post_bytes(addr: SocketAddr, path: &str, auth: &str, body: impl Into<Bytes>) -> Reply {
    send(
        addr,
        Method::POST,
        path,
        &[
            ("authorization", auth),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await
}

/// A body sent in the given chunks with no declared length, so HTTP/1.1 uses
/// `Transfer-Encoding: chunked`.
pub struct Chunked(std::collections::VecDeque<Bytes>);

impl hyper::body::Body for Chunked {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// `POST path` with a chunked body (no `Content-Length`) and the given headers.
pub async fn post_chunked(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    chunks: Vec<Bytes>,
) -> Reply {
    exchange(addr, Method::POST, path, headers, Chunked(chunks.into()))
        .await
        .expect("chunked request")
}

/// Binds a loopback listener and hands each accepted connection to `on_accept` until the
/// returned sender is dropped (or sent to). For the test servers that stand between the shim
/// and an upstream.
pub async fn accept_loop(
    on_accept: impl Fn(TcpStream) + Send + 'static,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a test server");
    let addr = listener.local_addr().expect("test server address");
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                r = listener.accept() => if let Ok((stream, _)) = r { on_accept(stream) },
                _ = &mut stopped => return,
            }
        }
    });
    (addr, stop)
}

/// The shim in this process in front of `upstream`, with its `App` (for its metrics).
pub async fn shim_app(
    upstream: SocketAddr,
    toml: &str,
) -> (std::sync::Arc<deprecation_shim::proxy::App>, harness::Shim) {
    let cfg = harness::test_config(upstream, toml).expect("config");
    let app = std::sync::Arc::new(deprecation_shim::proxy::App::new(cfg).expect("app"));
    (app.clone(), harness::Shim::serve(app, None))
}

/// `deprecation_shim_field_bodies_skipped_total{reason}` (0 when the series is absent).
pub fn bodies_skipped(app: &deprecation_shim::proxy::App, reason: &str) -> f64 {
    let key = format!("deprecation_shim_field_bodies_skipped_total{{reason=\"{reason}\"}} ");
    app.metrics
        .encode()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key.as_str())
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0.0)
}
