//! The upstream fault matrix: what the shim answers when the cluster misbehaves, on pass-through
//! and on the deprecated route, each bounded in time (a hang fails the test). The cluster is the
//! simulator (8.0) with its fault switches, or a misbehaving front ([`support::faulty`]) for what
//! a well-behaved HTTP server cannot do: reset a reply half-way, or never answer. Every
//! deprecated call must leave exactly one audit record, with the status and code it answered.
//! The cluster's bad replies (invalid JSON, 5xx, action outcomes) are in
//! `upstream_faults_replies.rs`; the rig is `support::fault_rig`.
//!
//! | fault | pass-through | deprecated route |
//! |---|---|---|
//! | connection refused | 502 `upstream_unavailable` | 502 `upstream_unavailable` |
//! | reset mid-head (any look-up) | 502 `upstream_unavailable` | 502 `upstream_unavailable` |
//! | reset of the upgrade POST (mid-head or mid-body) | — | the POST is not retried; the database's actions are looked up; none started: 502 `upstream_outcome_unknown`, audited `unknown` |
//! | reset mid-body, Content-Length reply | the head is relayed, then the connection is cut short of the announced length | 502 `upstream_unavailable` |
//! | reset mid-body, chunked reply | the head is relayed, then the connection is cut with no last chunk | — |
//! | reset of an action poll | — | retried; 200 when a later poll answers |
//! | no reply head (`upstream.request_timeout`) | 504 `upstream_timeout` | look-up: 504 `upstream_timeout`; POST (sent once): 502 `upstream_outcome_unknown`; action polls: retried, then 504 `upgrade_timeout` with `action_uid` |
//! | invalid JSON from `GET /v1/bdbs/{uid}`, `/v1/modules`, `/v1/nodes` | relayed as is | 502 `upstream_invalid_reply`, no upgrade sent |
//! | invalid JSON from the upgrade POST | — | 502 `upstream_invalid_reply` (the POST is not repeated) |
//! | invalid JSON from an action poll | — | retried until the deadline: 200 if a later poll is readable, else 504 `upgrade_timeout` with `action_uid` |
//! | 5xx from a look-up or the upgrade POST | relayed as is | the same status, the cluster's `error_code`, `message` = `description` |
//! | 5xx from an action poll | — | retried; 200 when a later poll answers |
//! | action failed | — | 500 with the action's `error_code` and `action_uid` |
//! | action 404 | — | falls back to polling the database; 200 |
//! | action never finishes | — | 504 `upgrade_timeout` with `action_uid` at `shim.wait_deadline` |
//! | no `action_uid` in the POST reply | — | polls the database; 200 |
//! | untrusted upstream certificate | 502 `upstream_unavailable` | 502 `upstream_unavailable`, nothing sent |
//! | upstream closes idle keep-alive connections | every sequential request succeeds (the pool reconnects) | every sequential call succeeds |
//! | upstream closes a pooled connection just as it is reused | 502 `upstream_unavailable` (a streamed request cannot be replayed) | succeeds: the shim's GETs are sent again (up to 3 tries), the upgrade POST always goes on a new connection |

mod support;

use http::Method;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::fault_rig::{audit_of, count, sim, upgraded, Rig, LIMIT};
use support::faulty::{start_faulty, Faulty, Misbehave};
use support::legacy::{admin, assert_rs_error, upgrade_posts};
use support::upstream::refused_addr;
use support::wire::read_until_closed;
use support::Reply;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn refused_connection_is_502_on_pass_through_and_the_deprecated_route() {
    let rig = Rig::new(refused_addr(), "").await;
    assert_rs_error(&rig.get("/v1/bdbs/1").await, 502, "upstream_unavailable");
    assert_rs_error(&rig.legacy().await, 502, "upstream_unavailable");
    assert_eq!(audit_of(&rig)[0]["outcome"], "upstream_error");
}

