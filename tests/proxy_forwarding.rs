//! What a proxy must change, and nothing more: hop-by-hop headers are dropped both ways
//! (RFC 9110 §7.6.1), X-Forwarded-* are set as configured, Host goes to the upstream authority
//! unless preserved, absolute-form targets never leave for the host they name, and the shim's
//! own failures (502, 504) come in the cluster's error shape. HTTP/1.1 over plain TCP, written
//! raw where a client library would tidy the request up.

mod support;

use http::Method;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::bodies;
use support::client::{connect_io, echoed_header, Client, Proto};
use support::harness::Shim;
use support::upstream::{refused_addr, start_silent_upstream, start_upstream};
use support::wire;
use support::Reply;

async fn raw_to(addr: SocketAddr, request: &str) -> Reply {
    let mut io = connect_io(addr, None).await;
    wire::exchange_on(&mut io, request).await
}

#[tokio::test]
async fn hop_by_hop_request_headers_do_not_reach_the_upstream() {
    let upstream = start_upstream().await;
    let shim = Shim::for_upstream(&upstream.url()).await;
    let request = format!(
        "GET /v1/bdbs HTTP/1.1\r\nHost: {}\r\nConnection: keep-alive, X-Drop-Me\r\nX-Drop-Me: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: websocket\r\nProxy-Authorization: Basic cHJveHk6cHc=\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\n\r\n",
        shim.addr
    );
    let echo = raw_to(shim.addr, &request).await.json();
    for gone in [
        "connection",
        "x-drop-me",
        "keep-alive",
        "te",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
    ] {
        assert!(
            echoed_header(&echo, gone).is_empty(),
            "{gone} reached the upstream: {echo}"
        );
    }
    assert_eq!(echoed_header(&echo, "x-kept"), ["yes"]);
}

#[tokio::test]
async fn hop_by_hop_reply_headers_do_not_reach_the_client() {
    let upstream = start_upstream().await;
    let shim = Shim::for_upstream(&upstream.url()).await;
    let direct = raw_to(
        upstream.addr,
        &format!("GET /reply-hop HTTP/1.1\r\nHost: {}\r\n\r\n", upstream.addr),
    )
    .await;
    assert_eq!(direct.header("x-resp-drop"), Some("1"));
    let proxied = raw_to(
        shim.addr,
        &format!("GET /reply-hop HTTP/1.1\r\nHost: {}\r\n\r\n", shim.addr),
    )
    .await;
    assert_eq!(proxied.status, 200);
    assert_eq!(proxied.header("x-resp-drop"), None, "{}", proxied.head());
    assert_eq!(proxied.header("keep-alive"), None, "{}", proxied.head());
    assert_eq!(proxied.header("x-resp-kept"), Some("1"));
    assert_eq!(&proxied.body[..], b"hop");
}

#[tokio::test]
async fn forwarded_for_appends_the_client_to_an_existing_chain() {
    let upstream = start_upstream().await;
    let shim = Shim::for_upstream(&upstream.url()).await;
    let request = format!(
        "GET /v1/bdbs HTTP/1.1\r\nHost: {}\r\nX-Forwarded-For: 198.51.100.7\r\nX-Forwarded-Proto: https\r\n\r\n",
        shim.addr
    );
    let echo = raw_to(shim.addr, &request).await.json();
    assert_eq!(
        echoed_header(&echo, "x-forwarded-for"),
        ["198.51.100.7, 127.0.0.1"]
    );
    // This hop was plain HTTP whatever an earlier hop claimed.
    assert_eq!(echoed_header(&echo, "x-forwarded-proto"), ["http"]);
    assert_eq!(
        echoed_header(&echo, "x-forwarded-host"),
        [shim.addr.to_string()]
    );
}

