//! The upstream keep-alive pool (`src/upstream/pool.rs`), seen from outside: the shim runs in
//! this process in front of a test upstream, and a TCP relay between the two counts the
//! connections the shim opens, how many are still open, and what the shim wrote on each. What
//! is pinned down:
//!
//! - sequential requests reuse one connection; `upstream.pool_max_idle_per_host = 0` keeps
//!   none, and after a burst at most that many stay open;
//! - a connection idle past `upstream.pool_idle_timeout` is closed (by the reaper, without a
//!   request to find it) and never reused;
//! - connections the upstream closed while idle are replaced, never answered with 502;
//! - a response body abandoned half-way closes its connection instead of returning it;
//! - the shim's own upgrade POST always goes on a new connection;
//! - on HTTP/1 the shim sends exactly one `Host` (the cluster's authority), and a CONNECT goes
//!   out in authority-form naming the cluster, never the host the client named;
//! - an HTTP/2 upstream (TLS, ALPN h2) is one connection shared by every request once it is
//!   up (a burst before that settles on one), and is replaced when it dies or ends by GOAWAY.
//!
//! One test is ignored: it shows a known gap (requests racing an h2 GOAWAY get 502).

mod support;

use deprecation_shim::sim::seed::REJSON_2_6_17;
use deprecation_shim::sim::SimVersion;
use http::{Method, StatusCode};
use serde_json::json;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use support::bodies;
use support::client::{connect_io, Client, Proto};
use support::faulty::start_faulty;
use support::harness::{Shim, Sim};
use support::legacy::{admin, old_route};
use support::shim::toml_path;
use support::tls::TestCa;
use support::upstream::{start_upstream, start_upstream_tls, Upstream};
use support::{wire, within, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// Longest any single step may take before it counts as a hang.
const STEP: Duration = Duration::from_secs(3);

/// At most this much of what the shim writes on one connection is kept for inspection.
const LOG_LIMIT: usize = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// A counting TCP relay between the shim and the upstream.
// ---------------------------------------------------------------------------------------------

struct RelayState {
    accepted: AtomicUsize,
    open: AtomicUsize,
    /// Per accepted connection, in order: the first bytes the shim wrote on it.
    sent: Mutex<Vec<Vec<u8>>>,
    /// Bumped to cut every connection open at that moment.
    cut: watch::Sender<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Relays TCP byte for byte (TLS passes through untouched, ALPN included); stops accepting
/// when dropped.
struct Relay {
    addr: SocketAddr,
    state: Arc<RelayState>,
    _stop: oneshot::Sender<()>,
}

impl Relay {
    /// Connections the shim opened so far.
    fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Connections not yet closed (by either side).
    fn open(&self) -> usize {
        self.state.open.load(Ordering::SeqCst)
    }

    /// The request lines (`METHOD target HTTP/1.1`) the shim wrote on each connection.
    fn request_lines(&self) -> Vec<Vec<String>> {
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
    fn sent_text(&self, i: usize) -> String {
        String::from_utf8_lossy(&lock(&self.state.sent)[i]).into_owned()
    }

    /// Closes every connection open now (both sides), as a restarting cluster or a middlebox
    /// would.
    fn cut_all(&self) {
        self.state.cut.send_modify(|n| *n += 1);
    }

    /// Waits until `open()` is `n`; fails the test after `limit`.
    async fn wait_open(&self, n: usize, limit: Duration, what: &str) {
        wait_until(limit, what, || self.open() == n).await;
        assert_eq!(self.open(), n, "{what}");
    }
}

fn is_request_line(line: &str) -> bool {
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

async fn start_relay(target: SocketAddr) -> Relay {
    let state = Arc::new(RelayState {
        accepted: AtomicUsize::new(0),
        open: AtomicUsize::new(0),
        sent: Mutex::new(Vec::new()),
        cut: watch::Sender::new(0),
    });
    let shared = state.clone();
    let (addr, stop) = support::accept_loop(move |stream| {
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
struct OpenGuard(Arc<RelayState>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn pipe(shim: TcpStream, target: SocketAddr, state: Arc<RelayState>, id: usize) {
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
async fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
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
async fn shim_via(relay: &Relay, extra: &str) -> Shim {
    Shim::from_toml(&format!(
        "[upstream]\nurl = \"http://{}\"\nrequest_timeout = \"3s\"\n{extra}",
        relay.addr
    ))
    .await
}

/// A test upstream with a relay in front of it.
async fn upstream_and_relay() -> (Upstream, Relay) {
    let upstream = start_upstream().await;
    let relay = start_relay(upstream.addr).await;
    (upstream, relay)
}

async fn client(shim: &Shim) -> Client {
    within(
        STEP,
        "connect to the shim",
        Client::connect(shim.addr, Proto::Http1, None),
    )
    .await
}

/// `GET path` on `client`'s connection, the whole reply read.
async fn get(client: &mut Client, path: &str) -> Reply {
    let req = client
        .request(Method::GET, path)
        .body(bodies::empty())
        .expect("request");
    within(STEP, &format!("GET {path}"), client.send(req)).await
}

/// `GET path` on a new downstream connection, asserting 200; returns the reply.
async fn get_ok(shim: &Shim, path: &str) -> Reply {
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
async fn concurrently<F, Fut, T>(n: usize, make: F) -> Vec<T>
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

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 upstream.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_requests_from_one_client_reuse_one_upstream_connection() {
    let (upstream, relay) = upstream_and_relay().await;
    let shim = shim_via(&relay, "").await;
    let mut c = client(&shim).await;
    for i in 0..20 {
        let answer = get(&mut c, &format!("/v1/bdbs/{i}")).await;
        assert_eq!(answer.status, StatusCode::OK, "request {i}");
        assert_eq!(answer.json()["target"], format!("/v1/bdbs/{i}"));
    }
    assert_eq!(upstream.requests(), 20);
    assert_eq!(
        relay.accepted(),
        1,
        "20 sequential GETs opened {} upstream connections",
        relay.accepted()
    );
    assert_eq!(relay.open(), 1, "the one connection stays open, idle");
    let lines = relay.request_lines();
    assert_eq!(lines[0].len(), 20, "all on that connection: {lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_idle_zero_opens_a_connection_per_request_and_keeps_none() {
    let (upstream, relay) = upstream_and_relay().await;
    let shim = shim_via(&relay, "pool_max_idle_per_host = 0\n").await;
    let mut c = client(&shim).await;
    for i in 0..10 {
        let answer = get(&mut c, "/reply/200").await;
        assert_eq!(answer.status, StatusCode::OK, "request {i}");
        assert_eq!(&answer.body[..], b"reply 200");
    }
    assert_eq!(upstream.requests(), 10);
    assert_eq!(relay.accepted(), 10, "one new connection per request");
    relay
        .wait_open(0, Duration::from_secs(2), "no connection is kept idle")
        .await;
    for (i, lines) in relay.request_lines().iter().enumerate() {
        assert_eq!(lines.len(), 1, "connection {i} carried {lines:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_idle_past_the_idle_timeout_is_closed_and_not_reused() {
    let (_upstream, relay) = upstream_and_relay().await;
    let shim = shim_via(&relay, "pool_idle_timeout = \"300ms\"\n").await;
    let mut c = client(&shim).await;
    assert_eq!(get(&mut c, "/reply/200").await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(get(&mut c, "/reply/200").await.status, StatusCode::OK);
    assert_eq!(
        relay.accepted(),
        1,
        "reused while idle for less than 300 ms"
    );
    let last_reply = Instant::now();
    assert_eq!(relay.open(), 1);
    // No request comes: the reaper alone must close it.
    relay
        .wait_open(
            0,
            Duration::from_millis(1500),
            "the idle connection is closed after the timeout",
        )
        .await;
    let closed_after = last_reply.elapsed();
    assert!(
        closed_after >= Duration::from_millis(200),
        "closed after only {closed_after:?} idle (timeout 300 ms)"
    );
    assert_eq!(get(&mut c, "/reply/200").await.status, StatusCode::OK);
    assert_eq!(relay.accepted(), 2, "the expired connection was not reused");
    // And the new one is reused again right away.
    assert_eq!(get(&mut c, "/reply/200").await.status, StatusCode::OK);
    assert_eq!(relay.accepted(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_upstream_closed_while_idle_are_replaced_without_502() {
    let upstream = start_upstream().await;
    let front = start_faulty(upstream.addr).await;
    front.close_idle_after(Duration::from_millis(50));
    let shim = Shim::from_toml(&format!(
        "[upstream]\nurl = \"{}\"\nrequest_timeout = \"3s\"\n",
        front.url()
    ))
    .await;
    let mut c = client(&shim).await;
    const N: usize = 8;
    for i in 0..N {
        let answer = get(&mut c, &format!("/v1/bdbs/{i}")).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "request {i}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.json()["target"], format!("/v1/bdbs/{i}"));
        // Longer than the upstream's keep-alive: the pooled connection is gone by the next one.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        front.connections(),
        N,
        "the upstream closed every idle connection, so each request needed a new one"
    );
    assert_eq!(front.seen().len(), N, "no request was sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_abandoned_half_way_closes_its_connection_and_the_pool_stays_usable() {
    let (_upstream, relay) = upstream_and_relay().await;
    let shim = shim_via(&relay, "").await;
    get_ok(&shim, "/reply/200").await;
    assert_eq!(
        (relay.accepted(), relay.open()),
        (1, 1),
        "one idle connection"
    );

    // 32 MiB streamed; the client reads about 256 KiB and hangs up.
    let mut io = connect_io(shim.addr, None).await;
    let request = format!(
        "GET /download/{} HTTP/1.1\r\nHost: {}\r\n\r\n",
        32 * 1024 * 1024,
        shim.addr
    );
    io.write_all(request.as_bytes()).await.expect("write");
    let head = within(STEP, "download head", wire::read_head(&mut io)).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut got = 0;
    let mut buf = vec![0u8; 64 * 1024];
    within(STEP, "first 256 KiB of the download", async {
        while got < 256 * 1024 {
            let n = io.read(&mut buf).await.expect("read body");
            assert!(n > 0, "download ended early after {got} bytes");
            got += n;
        }
    })
    .await;
    assert_eq!(
        relay.accepted(),
        1,
        "the download reused the idle connection"
    );
    drop(io);

    // A half-read connection cannot be reused: it must be closed, not kept.
    relay
        .wait_open(
            0,
            Duration::from_secs(2),
            "the abandoned download's upstream connection is closed",
        )
        .await;
    let answer = get_ok(&shim, "/v1/after").await;
    assert_eq!(answer.json()["target"], "/v1/after");
    assert_eq!(relay.accepted(), 2, "a new connection for the next request");
    let answer = get_ok(&shim, "/v1/after-again").await;
    assert_eq!(answer.json()["target"], "/v1/after-again");
    assert_eq!(relay.accepted(), 2, "which is pooled as usual");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_then_at_most_max_idle_connections_are_kept() {
    const MAX_IDLE: usize = 4;
    const N: usize = 16;
    let upstream = start_upstream().await;
    let relay = start_relay(upstream.addr).await;
    let shim = shim_via(&relay, &format!("pool_max_idle_per_host = {MAX_IDLE}\n")).await;
    let shim_addr = shim.addr;

    // 16 downloads whose single frame waits for a release: all 16 are in flight at once.
    let running = tokio::spawn(concurrently(N, move |_| async move {
        let mut c = Client::connect(shim_addr, Proto::Http1, None).await;
        let req = c
            .request(Method::GET, "/gated-download/1")
            .body(bodies::empty())
            .expect("request");
        c.send(req).await
    }));
    wait_until(STEP, "all requests reach the upstream", || {
        upstream.requests() == N
    })
    .await;
    assert_eq!(upstream.requests(), N, "all {N} requests in flight");
    assert_eq!(relay.accepted(), N, "one connection per request in flight");
    upstream.release(N);
    let answers = within(STEP, "the concurrent downloads", running)
        .await
        .expect("requests task");
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(a.status, StatusCode::OK, "request {i}");
        assert_eq!(a.body.len(), bodies::CHUNK, "request {i}");
    }

    // Every connection came back; only MAX_IDLE of them are kept.
    relay
        .wait_open(
            MAX_IDLE,
            Duration::from_secs(2),
            "connections beyond pool_max_idle_per_host are closed",
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(relay.open(), MAX_IDLE, "the kept ones stay open");

    // Sequential requests use the kept connections: none new.
    let mut c = client(&shim).await;
    for i in 0..N {
        assert_eq!(
            get(&mut c, "/reply/200").await.status,
            StatusCode::OK,
            "{i}"
        );
    }
    assert_eq!(
        relay.accepted(),
        N,
        "sequential requests after the burst opened new connections"
    );
    assert_eq!(relay.open(), MAX_IDLE);
    // Most recently used first: back-to-back requests keep landing on the same connection
    // (oldest first would rotate over all four). Each kept connection carried its download.
    let sequential: Vec<usize> = relay
        .request_lines()
        .iter()
        .map(|lines| lines.len().saturating_sub(1))
        .collect();
    let busiest = sequential.iter().copied().max().unwrap_or(0);
    assert!(
        busiest >= N * 3 / 4,
        "sequential requests per connection: {sequential:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The shim's own requests, and what the pool writes on the wire.
// ---------------------------------------------------------------------------------------------

/// The upgrade POST never reuses a pooled connection (it must not meet the reuse race, since it
/// is never sent twice): it is the first request on its connection although idle connections
/// were there to take.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_post_always_goes_on_a_new_connection() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let relay = start_relay(sim.addr).await;
    let shim = Shim::in_front_of(relay.addr, "").await;
    // Idle connections in the pool first.
    for _ in 0..2 {
        let reply = within(STEP, "GET", support::get(shim.addr, "/v1/bdbs/1", &admin())).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    for round in 0..2 {
        let reply = within(
            Duration::from_secs(5),
            "deprecated call",
            support::post_json(
                shim.addr,
                &old_route(1),
                &admin(),
                &json!({"new_module": REJSON_2_6_17}),
            ),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "round {round}: {}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    let lines = relay.request_lines();
    let mut posts = 0;
    for (i, conn) in lines.iter().enumerate() {
        for (j, line) in conn.iter().enumerate() {
            if line.starts_with("POST /v1/bdbs/1/upgrade ") {
                posts += 1;
                assert_eq!(j, 0, "the upgrade POST reused connection {i}: {conn:?}");
            }
        }
    }
    assert_eq!(posts, 2, "one POST per deprecated call: {lines:?}");
    assert!(
        lines.iter().any(|conn| conn.len() > 1),
        "the look-ups and polls were pooled meanwhile: {lines:?}"
    );
}

/// The `Host` header lines in what the shim wrote.
fn host_lines(text: &str) -> Vec<String> {
    text.split("\r\n")
        .filter(|l| l.to_ascii_lowercase().starts_with("host:"))
        .map(str::to_owned)
        .collect()
}

/// HTTP/1: exactly one `Host`, the cluster's authority (the relay's here, port included since
/// it is not 80); a CONNECT goes out in authority-form naming the cluster, not the host the
/// client asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_is_the_cluster_authority_and_connect_targets_the_cluster() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let relay = start_relay(sim.addr).await;
    let shim = Shim::in_front_of(relay.addr, "").await;
    let reply = within(STEP, "GET", support::get(shim.addr, "/v1/bdbs/1", &admin())).await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = relay.sent_text(0);
    assert_eq!(
        host_lines(&text),
        [format!("host: {}", relay.addr)],
        "the GET as written: {text:?}"
    );

    let decoy = "decoy.example:443";
    let mut io = connect_io(shim.addr, None).await;
    let request = format!(
        "CONNECT {decoy} HTTP/1.1\r\nHost: {decoy}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        admin()
    );
    let reply = within(STEP, "CONNECT", wire::exchange_on(&mut io, &request)).await;
    assert_eq!(reply.status, 404, "the cluster's answer: {}", reply.head());
    let lines = relay.request_lines();
    let connects: Vec<&String> = lines
        .iter()
        .flatten()
        .filter(|l| l.starts_with("CONNECT "))
        .collect();
    assert_eq!(
        connects,
        [&format!("CONNECT {} HTTP/1.1", relay.addr)],
        "all request lines: {lines:?}"
    );
    // One Host per request, the cluster's; only X-Forwarded-Host names the decoy (the
    // forwarding headers are on by default).
    let authority = format!("host: {}", relay.addr);
    let hosts: Vec<String> = (0..lines.len())
        .flat_map(|i| host_lines(&relay.sent_text(i)))
        .collect();
    assert_eq!(hosts, [authority.as_str(); 2], "Host lines written");
}

// ---------------------------------------------------------------------------------------------
// HTTP/2 upstream (TLS, ALPN h2).
// ---------------------------------------------------------------------------------------------

/// A TLS upstream offering h2 behind a relay, and a shim trusting its CA.
async fn h2_rig() -> (TestCa, Upstream, Relay, Shim) {
    let ca = TestCa::new();
    let upstream = start_upstream_tls(ca.server_config()).await;
    let relay = start_relay(upstream.addr).await;
    let shim = Shim::from_toml(&format!(
        "[upstream]\nurl = \"https://{}\"\nca_file = {}\nrequest_timeout = \"3s\"\n",
        relay.addr,
        toml_path(&ca.ca_file)
    ))
    .await;
    (ca, upstream, relay, shim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h2_upstream_is_one_shared_connection() {
    let (_ca, upstream, relay, shim) = h2_rig().await;
    let mut c = client(&shim).await;
    for i in 0..10 {
        let answer = get(&mut c, &format!("/v1/bdbs/{i}")).await;
        assert_eq!(answer.status, StatusCode::OK, "request {i}");
        let echo = answer.json();
        assert_eq!(echo["version"], "HTTP/2.0", "{echo}");
        assert_eq!(echo["target"], format!("/v1/bdbs/{i}"));
        assert_eq!(echo["host"], relay.addr.to_string(), "{echo}");
    }
    assert_eq!(
        relay.accepted(),
        1,
        "10 sequential requests, one connection"
    );

    // Concurrent requests, from several clients, share it too.
    let shim_addr = shim.addr;
    let answers = within(
        STEP,
        "concurrent requests",
        concurrently(10, move |i| async move {
            let mut c = Client::connect(shim_addr, Proto::Http1, None).await;
            let req = c
                .request(Method::GET, &format!("/v1/c/{i}"))
                .body(bodies::empty())
                .expect("request");
            c.send(req).await
        }),
    )
    .await;
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(a.status, StatusCode::OK, "request {i}");
        assert_eq!(a.json()["version"], "HTTP/2.0");
    }
    assert_eq!(upstream.requests(), 20);
    assert_eq!(
        relay.accepted(),
        1,
        "concurrent requests, still one connection"
    );
    assert_eq!(relay.open(), 1);
}

/// ALPN tells h2 only once a connection is up, so requests arriving together before the first
/// one is up each open their own; those extra connections must not linger, and from then on
/// every request shares one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h2_burst_at_start_settles_on_one_shared_connection() {
    let (_ca, upstream, relay, shim) = h2_rig().await;
    let shim_addr = shim.addr;
    let burst = |tag: &'static str| {
        concurrently(10, move |i| async move {
            let mut c = Client::connect(shim_addr, Proto::Http1, None).await;
            let req = c
                .request(Method::GET, &format!("/v1/{tag}/{i}"))
                .body(bodies::empty())
                .expect("request");
            c.send(req).await
        })
    };
    for (i, a) in within(STEP, "cold burst", burst("cold"))
        .await
        .iter()
        .enumerate()
    {
        assert_eq!(a.status, StatusCode::OK, "request {i}");
        assert_eq!(a.json()["version"], "HTTP/2.0");
    }
    let opened = relay.accepted();
    assert!(
        (1..=10).contains(&opened),
        "{opened} connections for 10 requests"
    );
    relay
        .wait_open(1, Duration::from_secs(2), "the extra h2 connections close")
        .await;
    for (i, a) in within(STEP, "warm burst", burst("warm"))
        .await
        .iter()
        .enumerate()
    {
        assert_eq!(a.status, StatusCode::OK, "request {i}");
    }
    let mut c = client(&shim).await;
    for i in 0..5 {
        assert_eq!(get(&mut c, "/v1/seq").await.status, StatusCode::OK, "{i}");
    }
    assert_eq!(upstream.requests(), 25);
    assert_eq!(
        relay.accepted(),
        opened,
        "no new connection once one is shared"
    );
    assert_eq!(relay.open(), 1);
}

/// When the shared h2 connection dies, the next request opens a new one instead of failing
/// on the dead one for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_shared_h2_connection_is_replaced() {
    let (_ca, _upstream, relay, shim) = h2_rig().await;
    let mut c = client(&shim).await;
    assert_eq!(get(&mut c, "/v1/before").await.status, StatusCode::OK);
    assert_eq!(relay.accepted(), 1);
    relay.cut_all();
    relay
        .wait_open(0, Duration::from_secs(2), "the relay cut the connection")
        .await;
    // Let the shim's connection task notice the close.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..5 {
        let answer = get(&mut c, &format!("/v1/after/{i}")).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "request {i}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.json()["version"], "HTTP/2.0");
    }
    assert_eq!(relay.accepted(), 2, "one new shared connection");
    assert_eq!(relay.open(), 1);
}

/// A TLS upstream speaking only HTTP/2 that ends each connection gracefully (GOAWAY) after
/// `per_conn` requests, as nginx's `keepalive_requests` does; counts connections.
async fn start_goaway_upstream(
    tls: Arc<rustls::ServerConfig>,
    per_conn: usize,
) -> (SocketAddr, Arc<AtomicUsize>, oneshot::Sender<()>) {
    use hyper::server::conn::http2;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let (stop, mut stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                r = listener.accept() => match r { Ok((s, _)) => s, Err(_) => continue },
                _ = &mut stopped => return,
            };
            let conn_no = counted.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let served = Arc::new(AtomicUsize::new(0));
                let last = Arc::new(tokio::sync::Notify::new());
                let (s, l) = (served.clone(), last.clone());
                let service = hyper::service::service_fn(move |req: http::Request<_>| {
                    let n = s.fetch_add(1, Ordering::SeqCst) + 1;
                    if n == per_conn {
                        l.notify_one();
                    }
                    let body = format!("conn {conn_no} req {n} {}", req.uri().path());
                    async move {
                        Ok::<_, std::convert::Infallible>(http::Response::new(bodies::full(body)))
                    }
                });
                let conn = http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = last.notified() => {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                    }
                }
            });
        }
    });
    (addr, connections, stop)
}

/// A shim in front of an HTTP/2-only TLS upstream that sends GOAWAY after `per_conn` requests
/// on each connection; also returns the upstream's connection count.
async fn goaway_rig(per_conn: usize) -> (TestCa, Arc<AtomicUsize>, oneshot::Sender<()>, Shim) {
    let ca = TestCa::new();
    let (addr, connections, stop) = start_goaway_upstream(ca.server_config(), per_conn).await;
    let shim = Shim::from_toml(&format!(
        "[upstream]\nurl = \"https://{addr}\"\nca_file = {}\nrequest_timeout = \"3s\"\n",
        toml_path(&ca.ca_file)
    ))
    .await;
    (ca, connections, stop, shim)
}

/// A shared h2 connection the upstream ends gracefully (GOAWAY) is replaced by a new one; with
/// requests spaced out, none meets the connection in its last moment (see the ignored test
/// below for what happens when one does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h2_connection_ended_by_goaway_is_replaced() {
    let (_ca, connections, _stop, shim) = goaway_rig(5).await;
    let mut c = client(&shim).await;
    for i in 0..20 {
        let answer = get(&mut c, &format!("/r/{i}")).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "request {i}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let body = String::from_utf8_lossy(&answer.body).into_owned();
        assert!(body.ends_with(&format!(" /r/{i}")), "{body}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    // 5 per connection, give or take the one a closing connection may still take (hyper's
    // graceful shutdown first announces GOAWAY with the highest stream id, then the real one).
    let opened = connections.load(Ordering::SeqCst);
    assert!((2..=4).contains(&opened), "{opened} connections");
}

/// Requests that meet a shared h2 connection between the upstream's GOAWAY and the
/// connection's end fail inside hyper ("http2 error: connection error received: not a result
/// of an error") without the request being handed back, although the upstream never processed
/// them (RFC 9113 §6.8). The pool keeps a copy of a bodiless GET/HEAD sent on h2 and sends it
/// again on a new connection; before that, 1–7 of these 200 requests got a 502 in every run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_racing_an_h2_goaway_are_not_lost() {
    let (_ca, connections, _stop, shim) = goaway_rig(3).await;
    let shim_addr = shim.addr;
    let failed: Vec<String> = within(
        Duration::from_secs(10),
        "requests across GOAWAYs",
        concurrently(4, move |w| async move {
            let mut c = Client::connect(shim_addr, Proto::Http1, None).await;
            let mut failed = Vec::new();
            for i in 0..50 {
                let req = c
                    .request(Method::GET, &format!("/w{w}/{i}"))
                    .body(bodies::empty())
                    .expect("request");
                let answer = c.send(req).await;
                if answer.status != StatusCode::OK {
                    failed.push(format!(
                        "{w}/{i}: {} {}",
                        answer.status,
                        String::from_utf8_lossy(&answer.body)
                    ));
                }
            }
            failed
        }),
    )
    .await
    .into_iter()
    .flatten()
    .collect();
    assert!(
        failed.is_empty(),
        "{} of 200 requests failed over {} connections; first: {}",
        failed.len(),
        connections.load(Ordering::SeqCst),
        failed[0]
    );
}
