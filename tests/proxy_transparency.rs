//! The shim is invisible on pass-through routes: every request is sent both straight to a test
//! upstream and through the shim, over HTTP/1.1 and HTTP/2, plain and TLS, and the same
//! assertions must hold on all eight routes. The few differences a proxy must make (hop-by-hop
//! headers, X-Forwarded-*, Host, its own 502/504) are asserted in `proxy_forwarding.rs`; the
//! one the shim makes to the target (its path normalised, issue 20 item 8) is asserted here
//! and in `target_normalisation.rs`.

mod support;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use support::bodies::{self, channel_body, CHUNK};
use support::client::{connect_io, echoed_header, Client, Io, Proto};
use support::harness::Shim;
use support::shim::toml_path;
use support::tls::{TestCa, MODERN};
use support::upstream::{start_upstream, start_upstream_tls, Upstream};
use support::wire;
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Direct,
    Shim,
}

/// One way to reach the upstream.
#[derive(Debug, Clone, Copy)]
struct Route {
    via: Via,
    proto: Proto,
    tls: bool,
}

fn routes() -> Vec<Route> {
    let mut all = Vec::new();
    for via in [Via::Direct, Via::Shim] {
        for proto in [Proto::Http1, Proto::Http2] {
            for tls in [false, true] {
                all.push(Route { via, proto, tls });
            }
        }
    }
    all
}

/// Two upstreams (plain, TLS) and two shims: plain downstream → plain upstream, and TLS
/// downstream → TLS upstream trusted through `upstream.ca_file`.
struct Fixture {
    ca: TestCa,
    plain_upstream: Upstream,
    tls_upstream: Upstream,
    plain_shim: Shim,
    tls_shim: Shim,
}

impl Fixture {
    async fn new() -> Fixture {
        let ca = TestCa::new();
        let plain_upstream = start_upstream().await;
        let tls_upstream = start_upstream_tls(ca.server_config()).await;
        let plain_shim = Shim::for_upstream(&plain_upstream.url()).await;
        let tls_shim = Shim::from_toml(&format!(
            "[upstream]\nurl = \"{}\"\nca_file = {}\n[listen]\ntls_cert = {}\ntls_key = {}\n",
            tls_upstream.url(),
            toml_path(&ca.ca_file),
            toml_path(&ca.cert_file),
            toml_path(&ca.key_file),
        ))
        .await;
        Fixture {
            ca,
            plain_upstream,
            tls_upstream,
            plain_shim,
            tls_shim,
        }
    }

    /// Where the client connects on `route`, and which upstream answers in the end.
    fn target(&self, route: Route) -> (SocketAddr, &Upstream) {
        let upstream = if route.tls {
            &self.tls_upstream
        } else {
            &self.plain_upstream
        };
        let addr = match (route.via, route.tls) {
            (Via::Direct, _) => upstream.addr,
            (Via::Shim, false) => self.plain_shim.addr,
            (Via::Shim, true) => self.tls_shim.addr,
        };
        (addr, upstream)
    }

    async fn client(&self, route: Route) -> Client {
        let (addr, _) = self.target(route);
        let ca = route.tls.then_some(&self.ca);
        Client::connect(addr, route.proto, ca).await
    }

    /// What every echo must show on `route` besides the request itself: the right upstream
    /// answered; on the shim route Host is the upstream's authority and X-Forwarded-* describe
    /// the client's hop; straight to the upstream none of that is added.
    fn assert_hop(&self, route: Route, echo: &Value) {
        let (addr, upstream) = self.target(route);
        assert_eq!(echo["server"], upstream.name(), "{route:?}");
        match route.via {
            Via::Direct => {
                assert_eq!(echo["host"], addr.to_string(), "{route:?}");
                assert!(
                    echoed_header(echo, "x-forwarded-for").is_empty(),
                    "{route:?}"
                );
            }
            Via::Shim => {
                assert_eq!(echo["host"], upstream.addr.to_string(), "{route:?}");
                assert_eq!(
                    echoed_header(echo, "x-forwarded-for"),
                    ["127.0.0.1"],
                    "{route:?}"
                );
                let proto = if route.tls { "https" } else { "http" };
                assert_eq!(
                    echoed_header(echo, "x-forwarded-proto"),
                    [proto],
                    "{route:?}"
                );
                assert_eq!(
                    echoed_header(echo, "x-forwarded-host"),
                    [addr.to_string()],
                    "{route:?}"
                );
            }
        }
    }
}

const JSON_BODY: &str = r#"{"name":"db1","memory_size":1073741824}"#;

