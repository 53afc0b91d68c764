//! A test upstream standing in for the cluster: a hyper server (HTTP/1.1 and HTTP/2, plain or
//! TLS) on 127.0.0.1:0 that answers, by path:
//!
//! - `/reply/{status}`: that status, `x-reply: one` + `x-reply: two`, an ETag, and the body
//!   `reply {status}` (none for 204/304);
//! - `/reply-hop`: 200 with hop-by-hop reply headers (`Connection: x-resp-drop`, `Keep-Alive`);
//! - `/download/{bytes}`: that many bytes of the pattern, with Content-Length;
//! - `/slow-download/{bytes}/{millis}`: the pattern, its 64 KiB frames spread over `millis`;
//! - `/gated-download/{frames}`: one 64 KiB frame per [`Upstream::release`];
//! - any path with an `x-canned` request header: a canned database object ([`canned`]);
//! - anything else: an echo, as JSON, of exactly what arrived (see [`Echo`]).
//!
//! Request bodies are hashed as they stream in, never held whole.

use super::bodies::{self, Digest, PatternBody, TestBody};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio_rustls::TlsAcceptor;

/// At most this much of an echoed body is returned as text; all of it is hashed.
const ECHO_TEXT_LIMIT: usize = 64 * 1024;

struct State {
    name: String,
    requests: AtomicUsize,
    received: watch::Sender<u64>,
    gate: Semaphore,
}

/// A running test upstream; stops accepting when dropped.
pub struct Upstream {
    pub addr: SocketAddr,
    pub tls: bool,
    state: Arc<State>,
    _stop: oneshot::Sender<()>,
}

impl Upstream {
    /// `http://127.0.0.1:PORT` or `https://...`: what the shim's `upstream.url` is set to.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The name every echo carries, to tell which server answered.
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// Requests that reached this upstream so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Request body bytes received so far, over all requests.
    pub fn received(&self) -> u64 {
        *self.state.received.borrow()
    }

    /// Waits until request bodies totalling at least `bytes` have arrived.
    pub async fn wait_received(&self, bytes: u64) {
        let mut rx = self.state.received.subscribe();
        let _ = rx.wait_for(|n| *n >= bytes).await;
    }

    /// Lets `/gated-download` send `frames` more frames.
    pub fn release(&self, frames: usize) {
        self.state.gate.add_permits(frames);
    }
}

pub async fn start_upstream() -> Upstream {
    start(None).await
}

pub async fn start_upstream_tls(tls: Arc<rustls::ServerConfig>) -> Upstream {
    start(Some(TlsAcceptor::from(tls))).await
}

async fn start(tls: Option<TlsAcceptor>) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("upstream addr");
    let state = Arc::new(State {
        name: format!("test-upstream-{}", addr.port()),
        requests: AtomicUsize::new(0),
        received: watch::Sender::new(0),
        gate: Semaphore::new(0),
    });
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(accept_loop(listener, tls.clone(), state.clone(), stopped));
    Upstream {
        addr,
        tls: tls.is_some(),
        state,
        _stop: stop,
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<State>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r { Ok((s, _)) => s, Err(_) => continue },
            _ = &mut stopped => return,
        };
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let builder = auto::Builder::new(TokioExecutor::new());
            let _ = match tls {
                None => {
                    builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => builder.serve_connection(TokioIo::new(s), service).await,
                    Err(_) => return,
                },
            };
        });
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<TestBody>, Infallible> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path().to_owned();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let resp = match parts.as_slice() {
        ["reply", code] => {
            let status = code.parse().ok().and_then(|c| StatusCode::from_u16(c).ok());
            let is_head = req.method() == http::Method::HEAD;
            drain(&state, req.into_body()).await;
            reply(status.unwrap_or(StatusCode::IM_A_TEAPOT), is_head)
        }
        ["reply-hop"] => {
            drain(&state, req.into_body()).await;
            Response::builder()
                .header("connection", "x-resp-drop")
                .header("x-resp-drop", "1")
                .header("keep-alive", "timeout=5")
                .header("x-resp-kept", "1")
                .body(bodies::full("hop"))
                .expect("reply")
        }
        ["download", n] => Response::new(PatternBody::new(n.parse().unwrap_or(0), true).boxed()),
        ["slow-download", n, ms] => slow_download(n.parse().unwrap_or(0), ms.parse().unwrap_or(0)),
        ["gated-download", frames] => gated_download(state.clone(), frames.parse().unwrap_or(0)),
        _ if req.headers().contains_key("x-canned") => canned(&req),
        _ => echo(&state, req).await,
    };
    Ok(resp)
}

