//! Stopping and connection limits: SIGTERM drains in-flight requests and exits 0 while refusing
//! new connections; slow or silent clients are cut off at `listen.header_read_timeout`;
//! `listen.max_connections` makes further connections wait in the backlog, not get served.

mod support;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::bodies::{self, pattern_digest, Digest};
use support::client::{connect_io, Client, Proto};
use support::harness::Shim;
use support::shim::{spawn_shim, toml_path, ShimProcess};
use support::tls::{TestCa, MODERN};
use support::upstream::start_upstream;
use support::wire;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Waits (without blocking the runtime) until the shim has logged `needle`.
async fn wait_for_log(shim: &ShimProcess, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !shim.stderr().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in:\n{}",
            shim.stderr()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Connects until the connection is refused; returns when that happened.
async fn wait_until_refused(addr: SocketAddr) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpStream::connect(addr).await {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => return Instant::now(),
            // A connection that reached the kernel's accept queue just as the listener closed
            // is reset by the kernel: it was not accepted either.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Instant::now(),
            Err(e) => panic!("connect failed with {e}, not a refusal"),
            Ok(_) => {
                assert!(Instant::now() < deadline, "still accepting after SIGTERM");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_in_flight_download_refuses_new_connections_and_exits_0() {
    const SIZE: u64 = 2 * 1024 * 1024;
    let upstream = start_upstream().await;
    let mut shim = spawn_shim(&["--upstream", &upstream.url()]);

    let mut client = Client::connect(shim.addr, Proto::Http1, None).await;
    let req = client
        .request(Method::GET, &format!("/slow-download/{SIZE}/2000"))
        .body(bodies::empty())
        .expect("request");
    let resp = client.send_streaming(req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let first = body.frame().await.expect("first frame").expect("frame");
    let mut digest = Digest::new();
    digest.update(first.data_ref().expect("data"));
    let download = tokio::spawn(async move {
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame.expect("download cut short").data_ref() {
                digest.update(data);
            }
        }
        (digest.finish(), Instant::now())
    });

    shim.terminate();
    wait_for_log(&shim, "stop signal received").await;
    let refused_at = wait_until_refused(shim.addr).await;

    let ((len, sha), finished_at) = download.await.expect("download task");
    assert_eq!(len, SIZE, "download cut short");
    assert_eq!(sha, pattern_digest(SIZE).1);
    assert!(
        refused_at < finished_at,
        "new connections were refused only after the download ended"
    );
    let status = tokio::task::spawn_blocking(move || {
        let status = shim.wait_exit(Duration::from_secs(10));
        (status, shim.stderr())
    })
    .await
    .expect("wait task");
    assert_eq!(status.0.code(), Some(0), "{}", status.1);
}

async fn shim_with_header_timeout(upstream_url: &str) -> Shim {
    Shim::from_toml(&format!(
        "[upstream]\nurl = \"{upstream_url}\"\n[listen]\nheader_read_timeout = \"500ms\"\n"
    ))
    .await
}

#[tokio::test]
async fn request_head_trickled_slower_than_header_read_timeout_is_cut_off() {
    let upstream = start_upstream().await;
    let shim = shim_with_header_timeout(&upstream.url()).await;
    let mut io = connect_io(shim.addr, None).await;
    io.write_all(b"GET /v1/bdbs HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let (mut reader, mut writer) = tokio::io::split(io);
    // One header byte every 100 ms: the head would take far longer than 500 ms to complete.
    let trickle = tokio::spawn(async move {
        for _ in 0..50 {
            if writer.write_all(b"X").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "slow client still connected after 3 s");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "cut off only after {took:?}");
    assert_eq!(upstream.requests(), 0);
    trickle.abort();
}

/// A client that connects (and, on TLS, completes the handshake) but never sends a request.
#[tokio::test]
async fn silent_connection_is_closed_after_header_read_timeout() {
    let ca = TestCa::new();
    let upstream = start_upstream().await;
    let plain = shim_with_header_timeout(&upstream.url()).await;
    let tls = Shim::from_toml(&format!(
        "[upstream]\nurl = \"{}\"\n[listen]\nheader_read_timeout = \"500ms\"\ntls_cert = {}\ntls_key = {}\n",
        upstream.url(),
        toml_path(&ca.cert_file),
        toml_path(&ca.key_file)
    ))
    .await;
    for (addr, client_tls) in [
        (plain.addr, None),
        (
            tls.addr,
            Some(ca.client_config(&[b"h2", b"http/1.1"], MODERN)),
        ),
    ] {
        let mut io = connect_io(addr, client_tls.clone()).await;
        let started = Instant::now();
        let closed = wire::read_until_closed(&mut io, Duration::from_secs(3)).await;
        let tls = client_tls.is_some();
        assert!(
            closed.is_some(),
            "tls={tls}: a silent client keeps its connection"
        );
        assert!(started.elapsed() < Duration::from_secs(2), "tls={tls}");
    }
}

/// A keep-alive connection that got its reply and then sends nothing is closed one
/// `header_read_timeout` later (the listener's sweep: up to one sweep late, never early), and
/// not while its request was still being answered.
#[tokio::test]
async fn idle_keep_alive_connection_is_closed_after_header_read_timeout_and_not_before() {
    let upstream = start_upstream().await;
    let shim = shim_with_header_timeout(&upstream.url()).await;
    let mut io = connect_io(shim.addr, None).await;
    io.write_all(b"GET /v1/bdbs HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let mut reply = [0u8; 4096];
    let n = io.read(&mut reply).await.expect("reply");
    assert!(
        reply[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&reply[..n])
    );
    let idle_from = Instant::now();
    // Well inside the timeout the connection still serves a second request.
    tokio::time::sleep(Duration::from_millis(250)).await;
    io.write_all(b"GET /v1/bdbs HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send again");
    let n = io.read(&mut reply).await.expect("second reply");
    assert!(reply[..n].starts_with(b"HTTP/1.1 200"));
    let idle_from_second = Instant::now();
    let closed = wire::read_until_closed(&mut io, Duration::from_secs(3)).await;
    assert!(closed.is_some(), "an idle keep-alive connection stays open");
    let idle = idle_from_second.elapsed();
    assert!(
        idle >= Duration::from_millis(500),
        "closed early, after {idle:?}"
    );
    // 500 ms plus at most one sweep (125 ms here), with room for a loaded machine.
    assert!(
        idle < Duration::from_millis(1500),
        "closed late, after {idle:?}"
    );
    assert!(idle_from.elapsed() >= Duration::from_millis(750));
}

/// HTTP/2 has no header timer of its own: a connection that sends the preface and settings but
/// never opens a stream must not hold a slot.
#[tokio::test]
async fn http2_connection_without_a_request_is_closed_after_header_read_timeout() {
    let upstream = start_upstream().await;
    let shim = shim_with_header_timeout(&upstream.url()).await;
    let mut io = connect_io(shim.addr, None).await;
    io.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .expect("preface");
    io.write_all(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0]) // empty SETTINGS frame
        .await
        .expect("settings");
    let started = Instant::now();
    let got = wire::read_until_closed(&mut io, Duration::from_secs(3))
        .await
        .expect("HTTP/2 connection without a request still open after 3 s");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The server spoke HTTP/2 (its SETTINGS frame, type 0x4) before closing.
    assert!(got.len() >= 9 && got[3] == 0x4, "{got:02x?}");
}

#[tokio::test]
async fn third_connection_waits_while_max_connections_2_are_open() {
    let upstream = start_upstream().await;
    let shim = Shim::from_toml(&format!(
        "[upstream]\nurl = \"{}\"\n[listen]\nmax_connections = 2\n",
        upstream.url()
    ))
    .await;
    let get = |client: &Client| {
        client
            .request(Method::GET, "/v1/bdbs")
            .body(bodies::empty())
            .expect("request")
    };
    let mut first = Client::connect(shim.addr, Proto::Http1, None).await;
    let mut second = Client::connect(shim.addr, Proto::Http1, None).await;
    let req = get(&first);
    assert_eq!(first.send(req).await.status, StatusCode::OK);
    let req = get(&second);
    assert_eq!(second.send(req).await.status, StatusCode::OK);

    // The kernel completes the third handshake (backlog), but the shim does not serve it.
    let mut third = connect_io(shim.addr, None).await;
    let request = format!("GET /v1/bdbs HTTP/1.1\r\nHost: {}\r\n\r\n", shim.addr);
    third.write_all(request.as_bytes()).await.expect("write");
    let waited =
        tokio::time::timeout(Duration::from_millis(700), wire::read_reply(&mut third)).await;
    assert!(
        waited.is_err(),
        "third connection served while two were open"
    );
    assert_eq!(upstream.requests(), 2);

    drop(first);
    let reply = tokio::time::timeout(Duration::from_secs(5), wire::read_reply(&mut third))
        .await
        .expect("third connection still waiting after one closed");
    assert_eq!(reply.status, 200);
    assert_eq!(upstream.requests(), 3);
    drop(second);
}
