//! The pool tests' rig (`tests/upstream_pool*.rs`): a TCP relay between the shim and its
//! upstream that counts the connections the shim opens, how many are still open, and what the
//! shim wrote on each; and the small client helpers those tests share. The relay stops
//! accepting when dropped.

use super::bodies;
use super::client::{Client, Proto};
use super::harness::Shim;
use super::upstream::{start_upstream, Upstream};
use super::{within, Reply};
use http::{Method, StatusCode};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};

/// Longest any single step may take before it counts as a hang.
pub const STEP: Duration = Duration::from_secs(3);

/// At most this much of what the shim writes on one connection is kept for inspection.
pub const LOG_LIMIT: usize = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// A counting TCP relay between the shim and the upstream.
// ---------------------------------------------------------------------------------------------

pub struct RelayState {
    accepted: AtomicUsize,
    open: AtomicUsize,
    /// Per accepted connection, in order: the first bytes the shim wrote on it.
    sent: Mutex<Vec<Vec<u8>>>,
    /// Bumped to cut every connection open at that moment.
    cut: watch::Sender<u64>,
}

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Relays TCP byte for byte (TLS passes through untouched, ALPN included); stops accepting
/// when dropped.
pub struct Relay {
    pub addr: SocketAddr,
    state: Arc<RelayState>,
    _stop: oneshot::Sender<()>,
}

impl Relay {
    /// Connections the shim opened so far.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Connections not yet closed (by either side).
    pub fn open(&self) -> usize {
        self.state.open.load(Ordering::SeqCst)
    }

    /// The request lines (`METHOD target HTTP/1.1`) the shim wrote on each connection.
    pub fn request_lines(&self) -> Vec<Vec<String>> {
        lock(&self.state.sent)
            .iter()
            .map(|log| {
                String::from_utf8_lossy(log)
                    .split("\r\n")
                    .filter(|l| is_request_line(l))
                    .map(str::to_owned)
                    .collect()
            })
            .collect()
    }

    /// Everything (up to [`LOG_LIMIT`]) the shim wrote on connection `i`, as text.
    pub fn sent_text(&self, i: usize) -> String {
        String::from_utf8_lossy(&lock(&self.state.sent)[i]).into_owned()
    }

    /// Closes every connection open now (both sides), as a restarting cluster or a middlebox
    /// would.
    pub fn cut_all(&self) {
        self.state.cut.send_modify(|n| *n += 1);
    }

    /// Waits until `open()` is `n`; fails the test after `limit`.
    pub async fn wait_open(&self, n: usize, limit: Duration, what: &str) {
        wait_until(limit, what, || self.open() == n).await;
        assert_eq!(self.open(), n, "{what}");
    }
}

pub fn is_request_line(line: &str) -> bool {
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !method.is_empty()
        && method.bytes().all(|b| b.is_ascii_uppercase())
        && !target.is_empty()
        && version == "HTTP/1.1"
}

pub async fn start_relay(target: SocketAddr) -> Relay {
    let state = Arc::new(RelayState {
        accepted: AtomicUsize::new(0),
        open: AtomicUsize::new(0),
        sent: Mutex::new(Vec::new()),
        cut: watch::Sender::new(0),
    });
    let shared = state.clone();
    let (addr, stop) = super::accept_loop(move |stream| {
        let id = {
            let mut sent = lock(&shared.sent);
            sent.push(Vec::new());
            sent.len() - 1
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        shared.open.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(pipe(stream, target, shared.clone(), id));
    })
    .await;
    Relay {
        addr,
        state,
        _stop: stop,
    }
}

/// Counts a relayed connection as closed when both directions have ended.
pub struct OpenGuard(Arc<RelayState>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

pub async fn pipe(shim: TcpStream, target: SocketAddr, state: Arc<RelayState>, id: usize) {
    let _guard = OpenGuard(state.clone());
    let mut cut = state.cut.subscribe();
    let Ok(upstream) = TcpStream::connect(target).await else {
        return;
    };
    let _ = shim.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (mut shim_r, mut shim_w) = shim.into_split();
    let (mut up_r, mut up_w) = upstream.into_split();
    let to_upstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match shim_r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            {
                let mut sent = lock(&state.sent);
                let log = &mut sent[id];
                let room = LOG_LIMIT.saturating_sub(log.len()).min(n);
                log.extend_from_slice(&buf[..room]);
            }
            if up_w.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = up_w.shutdown().await;
    };
    let to_shim = async {
        let _ = tokio::io::copy(&mut up_r, &mut shim_w).await;
        let _ = shim_w.shutdown().await;
    };
    tokio::select! {
        _ = async { tokio::join!(to_upstream, to_shim) } => {}
        _ = cut.changed() => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers.
// ---------------------------------------------------------------------------------------------

/// Polls `cond` every 10 ms until it holds or `limit` passes (the caller asserts afterwards).
pub async fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        if Instant::now() > deadline {
            eprintln!("{what}: condition not met within {limit:?}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A plain-http shim in front of `relay`, with `extra` lines added to `[upstream]`.
pub async fn shim_via(relay: &Relay, extra: &str) -> Shim {
    Shim::from_toml(&format!(
        "[upstream]\nurl = \"http://{}\"\nrequest_timeout = \"3s\"\n{extra}",
        relay.addr
    ))
    .await
}

/// A test upstream with a relay in front of it.
pub async fn upstream_and_relay() -> (Upstream, Relay) {
    let upstream = start_upstream().await;
    let relay = start_relay(upstream.addr).await;
    (upstream, relay)
}

pub async fn client(shim: &Shim) -> Client {
    within(
        STEP,
        "connect to the shim",
        Client::connect(shim.addr, Proto::Http1, None),
    )
    .await
}

/// `GET path` on `client`'s connection, the whole reply read.
pub async fn get(client: &mut Client, path: &str) -> Reply {
    let req = client
        .request(Method::GET, path)
        .body(bodies::empty())
        .expect("request");
    within(STEP, &format!("GET {path}"), client.send(req)).await
}

/// `GET path` on a new downstream connection, asserting 200; returns the reply.
pub async fn get_ok(shim: &Shim, path: &str) -> Reply {
    let mut c = client(shim).await;
    let answer = get(&mut c, path).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "GET {path}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    answer
}

/// Runs `n` copies of `make(i)` at once on the runtime's workers and returns their outputs.
pub async fn concurrently<F, Fut, T>(n: usize, make: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("task panicked"));
    }
    out
}
