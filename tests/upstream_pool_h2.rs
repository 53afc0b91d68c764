//! The upstream keep-alive pool (`src/upstream/pool.rs`) against an HTTP/2 upstream, seen
//! from outside (the HTTP/1 half and the rig are described in `upstream_pool.rs`): an HTTP/2
//! upstream (TLS, ALPN h2) is one connection shared by every request once it is up (a burst
//! before that settles on one), and is replaced when it dies or ends by GOAWAY.
//!
//! One test is ignored: it shows a known gap (requests racing an h2 GOAWAY get 502).

mod support;

use http::{Method, StatusCode};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::bodies;
use support::client::{Client, Proto};
use support::harness::Shim;
use support::relay::{client, concurrently, get, start_relay, Relay, STEP};
use support::shim::toml_path;
use support::tls::TestCa;
use support::upstream::{start_upstream_tls, Upstream};
use support::within;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

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
