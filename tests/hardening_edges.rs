//! Issue 11, the edges of the request path, through the real binary with raw sockets: a broken
//! request body is the client's fault, an HTTP/1.1 request needs exactly one valid `Host`
//! (RFC 9112 §3.2), and userinfo in an absolute-form target never travels upstream.

mod support;

use std::time::Duration;
use support::client::echoed_header;
use support::raw::RawReply;
use support::shim::{spawn_shim_logging, ShimProcess};
use support::upstream::start_upstream;
use support::wire::{exchange, parse_replies, request, Framing, Wire};

/// The binary with `args`, logging at `debug` (so client faults are visible too).
async fn shim_binary(args: &[&str]) -> ShimProcess {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        spawn_shim_logging(&args, "debug")
    })
    .await
    .expect("spawn shim")
}

/// Sends `bytes` on a new connection, expects exactly one reply and returns it.
async fn one_reply(shim: &ShimProcess, bytes: impl Into<Vec<u8>>) -> RawReply {
    let (bytes, _) = exchange(shim.addr, &Wire::Bytes(bytes.into())).await;
    let mut replies = parse_replies(&bytes);
    assert_eq!(
        replies.len(),
        1,
        "{:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(800)])
    );
    replies.remove(0)
}

/// Asserts an RS-shaped 400 `invalid_request` whose text contains `words`.
fn assert_invalid_request(reply: &RawReply, words: &str) {
    assert_eq!(reply.status(), 400, "{}", reply.head);
    let body = reply.json();
    assert_eq!(body["error_code"], "invalid_request", "{body}");
    assert_eq!(body["message"], body["description"], "{body}");
    let text = body["message"].as_str().unwrap_or_default();
    assert!(text.contains(words), "{body}");
}

#[tokio::test]
async fn a_malformed_chunked_body_on_pass_through_is_400_blamed_on_the_client() {
    let upstream = start_upstream().await;
    let mut shim = shim_binary(&["--upstream", &upstream.url()]).await;
    let req = request("POST", "/v1/bdbs/1/anything", "").framing(Framing::Chunked);
    let reply = one_reply(&shim, req.then(b"5\r\nhello\r\nzz\r\nbroken\r\n")).await;
    assert_invalid_request(&reply, "chunk");

    // Blamed on the client: the access record says 400, the refusal is logged at DEBUG, and
    // nothing is logged as an upstream failure.
    let access = "path=\"/v1/bdbs/1/anything\" status=400";
    let logged = shim.wait_for_log(access, Duration::from_secs(10));
    let log = shim.stderr();
    assert!(logged.is_ok(), "no access record with {access}:\n{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("DEBUG") && l.contains("request refused")),
        "{log}"
    );
    assert!(!log.contains("upstream failure"), "{log}");
    assert!(!log.contains("WARN"), "{log}");
}

#[tokio::test]
async fn http11_without_exactly_one_valid_host_is_400_and_reaches_nothing() {
    let upstream = start_upstream().await;
    let shim = shim_binary(&["--upstream", &upstream.url()]).await;
    let cases = [
        ("no Host", "GET /v1/bdbs HTTP/1.1\r\nConnection: close\r\n\r\n", "must carry a Host"),
        (
            "no Host, the old route",
            "POST /v1/modules/upgrade/bdb/1 HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
            "must carry a Host",
        ),
        (
            "no Host, absolute form",
            "GET http://c.example/v1/bdbs HTTP/1.1\r\nConnection: close\r\n\r\n",
            "must carry a Host",
        ),
        (
            "two Hosts",
            "GET /v1/bdbs HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n",
            "only one Host",
        ),
        (
            "userinfo in Host",
            "GET /v1/bdbs HTTP/1.1\r\nHost: admin:pw@c.example\r\nConnection: close\r\n\r\n",
            "without userinfo",
        ),
        (
            "a port that is not a number",
            "GET /v1/bdbs HTTP/1.1\r\nHost: c.example:https\r\nConnection: close\r\n\r\n",
            "host[:port]",
        ),
    ];
    for (name, bytes, words) in cases {
        let reply = one_reply(&shim, bytes).await;
        assert_eq!(reply.status(), 400, "{name}: {}", reply.head);
        assert_invalid_request(&reply, words);
        assert!(
            reply.header("deprecation").is_none(),
            "{name}: {}",
            reply.head
        );
    }
    assert_eq!(
        upstream.requests(),
        0,
        "a refused request reached the cluster"
    );

    // HTTP/1.0 may omit Host (RFC 9112 §3.2 binds HTTP/1.1), and an empty Host is valid.
    let reply = one_reply(&shim, "GET /v1/bdbs HTTP/1.0\r\n\r\n").await;
    assert_eq!(reply.status(), 200, "{}", reply.head);
    let reply = one_reply(
        &shim,
        "GET /v1/bdbs HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.head);
}

#[tokio::test]
async fn userinfo_in_an_absolute_form_target_never_reaches_the_cluster() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("shim.toml");
    // preserve_host: the Host sent upstream is the one the client addressed, so both Host and
    // X-Forwarded-Host are built from the target.
    std::fs::write(
        &cfg,
        format!(
            "[upstream]\nurl = \"{}\"\n[forwarding]\npreserve_host = true\n",
            upstream.url()
        ),
    )
    .expect("write config");
    let cfg = cfg.display().to_string();
    let shim = shim_binary(&["--config", &cfg]).await;
    // HTTP/1.0 without Host: the authority comes from the target alone.
    let reply = one_reply(
        &shim,
        "GET http://admin:pw@c.example:9443/v1/bdbs?x=1 HTTP/1.0\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.head);
    let echo = reply.json();
    assert_eq!(echo["target"], "/v1/bdbs?x=1", "{echo}");
    assert_eq!(echoed_header(&echo, "x-forwarded-host"), ["c.example:9443"]);
    assert_eq!(echoed_header(&echo, "host"), ["c.example:9443"]);
    // HTTP/1.1 with Host: the target's userinfo goes nowhere either.
    let reply = one_reply(
        &shim,
        "GET http://admin:pw@c.example/v1/bdbs HTTP/1.1\r\nHost: c.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.head);
    for echo in [echo, reply.json()] {
        let text = echo["headers"].to_string();
        assert!(!text.contains("admin"), "userinfo went upstream: {text}");
        assert!(!text.contains("pw@"), "userinfo went upstream: {text}");
    }
}