#[tokio::test]
async fn every_method_arrives_unchanged_on_every_route() {
    let f = Fixture::new().await;
    for route in routes() {
        let mut client = f.client(route).await;
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            let with_body = matches!(method, Method::POST | Method::PUT | Method::PATCH);
            let body = if with_body { JSON_BODY } else { "" };
            let req = client
                .request(method.clone(), "/v1/bdbs/1")
                .header("content-type", "application/json")
                .body(bodies::full(body))
                .expect("request");
            let at = format!("{route:?} {method}");
            let answer = client.send(req).await;
            assert_eq!(answer.status, StatusCode::OK, "{at}");
            assert_eq!(
                answer.header("x-echo-method"),
                Some(method.as_str()),
                "{at}"
            );
            let expected_version = match route.proto {
                Proto::Http1 => http::Version::HTTP_11,
                Proto::Http2 => http::Version::HTTP_2,
            };
            assert_eq!(answer.version, expected_version, "{at}");
            if method == Method::HEAD {
                assert!(answer.body.is_empty(), "{at}: HEAD reply has a body");
                let len: usize = answer
                    .header("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or_else(|| panic!("{at}: HEAD reply without content-length"));
                assert!(len > 0, "{at}");
                continue;
            }
            let echo = answer.json();
            assert_eq!(echo["method"], method.as_str(), "{at}");
            assert_eq!(echo["target"], "/v1/bdbs/1", "{at}");
            assert_eq!(echo["body"], body, "{at}");
            assert_eq!(echo["body_len"], body.len(), "{at}");
            assert_eq!(
                echoed_header(&echo, "content-type"),
                ["application/json"],
                "{at}"
            );
            f.assert_hop(route, &echo);
        }
    }
}

/// The query and every escape that is not an unreserved character arrive byte for byte; the
/// path arrives in its normal form through the shim (issue 20 item 8: `//` and dot segments
/// resolved, `%7E` and `%2e` decoded), as the cluster must read the path the shim matched.
#[tokio::test]
async fn percent_encoded_paths_and_repeated_query_keys_are_byte_exact_once_normalised() {
    let f = Fixture::new().await;
    let targets = [
        ("/v1/bdbs/a%2Fb%20c", None),
        ("/v1/bdbs?fields=a&fields=b", None),
        (
            "/v1/bdbs/a%2Fb%20c?fields=a&fields=b&q=%2F%3F%26&empty=&flag",
            None,
        ),
        (
            "/v1/users/%7Eop%2e/x;y=1?name=%C3%A9t%C3%A9&name=%c3%a9",
            Some("/v1/users/~op./x;y=1?name=%C3%A9t%C3%A9&name=%c3%a9"),
        ),
        (
            "/v1//double//slashes/./dot/../seg",
            Some("/v1/double/slashes/seg"),
        ),
    ];
    for route in routes() {
        let mut client = f.client(route).await;
        for (target, normal) in targets {
            let req = client
                .request(Method::GET, target)
                .body(bodies::empty())
                .expect("request");
            let echo = client.send(req).await.json();
            let expected = match route.via {
                Via::Shim => normal.unwrap_or(target),
                Via::Direct => target,
            };
            assert_eq!(echo["target"], expected, "{route:?}");
            f.assert_hop(route, &echo);
        }
    }
}

#[tokio::test]
async fn repeated_request_headers_arrive_in_order() {
    let f = Fixture::new().await;
    for route in routes() {
        let mut client = f.client(route).await;
        let req = client
            .request(Method::GET, "/v1/bdbs")
            .header("x-multi", "3")
            .header("x-multi", "1")
            .header("x-multi", "2")
            .header("accept", "application/json")
            .header("accept", "text/plain;q=0.5")
            .header(
                "authorization",
                support::basic("admin@example.com", "s3cret"),
            )
            .header("cookie", "a=1")
            .header("x-empty", "")
            .body(bodies::empty())
            .expect("request");
        let echo = client.send(req).await.json();
        assert_eq!(
            echoed_header(&echo, "x-multi"),
            ["3", "1", "2"],
            "{route:?}"
        );
        assert_eq!(
            echoed_header(&echo, "accept"),
            ["application/json", "text/plain;q=0.5"],
            "{route:?}"
        );
        assert_eq!(
            echoed_header(&echo, "authorization"),
            [support::basic("admin@example.com", "s3cret")],
            "{route:?}"
        );
        assert_eq!(echoed_header(&echo, "x-empty"), [""], "{route:?}");
        f.assert_hop(route, &echo);
    }
}

#[tokio::test]
async fn status_replies_pass_with_their_headers_and_bodies() {
    let f = Fixture::new().await;
    for route in routes() {
        let mut client = f.client(route).await;
        for status in [200u16, 204, 304, 404, 500] {
            let req = client
                .request(Method::GET, &format!("/reply/{status}"))
                .body(bodies::empty())
                .expect("request");
            let answer = client.send(req).await;
            let at = format!("{route:?} {status}");
            assert_eq!(answer.status.as_u16(), status, "{at}");
            assert_eq!(answer.header_all("x-reply"), ["one", "two"], "{at}");
            assert_eq!(answer.header("etag"), Some("\"v1\""), "{at}");
            assert_eq!(answer.header("cache-control"), Some("no-store"), "{at}");
            let expected = match status {
                204 | 304 => String::new(),
                _ => format!("reply {status}"),
            };
            assert_eq!(answer.body, expected.as_bytes(), "{at}");
        }
    }
}

