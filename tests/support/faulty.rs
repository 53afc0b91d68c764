//! A misbehaving upstream for the fault tests: a raw HTTP/1.1 server standing between the shim
//! and the simulated cluster. It forwards every request to the cluster and relays the reply,
//! except requests matching a rule, which it answers wrongly on purpose — a TCP reset in the
//! middle of the reply head or body, or no reply at all. It can also close keep-alive
//! connections once they have been idle for a while, as servers and load balancers do.
//!
//! Requests are framed by `Content-Length` only: that is what the shim's own look-ups and the
//! tests' pass-through GETs send. Replies are relayed with a `Content-Length` and without a
//! `Connection` header, so the shim always believes the connection may be reused.

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// How a matching request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehave {
    /// Half a status line and header, then a TCP reset.
    ResetMidHead,
    /// A whole head announcing 4096 bytes, 14 of them, then a TCP reset.
    ResetMidBody,
    /// A chunked head and one chunk of 14 bytes, then a TCP reset (no last chunk).
    ResetMidChunked,
    /// The request is read; nothing is ever answered and the connection stays open.
    Silent,
    /// A well-formed reply of this status with this JSON body, instead of the backend's: a
    /// cluster that says something the simulator never would.
    Reply(u16, &'static str),
}

/// The partial head sent by [`Misbehave::ResetMidHead`].
pub const PARTIAL_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: applica";
/// The head and partial body sent by [`Misbehave::ResetMidBody`].
pub const PARTIAL_BODY: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"uid\": 1, \"na";