/// A reset before the reply head or body is complete, on each request the deprecated route
/// makes before the upgrade has started.
#[tokio::test]
async fn reset_mid_head_or_body_is_502_on_every_look_up_and_the_post_is_not_retried() {
    let (upstream, sim) = sim().await;
    let front = start_faulty(upstream).await;
    let rig = Rig::new(front.addr, "").await;
    let cases = [
        (Method::GET, "/v1/bdbs/1"),
        (Method::GET, "/v1/modules"),
        (Method::GET, "/v1/nodes"),
        (Method::POST, "/v1/bdbs/1/upgrade"),
    ];
    for (method, path) in cases {
        for act in [Misbehave::ResetMidHead, Misbehave::ResetMidBody] {
            front.on_times(method.clone(), path, act, 1);
            let before = front.seen();
            let reply = rig.legacy().await;
            // Issue 21: a POST written and unanswered may have been applied; no action shows
            // it started, so the outcome is unknown (never re-sent).
            let code = if method == Method::POST {
                "upstream_outcome_unknown"
            } else {
                "upstream_unavailable"
            };
            let body = assert_rs_error(&reply, 502, code);
            assert!(
                body["message"].as_str().unwrap_or("").contains("cluster"),
                "{body}"
            );
            let seen = front.seen();
            assert_eq!(
                count(&seen, &method, path) - count(&before, &method, path),
                1,
                "{method} {path} {act:?} sent once, never retried: {seen:?}"
            );
        }
    }
    assert!(
        upgrade_posts(&sim).is_empty(),
        "no upgrade reached the cluster"
    );
    // A pass-through read hit by the same resets.
    front.on_times(Method::GET, "/v1/bdbs/2", Misbehave::ResetMidHead, 1);
    assert_rs_error(&rig.get("/v1/bdbs/2").await, 502, "upstream_unavailable");
    assert_eq!(
        rig.get("/v1/bdbs/2").await.status,
        200,
        "the next one works"
    );
}

/// Reads everything until the shim closes the connection.
async fn read_to_close(addr: SocketAddr, request: String) -> Vec<u8> {
    let mut io = tokio::net::TcpStream::connect(addr).await.expect("connect");
    io.write_all(request.as_bytes()).await.expect("write");
    read_until_closed(&mut io, LIMIT)
        .await
        .unwrap_or_else(|| panic!("connection close: no answer within {LIMIT:?}"))
}

/// On pass-through the reply head has already left when the body breaks: the shim must cut the
/// connection so the client sees an incomplete body, never a complete-looking one.
#[tokio::test]
async fn reset_mid_body_on_pass_through_cuts_the_client_connection_short() {
    let (upstream, _sim) = sim().await;
    let front = start_faulty(upstream).await;
    let rig = Rig::new(front.addr, "").await;
    let request = format!(
        "GET /v1/bdbs/1 HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n",
        admin()
    );

    front.on_times(Method::GET, "/v1/bdbs/1", Misbehave::ResetMidBody, 1);
    let got = read_to_close(rig.shim, request.clone()).await;
    let text = String::from_utf8_lossy(&got);
    let (head, body) = text.split_once("\r\n\r\n").expect("a reply head");
    assert!(head.starts_with("HTTP/1.1 200"), "{text}");
    assert!(head.contains("content-length: 4096"), "{text}");
    assert_eq!(body, "{\"uid\": 1, \"na", "only what the cluster sent");

    front.on_times(Method::GET, "/v1/bdbs/1", Misbehave::ResetMidChunked, 1);
    let got = read_to_close(rig.shim, request).await;
    let text = String::from_utf8_lossy(&got);
    let (head, body) = text.split_once("\r\n\r\n").expect("a reply head");
    assert!(head.starts_with("HTTP/1.1 200"), "{text}");
    assert!(head.contains("transfer-encoding: chunked"), "{text}");
    assert!(body.contains("{\"uid\": 1"), "{text}");
    assert!(
        !body.contains("\r\n0\r\n\r\n"),
        "a broken reply must not end like a complete one: {text:?}"
    );
}

#[tokio::test]
async fn reset_of_an_action_poll_is_retried() {
    let (upstream, _sim) = sim().await;
    let front = start_faulty(upstream).await;
    let rig = Rig::new(front.addr, "").await;
    front.on_times(Method::GET, "/v1/actions/", Misbehave::ResetMidHead, 2);
    upgraded(&rig.legacy().await);
    assert!(count(&front.seen(), &Method::GET, "/v1/actions/") >= 3);
}

