//! Issue 20, items 3 and 4: slow bodies cannot lock the shim, and timeouts mean what they say.
//!
//! Item 3, admission that slow bodies can't hold: a call whose rule reads its body whole takes
//! its place among `shim.max_concurrent_calls` only once the body has arrived; unverified calls
//! per client address are bounded (`shim.max_unverified_calls_per_ip`, 429), verified callers
//! never; the version look-up runs in two lanes, so junk callers queue behind each other and
//! never in front of a caller the cluster accepted.
//!
//! Item 4, timeouts: `upstream.request_timeout` counts from the end of the request body; an
//! upload is bounded by `listen.body_idle_timeout` (its silence), not by its total time; a
//! client that stops sending gets its own `408 request_timeout`, not the cluster's 504, on
//! pass-through and on the deprecated routes alike.

mod support;

use deprecation_shim::sim::SimVersion;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::audit_file::{records, AuditFile};
use support::harness::{audited, Shim, Sim};
use support::legacy::{admin, assert_rs_error, legacy_upgrade, old_route, DEMO_UPGRADE};
use support::wire::{exchange, parse_replies, request, Wire};
use support::{basic, get, within};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

async fn start(toml: &str) -> (Sim, AuditFile, Shim) {
    audited(SimVersion::V8_0, toml).await
}

/// A legacy module upgrade whose head and first 10 body bytes are sent, the rest never: the
/// connection is held open (returned) so that the call stays where it is.
async fn stalled_upgrade(addr: SocketAddr, authorization: Option<&str>) -> TcpStream {
    let mut req = request("POST", &old_route(1), DEMO_UPGRADE);
    req.headers
        .retain(|(k, _)| k != "Authorization" && k != "Connection");
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&req.then(&DEMO_UPGRADE.as_bytes()[..10]))
        .await
        .expect("write");
    s
}

