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
//! The HTTP/2 half is in `upstream_pool_h2.rs`; the relay and helpers in `support::relay`.

mod support;

use deprecation_shim::sim::seed::REJSON_2_6_17;
use deprecation_shim::sim::SimVersion;
use http::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};
use support::bodies;
use support::client::{connect_io, Client, Proto};
use support::faulty::start_faulty;
use support::harness::{Shim, Sim};
use support::legacy::{admin, old_route};
use support::relay::{
    client, concurrently, get, get_ok, shim_via, start_relay, upstream_and_relay, wait_until, STEP,
};
use support::upstream::start_upstream;
use support::{wire, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