/// The head and first chunk sent by [`Misbehave::ResetMidChunked`].
pub const PARTIAL_CHUNKED: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\ne\r\n{\"uid\": 1, \"na\r\n";

struct Rule {
    method: Method,
    path_prefix: String,
    act: Misbehave,
    remaining: Option<u32>,
}

#[derive(Default)]
struct State {
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<(Method, String)>>,
    seen_headers: Mutex<Vec<Vec<(String, String)>>>,
    connections: AtomicUsize,
    idle_close: Mutex<Option<Duration>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn take(&self, method: &Method, path: &str) -> Option<Misbehave> {
        let mut rules = lock(&self.rules);
        let i = rules
            .iter()
            .position(|r| r.method == *method && path.starts_with(&r.path_prefix))?;
        let act = rules[i].act;
        if let Some(n) = rules[i].remaining.as_mut() {
            *n -= 1;
            if *n == 0 {
                rules.remove(i);
            }
        }
        Some(act)
    }
}

/// A running misbehaving upstream; stops accepting when dropped.
pub struct Faulty {
    pub addr: SocketAddr,
    state: Arc<State>,
    _stop: oneshot::Sender<()>,
}

impl Faulty {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Misbehaves on every `method` request whose path starts with `path_prefix`.
    pub fn on(&self, method: Method, path_prefix: &str, act: Misbehave) {
        self.add(method, path_prefix, act, None);
    }

    /// Like [`on`](Self::on), for the next `n` matching requests only.
    pub fn on_times(&self, method: Method, path_prefix: &str, act: Misbehave, n: u32) {
        self.add(method, path_prefix, act, Some(n));
    }

    fn add(&self, method: Method, path_prefix: &str, act: Misbehave, remaining: Option<u32>) {
        lock(&self.state.rules).push(Rule {
            method,
            path_prefix: path_prefix.to_owned(),
            act,
            remaining,
        });
    }

    /// Closes a connection (FIN, no `Connection: close` announced) once it has been idle this
    /// long after a reply. `Duration::ZERO` closes right after each reply.
    pub fn close_idle_after(&self, idle: Duration) {
        *lock(&self.state.idle_close) = Some(idle);
    }

    /// Every request received, as (method, target).
    pub fn seen(&self) -> Vec<(Method, String)> {
        lock(&self.state.seen).clone()
    }

    /// The headers of every request received (names lower-case), in the order of [`Self::seen`].
    pub fn seen_headers(&self) -> Vec<Vec<(String, String)>> {
        lock(&self.state.seen_headers).clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }
}

/// A misbehaving upstream forwarding to `backend` (a simulator).
pub async fn start_faulty(backend: SocketAddr) -> Faulty {
    let state = Arc::new(State::default());
    let shared = state.clone();
    let (addr, stop) = super::accept_loop(move |stream| {
        shared.connections.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(serve_conn(stream, backend, shared.clone()));
    })
    .await;
    Faulty {
        addr,
        state,
        _stop: stop,
    }
}

/// One request as read off the wire.
struct Head {
    method: Method,
    target: String,
    headers: Vec<(String, String)>,
    content_length: usize,
}

async fn serve_conn(stream: TcpStream, backend: SocketAddr, state: Arc<State>) {
    let mut stream = BufReader::new(stream);
    let mut served_one = false;
    loop {
        let idle = *lock(&state.idle_close);
        let head = match idle.filter(|_| served_one) {
            Some(idle) => match tokio::time::timeout(idle, read_head(&mut stream)).await {
                Ok(head) => head,
                // Idle for too long: close, as a server's keep-alive timeout does.
                Err(_) => return,
            },
            None => read_head(&mut stream).await,
        };
        let Some(head) = head else { return };
        served_one = true;
        let mut body = vec![0; head.content_length];
        if stream.read_exact(&mut body).await.is_err() {
            return;
        }
        lock(&state.seen).push((head.method.clone(), head.target.clone()));
        lock(&state.seen_headers).push(head.headers.clone());
        let path = head.target.split('?').next().unwrap_or_default().to_owned();
        match state.take(&head.method, &path) {
            Some(Misbehave::ResetMidHead) => return reset_after(stream, PARTIAL_HEAD).await,
            Some(Misbehave::ResetMidBody) => return reset_after(stream, PARTIAL_BODY).await,
            Some(Misbehave::ResetMidChunked) => return reset_after(stream, PARTIAL_CHUNKED).await,
            Some(Misbehave::Reply(status, json)) => {
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
                    json.len()
                );
                if stream.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
            Some(Misbehave::Silent) => {
                // Hold the connection open without a word until the test ends.
                std::future::pending::<()>().await;
            }
            None => {
                let reply = forward(backend, head, body).await;
                if stream.write_all(&reply).await.is_err() || stream.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads a request head; `None` when the peer closed (or sent garbage).
async fn read_head(stream: &mut BufReader<TcpStream>) -> Option<Head> {
    let mut line = String::new();
    if stream.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = Method::from_bytes(parts.next()?.as_bytes()).ok()?;
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    let mut content_length = 0;
    loop {
        line.clear();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let text = line.trim_end();
        if text.is_empty() {
            break;
        }
        let (name, value) = text.split_once(':')?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
        if name == "content-length" {
            content_length = value.parse().ok()?;
        }
        headers.push((name, value));
    }
    Some(Head {
        method,
        target,
        headers,
        content_length,
    })
}

/// Writes `bytes`, lets them arrive, then closes with a reset (SO_LINGER 0).
async fn reset_after(mut stream: BufReader<TcpStream>, bytes: &[u8]) {
    let _ = stream.write_all(bytes).await;
    let _ = stream.flush().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Zero linger does not block on close: it discards and sends RST at once.
    #[allow(deprecated)]
    let _ = stream.get_ref().set_linger(Some(Duration::ZERO));
}

/// Sends the request to the backend on a fresh connection; returns the raw reply to relay.
async fn forward(backend: SocketAddr, head: Head, body: Vec<u8>) -> Vec<u8> {
    let tcp = TcpStream::connect(backend).await.expect("connect backend");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("backend handshake");
    tokio::spawn(conn);
    let mut req = Request::builder().method(head.method).uri(head.target);
    for (name, value) in &head.headers {
        if !matches!(
            name.as_str(),
            "connection" | "keep-alive" | "content-length"
        ) {
            req = req.header(name, value);
        }
    }
    let req = req.body(Full::new(Bytes::from(body))).expect("request");
    let resp = sender.send_request(req).await.expect("backend reply");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("backend body").to_bytes();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or("")
    );
    for (name, value) in &parts.headers {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection" | "keep-alive"
        ) {
            out.push_str(&format!(
                "{name}: {}\r\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    out
}