#[tokio::test]
async fn slow_bodies_cannot_hold_the_places_of_calls_that_read_their_body_whole() {
    let (_sim, _audit, shim) = start(
        "[shim]\nmax_concurrent_calls = 2\nmax_unverified_calls_per_ip = 50\n\
         [listen]\nbody_idle_timeout = \"20s\"\n",
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..6 {
        held.push(stalled_upgrade(shim.addr, Some(&admin())).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Six bodies still arriving, two places: a whole call is served.
    let reply = within(
        Duration::from_secs(10),
        "upgrade",
        legacy_upgrade(shim.addr, &[("authorization", &admin())]),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    drop(held);
}

#[tokio::test]
async fn unverified_calls_per_address_are_bounded_and_a_verified_caller_is_never_held() {
    let (_sim, audit, shim) =
        start("[shim]\nmax_unverified_calls_per_ip = 3\n[listen]\nbody_idle_timeout = \"20s\"\n")
            .await;
    // The admin's first call: the cluster accepts its credentials.
    let first = legacy_upgrade(shim.addr, &[("authorization", &admin())]).await;
    assert_eq!(first.status, 200);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(stalled_upgrade(shim.addr, None).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let junk = basic("nobody@example.com", "wrong");
    let refused = legacy_upgrade(shim.addr, &[("authorization", &junk)]).await;
    assert_rs_error(&refused, 429, "too_many_unverified_calls");
    assert_eq!(refused.header("retry-after"), Some("2"));
    let served = legacy_upgrade(shim.addr, &[("authorization", &admin())]).await;
    assert_eq!(served.status, 200, "the verified admin is not held");
    drop(held);
    // The stalled calls end (their clients left): their places come back.
    let mut again = None;
    for _ in 0..50 {
        let r = legacy_upgrade(shim.addr, &[("authorization", &junk)]).await;
        if r.status != 429 {
            again = Some(r.status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        again,
        Some(http::StatusCode::UNAUTHORIZED),
        "the cluster answers the junk"
    );
    let recs = records(&audit);
    let refusals: Vec<_> = recs
        .iter()
        .filter(|r| r["error_code"] == "too_many_unverified_calls")
        .collect();
    assert!(!refusals.is_empty(), "refusals are audited");
    assert_eq!(refusals[0]["status"], 429);
}

#[tokio::test]
async fn junk_callers_queue_behind_each_other_not_in_front_of_a_verified_caller() {
    let (sim, _audit, shim) = start(
        "[shim]\nmax_unverified_calls_per_ip = 100\n[rules]\nversion_cache_ttl = \"300ms\"\n",
    )
    .await;
    let first = get(shim.addr, "/v1/debuginfo/all", &admin()).await;
    assert_eq!(
        first.status, 200,
        "the admin is accepted, the version learned"
    );
    sim.faults().set_latency(Duration::from_millis(100));
    tokio::time::sleep(Duration::from_millis(400)).await;
    sim.clear_requests();
    let addr = shim.addr;
    let junk: Vec<_> = (0..20)
        .map(|i| {
            let auth = basic(&format!("junk{i}@example.com"), "wrong");
            tokio::spawn(async move { get(addr, "/v1/debuginfo/all", &auth).await.status })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let admin_reply = get(shim.addr, "/v1/debuginfo/all", &admin()).await;
    assert_eq!(admin_reply.status, 200);
    for j in junk {
        assert_eq!(j.await.expect("junk call"), 401);
    }
    let lookups: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/bootstrap")
        .collect();
    let admin_at = lookups
        .iter()
        .position(|r| r.authorization.as_deref() == Some(admin().as_str()));
    let last_junk = lookups
        .iter()
        .rposition(|r| r.authorization.as_deref() != Some(admin().as_str()));
    // The junk look-ups run one at a time (20 × 100 ms); the admin's ran beside them.
    assert!(
        matches!((admin_at, last_junk), (Some(a), Some(j)) if a < j),
        "admin's look-up at {admin_at:?}, last junk look-up at {last_junk:?} of {}",
        lookups.len()
    );
}

/// `PUT /v1/cluster` (passed through) with a JSON body padded to `size` bytes.
fn cluster_update(size: usize) -> support::wire::Req {
    let mut body = br#"{"name": "cluster.example.com"}"#.to_vec();
    body.resize(size, b' ');
    request("PUT", "/v1/cluster", body)
}

#[tokio::test]
async fn an_upload_slower_than_request_timeout_is_served_and_a_stalled_one_is_the_clients_408() {
    let (_sim, _audit, shim) =
        start("[upstream]\nrequest_timeout = \"1s\"\n[listen]\nbody_idle_timeout = \"1500ms\"\n")
            .await;
    // 3 s of body, a piece every 150 ms: longer than request_timeout, never idle.
    let slow = Wire::Trickle(
        cluster_update(20_000).bytes(),
        20,
        Duration::from_millis(150),
    );
    let (bytes, took) = exchange(shim.addr, &slow).await;
    let replies = parse_replies(&bytes);
    assert!(took >= Duration::from_millis(2500), "{took:?}");
    assert_eq!(
        replies.first().map(|r| r.status.as_u16()),
        Some(200),
        "{replies:?}"
    );

    let req = cluster_update(20_000);
    let stall = Wire::Stall(req.then(&req.body[..100]));
    let started = Instant::now();
    let (bytes, _) = exchange(shim.addr, &stall).await;
    let took = started.elapsed();
    let reply = parse_replies(&bytes).into_iter().next().expect("a reply");
    assert_rs_error(&reply, 408, "request_timeout");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn a_stalled_module_upload_is_the_clients_408_and_audited() {
    // 7.4: `POST /v1/modules` is translated to `/v2/modules`, its body streamed (R4).
    let (_sim, audit, shim) =
        audited(SimVersion::V7_4, "[listen]\nbody_idle_timeout = \"1s\"\n").await;
    let mut req = request("POST", "/v1/modules", vec![b'x'; 4096]);
    req = req.content_type("multipart/form-data; boundary=x");
    let (bytes, _) = exchange(shim.addr, &Wire::Stall(req.then(&req.body[..512]))).await;
    let reply = parse_replies(&bytes).into_iter().next().expect("a reply");
    assert_rs_error(&reply, 408, "request_timeout");
    let recs = records(&audit);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["status"], 408);
    assert_eq!(recs[0]["error_code"], "request_timeout");
}

#[tokio::test]
async fn a_cluster_that_never_takes_the_body_is_still_cut_504() {
    use tokio::io::AsyncReadExt;
    let silent = support::upstream::start_silent_upstream().await;
    let shim = Shim::from_toml(&format!(
        "[upstream]\nurl = \"{}\"\nrequest_timeout = \"300ms\"\n\
         [listen]\nbody_idle_timeout = \"1s\"\n",
        silent.url()
    ))
    .await;
    // 16 MiB: more than the sockets between here and the silent cluster can hold, so the body
    // stops moving while it is still arriving.
    let started = Instant::now();
    let (mut from_shim, mut to_shim) = TcpStream::connect(shim.addr)
        .await
        .expect("connect")
        .into_split();
    let data = cluster_update(16 << 20).bytes();
    let writer = tokio::spawn(async move {
        let _ = to_shim.write_all(&data).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let mut head = vec![0u8; 512];
    let n = within(
        Duration::from_secs(10),
        "the reply head",
        from_shim.read(&mut head),
    )
    .await
    .expect("read");
    let took = started.elapsed();
    writer.abort();
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(head.starts_with("HTTP/1.1 504 "), "{head}");
    assert!(head.contains("upstream_timeout"), "{head}");
    // request_timeout + body_idle_timeout after the body last moved.
    assert!(took < Duration::from_secs(5), "{took:?}");
}