#[tokio::test]
async fn forwarding_headers_are_not_added_when_switched_off() {
    let upstream = start_upstream().await;
    let shim = Shim::from_toml(&format!(
        "[upstream]\nurl = \"{}\"\n[forwarding]\nx_forwarded_for = false\nx_forwarded_proto = false\nx_forwarded_host = false\n",
        upstream.url()
    ))
    .await;
    let mut client = Client::connect(shim.addr, Proto::Http1, None).await;
    let req = client
        .request(Method::GET, "/v1/bdbs")
        .body(bodies::empty())
        .expect("request");
    let echo = client.send(req).await.json();
    for name in ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"] {
        assert!(echoed_header(&echo, name).is_empty(), "{name}: {echo}");
    }
}

#[tokio::test]
async fn host_becomes_the_upstream_authority_by_default() {
    let upstream = start_upstream().await;
    let shim = Shim::for_upstream(&upstream.url()).await;
    let reply = raw_to(
        shim.addr,
        "GET /v1/bdbs HTTP/1.1\r\nHost: shim.example:9443\r\n\r\n",
    )
    .await;
    let echo = reply.json();
    assert_eq!(echoed_header(&echo, "host"), [upstream.addr.to_string()]);
    assert_eq!(
        echoed_header(&echo, "x-forwarded-host"),
        ["shim.example:9443"]
    );
}

#[tokio::test]
async fn host_is_kept_when_preserve_host_is_set() {
    let upstream = start_upstream().await;
    let shim = Shim::from_toml(&format!(
        "[upstream]\nurl = \"{}\"\n[forwarding]\npreserve_host = true\n",
        upstream.url()
    ))
    .await;
    let reply = raw_to(
        shim.addr,
        "GET /v1/bdbs HTTP/1.1\r\nHost: shim.example:9443\r\n\r\n",
    )
    .await;
    let echo = reply.json();
    assert_eq!(echo["server"], upstream.name());
    assert_eq!(echoed_header(&echo, "host"), ["shim.example:9443"]);
}

/// `GET http://evil.example/x` is a forward-proxy request; the shim must send it to its
/// configured upstream (path and query only), never to the host it names.
#[tokio::test]
async fn absolute_form_request_goes_to_the_configured_upstream_only() {
    let upstream = start_upstream().await;
    let shim = Shim::for_upstream(&upstream.url()).await;
    let reply = raw_to(
        shim.addr,
        "GET http://evil.example/x?y=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.head());
    let echo = reply.json();
    assert_eq!(echo["server"], upstream.name());
    assert_eq!(echo["target"], "/x?y=1");
    assert_eq!(echoed_header(&echo, "host"), [upstream.addr.to_string()]);
    assert_eq!(upstream.requests(), 1);
}

fn assert_error_shape(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.head());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["error_code"], code, "{body}");
    let description = body["description"].as_str().expect("description");
    assert!(!description.is_empty(), "{body}");
    assert_eq!(body["message"], description, "{body}");
}

#[tokio::test]
async fn refused_upstream_connection_is_502_upstream_unavailable() {
    let shim = Shim::for_upstream(&format!("http://{}", refused_addr())).await;
    let reply = raw_to(
        shim.addr,
        &format!("GET /v1/bdbs HTTP/1.1\r\nHost: {}\r\n\r\n", shim.addr),
    )
    .await;
    assert_error_shape(&reply, 502, "upstream_unavailable");
}

#[tokio::test]
async fn silent_upstream_is_504_upstream_timeout_after_request_timeout() {
    let silent = start_silent_upstream().await;
    let shim = Shim::from_toml(&format!(
        "[upstream]\nurl = \"{}\"\nrequest_timeout = \"300ms\"\n",
        silent.url()
    ))
    .await;
    let started = Instant::now();
    let reply = raw_to(
        shim.addr,
        &format!("GET /v1/bdbs HTTP/1.1\r\nHost: {}\r\n\r\n", shim.addr),
    )
    .await;
    let took = started.elapsed();
    assert_error_shape(&reply, 504, "upstream_timeout");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "answered after {took:?}"
    );
}