#[tokio::test]
async fn chunked_upload_arrives_whole_without_content_length() {
    let f = Fixture::new().await;
    let parts = ["{\"first\":", "\"frame\",", "\"last\":true}"];
    for route in routes() {
        let mut client = f.client(route).await;
        let (tx, body) = channel_body();
        let req = client
            .request(Method::POST, "/v1/bdbs")
            .header("content-type", "application/json")
            .body(body)
            .expect("request");
        let sending = tokio::spawn(async move {
            for part in parts {
                tx.send(Bytes::from(part)).await.expect("send frame");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let echo = client.send(req).await.json();
        sending.await.expect("sender");
        assert_eq!(echo["body"], parts.concat(), "{route:?}");
        assert!(
            echoed_header(&echo, "content-length").is_empty(),
            "{route:?}"
        );
        if echo["version"] == "HTTP/1.1" {
            assert_eq!(
                echoed_header(&echo, "transfer-encoding"),
                ["chunked"],
                "{route:?}"
            );
        }
        f.assert_hop(route, &echo);
    }
}

/// Each frame must reach the upstream before the client sends the next: a proxy that buffered
/// the body would never let the first one through.
#[tokio::test]
async fn request_body_streams_frame_by_frame() {
    let f = Fixture::new().await;
    for route in routes() {
        let (_, upstream) = f.target(route);
        let mut client = f.client(route).await;
        let (tx, body) = channel_body();
        let req = client
            .request(Method::PUT, "/v1/upload")
            .body(body)
            .expect("request");
        let base = upstream.received();
        let reply = tokio::spawn(async move { client.send(req).await });
        for i in 0..4u64 {
            tx.send(Bytes::from(vec![b'a' + i as u8; CHUNK]))
                .await
                .expect("send frame");
            let arrived = base + (i + 1) * CHUNK as u64;
            tokio::time::timeout(Duration::from_secs(5), upstream.wait_received(arrived))
                .await
                .unwrap_or_else(|_| panic!("{route:?}: frame {i} held back by the proxy"));
        }
        drop(tx);
        let echo = reply.await.expect("reply task").json();
        assert_eq!(echo["body_len"], 4 * CHUNK, "{route:?}");
    }
}

/// Each reply frame must reach the client before the upstream produces the next.
#[tokio::test]
async fn reply_body_streams_frame_by_frame() {
    let f = Fixture::new().await;
    for route in routes() {
        let (_, upstream) = f.target(route);
        let mut client = f.client(route).await;
        upstream.release(1);
        let req = client
            .request(Method::GET, "/gated-download/4")
            .body(bodies::empty())
            .expect("request");
        let mut body = client.send_streaming(req).await.into_body();
        let mut got = Vec::new();
        for frame in 0..4 {
            let want = (frame + 1) * CHUNK;
            while got.len() < want {
                let next = tokio::time::timeout(Duration::from_secs(5), body.frame())
                    .await
                    .unwrap_or_else(|_| panic!("{route:?}: reply frame {frame} held back"));
                let next = next.expect("body ended early").expect("body error");
                got.extend_from_slice(next.data_ref().map_or(&[][..], |d| &d[..]));
            }
            if frame < 3 {
                upstream.release(1);
            }
        }
        while let Some(rest) = body.frame().await {
            let rest = rest.expect("body error");
            let extra = rest.data_ref().map_or(0, |d| d.len());
            assert_eq!(extra, 0, "{route:?}: data after the last frame");
        }
        let expected: Vec<u8> = (0..4u8).flat_map(|i| vec![i; CHUNK]).collect();
        assert!(got == expected, "{route:?}: reply bytes differ");
    }
}

#[tokio::test]
async fn expect_100_continue_gets_interim_reply_before_body_is_sent() {
    let f = Fixture::new().await;
    for route in routes() {
        let (addr, _) = f.target(route);
        let echo = match route.proto {
            Proto::Http1 => {
                let tls = route
                    .tls
                    .then(|| f.ca.client_config(&[b"http/1.1"], MODERN));
                let mut io: Box<dyn Io> = connect_io(addr, tls).await;
                let head = format!(
                    "POST /v1/bdbs HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n"
                );
                io.write_all(head.as_bytes()).await.expect("write head");
                let interim =
                    tokio::time::timeout(Duration::from_secs(5), wire::read_head(&mut io))
                        .await
                        .unwrap_or_else(|_| panic!("{route:?}: no 100 Continue"));
                assert!(
                    interim.starts_with("HTTP/1.1 100 Continue\r\n"),
                    "{route:?}: {interim:?}"
                );
                let reply = wire::exchange_on(&mut io, "hello world").await;
                assert_eq!(reply.status, 200, "{route:?}");
                reply.json()
            }
            // An HTTP/2 client library does not wait for the interim reply; what matters is that
            // the header and the body both arrive.
            Proto::Http2 => {
                let mut client = f.client(route).await;
                let req = client
                    .request(Method::POST, "/v1/bdbs")
                    .header("expect", "100-continue")
                    .body(bodies::full("hello world"))
                    .expect("request");
                client.send(req).await.json()
            }
        };
        assert_eq!(echo["body"], "hello world", "{route:?}");
        f.assert_hop(route, &echo);
    }
}