#[tokio::test]
async fn reply_head_that_never_comes_is_504_upstream_timeout() {
    let (upstream, sim) = sim().await;
    let front = start_faulty(upstream).await;
    let rig = Rig::new(
        front.addr,
        "[upstream]\nrequest_timeout = \"300ms\"\n[shim]\nwait_deadline = \"1s\"\n",
    )
    .await;

    front.on_times(Method::GET, "/v1/bdbs/2", Misbehave::Silent, 1);
    let started = Instant::now();
    assert_rs_error(&rig.get("/v1/bdbs/2").await, 504, "upstream_timeout");
    assert!(started.elapsed() < Duration::from_secs(3));

    for path in ["/v1/bdbs/1", "/v1/modules", "/v1/nodes"] {
        front.on_times(Method::GET, path, Misbehave::Silent, 1);
        assert_rs_error(&rig.legacy().await, 504, "upstream_timeout");
    }
    front.on_times(Method::POST, "/v1/bdbs/1/upgrade", Misbehave::Silent, 1);
    assert_rs_error(&rig.legacy().await, 502, "upstream_outcome_unknown");
    assert_eq!(
        count(&front.seen(), &Method::POST, "/v1/bdbs/1/upgrade"),
        1,
        "never retried"
    );
    assert!(upgrade_posts(&sim).is_empty());

    // Polls that never answer are retried until the deadline.
    front.on(Method::GET, "/v1/actions/", Misbehave::Silent);
    let started = Instant::now();
    let reply = rig.legacy().await;
    let body = assert_rs_error(&reply, 504, "upgrade_timeout");
    assert!(body["action_uid"].is_string(), "{body}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert!(count(&front.seen(), &Method::GET, "/v1/actions/") >= 2);
}

#[tokio::test]
async fn untrusted_upstream_certificate_is_502_and_nothing_is_sent() {
    let ca = support::tls::TestCa::new();
    let upstream = support::upstream::start_upstream_tls(ca.server_config()).await;
    let rig = Rig::new(
        upstream.addr,
        &format!("[upstream]\nurl = \"{}\"\n", upstream.url()),
    )
    .await;
    assert_rs_error(&rig.get("/v1/bdbs/1").await, 502, "upstream_unavailable");
    let body = assert_rs_error(&rig.legacy().await, 502, "upstream_unavailable");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("certificate"),
        "{body}"
    );
    assert_eq!(upstream.requests(), 0);
}

/// Sequential pass-through GETs, then deprecated calls, `gap` apart; returns the GET replies.
async fn pool_rounds(rig: &Rig, front: &Faulty, gap: Duration) -> Vec<Reply> {
    let before = front.connections();
    let mut gets = Vec::new();
    for _ in 0..10 {
        gets.push(rig.get("/v1/bdbs/1").await);
        tokio::time::sleep(gap).await;
    }
    for _ in 0..3 {
        let r = rig.legacy().await;
        if r.status != 200 {
            eprintln!(
                "DEBUG gap={gap:?} {:?} seen tail {:?}",
                r.body,
                &front.seen()[front.seen().len().saturating_sub(6)..]
            );
        }
        upgraded(&r);
        tokio::time::sleep(gap).await;
    }
    assert!(
        front.connections() - before >= 10,
        "the upstream really closed connections: {}",
        front.connections() - before
    );
    gets
}

/// Connections the cluster closed while idle in the pool are replaced. When it closes one at
/// the very moment the shim reuses it (HTTP/1.1 has no way to avoid that race), the shim's own
/// GETs are sent once more; a pass-through request cannot be replayed (its body is a stream)
/// and gets 502 `upstream_unavailable`.
#[tokio::test]
async fn pool_recovers_when_the_upstream_closes_idle_connections() {
    let (upstream, _sim) = sim().await;
    let front = start_faulty(upstream).await;
    let rig = Rig::new(front.addr, "").await;
    // Idle connections closed 30 ms after a reply; requests 100 ms apart.
    front.close_idle_after(Duration::from_millis(30));
    for reply in pool_rounds(&rig, &front, Duration::from_millis(100)).await {
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
    // Closed right after each reply, requests back to back: the race on every reuse.
    front.close_idle_after(Duration::ZERO);
    for reply in pool_rounds(&rig, &front, Duration::ZERO).await {
        if reply.status != 200 {
            assert_rs_error(&reply, 502, "upstream_unavailable");
        }
    }
}