/// A database object `{"uid": 1, "tls_mode": "enabled"}` as the request's `x-canned` asks:
/// `json` as is, `gzip` marked `Content-Encoding: gzip`, `text` as `text/plain`, `large` padded
/// past 4 MiB (F14's reply bounds).
fn canned(req: &Request<Incoming>) -> Response<TestBody> {
    let how = req
        .headers()
        .get("x-canned")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("json");
    let mut body = json!({"uid": 1, "tls_mode": "enabled"});
    if how == "large" {
        body["pad"] = json!("x".repeat(4 * 1024 * 1024 + 1));
    }
    let text = serde_json::to_vec(&body).unwrap_or_default();
    let mut resp = Response::builder()
        .header("content-length", text.len())
        .header(
            "content-type",
            if how == "text" {
                "text/plain"
            } else {
                "application/json"
            },
        );
    if how == "gzip" {
        resp = resp.header("content-encoding", "gzip");
    }
    resp.body(bodies::full(text)).expect("reply")
}

fn reply(status: StatusCode, is_head: bool) -> Response<TestBody> {
    let no_body = is_head || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    let body = if no_body {
        bodies::empty()
    } else {
        bodies::full(format!("reply {}", status.as_u16()))
    };
    Response::builder()
        .status(status)
        .header("x-reply", "one")
        .header("x-reply", "two")
        .header("etag", "\"v1\"")
        .header("cache-control", "no-store")
        .body(body)
        .expect("reply")
}

/// Reads and hashes a request body, reporting progress as frames arrive.
async fn drain(state: &State, mut body: Incoming) -> (Digest, Vec<u8>, usize) {
    let mut digest = Digest::new();
    let mut text = Vec::new();
    let mut frames = 0;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Some(data) = frame.data_ref() {
            frames += 1;
            digest.update(data);
            let room = ECHO_TEXT_LIMIT.saturating_sub(text.len());
            text.extend_from_slice(&data[..room.min(data.len())]);
            state.received.send_modify(|n| *n += data.len() as u64);
        }
    }
    (digest, text, frames)
}

/// The echo: what the request looked like on arrival.
async fn echo(state: &State, req: Request<Incoming>) -> Response<TestBody> {
    let (parts, body) = req.into_parts();
    let headers: Vec<Value> = parts
        .headers
        .iter()
        .map(|(k, v)| json!([k.as_str(), String::from_utf8_lossy(v.as_bytes())]))
        .collect();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()));
    let target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_default();
    let (digest, text, frames) = drain(state, body).await;
    let (body_len, body_sha256) = digest.finish();
    let echo = json!({
        "server": state.name,
        "method": parts.method.as_str(),
        "target": target,
        "version": format!("{:?}", parts.version),
        "host": host,
        "headers": headers,
        "body_len": body_len,
        "body_sha256": body_sha256,
        "body": String::from_utf8_lossy(&text),
        "frames": frames,
    });
    let json = serde_json::to_vec(&echo).expect("json");
    let len = json.len();
    // hyper's HTTP/2 server sends whatever body it is given, even to HEAD: give it none.
    let body = if parts.method == http::Method::HEAD {
        bodies::empty()
    } else {
        bodies::full(json)
    };
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert("content-length", HeaderValue::from(len));
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "x-echo-method",
        HeaderValue::from_str(parts.method.as_str()).expect("method"),
    );
    resp
}

fn slow_download(len: u64, millis: u64) -> Response<TestBody> {
    let (tx, body) = bodies::channel_body();
    tokio::spawn(async move {
        let frames = len.div_ceil(bodies::CHUNK as u64).max(1);
        let pause = Duration::from_millis(millis / frames);
        let mut generator = PatternBody::new(len, true);
        while let Some(Ok(frame)) = generator.frame().await {
            let Ok(data) = frame.into_data() else { break };
            if tx.send(data).await.is_err() {
                return;
            }
            tokio::time::sleep(pause).await;
        }
    });
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert("content-length", HeaderValue::from(len));
    resp
}

fn gated_download(state: Arc<State>, frames: usize) -> Response<TestBody> {
    let (tx, body) = bodies::channel_body();
    tokio::spawn(async move {
        for i in 0..frames {
            match state.gate.acquire().await {
                Ok(permit) => permit.forget(),
                Err(_) => return,
            }
            if tx
                .send(Bytes::from(vec![i as u8; bodies::CHUNK]))
                .await
                .is_err()
            {
                return;
            }
        }
    });
    Response::new(body)
}

/// An address nothing listens on: bound to learn a free port, then closed.
pub fn refused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// An upstream that accepts connections and reads requests but never answers.
pub struct SilentUpstream {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl SilentUpstream {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

pub async fn start_silent_upstream() -> SilentUpstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind silent");
    let addr = listener.local_addr().expect("addr");
    let (stop, mut stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            tokio::select! {
                r = listener.accept() => if let Ok((s, _)) = r { held.push(s) },
                _ = &mut stopped => return,
            }
        }
    });
    SilentUpstream { addr, _stop: stop }
}
