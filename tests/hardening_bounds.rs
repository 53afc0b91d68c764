//! Issue 11, items 1–4, through the real binary: the deprecated route's bodies share a memory
//! budget, its detached calls keep their connection's slot, a stop waits for them and audits
//! those it must interrupt, and an idle HTTP/2 connection gives its slot back. Each test asserts
//! the bound (counts, gauges, records), not a timing. `examples/hardening_repro.rs` measures
//! the same scenarios at full size.

mod support;

use bytes::Bytes;
use deprecation_shim::sim::{SimVersion, Simulator};
use http::{Method, StatusCode};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use support::audit_file::{audit_toml, records};
use support::client::{Client, Proto};
use support::harness::Sim;
use support::legacy::{admin, old_route};
use support::shim::{connections_to, free_port, metric, spawn_shim, ShimProcess};
use support::{bodies, within};
use tokio::io::AsyncWriteExt;

const BODY: &str = r#"{"new_module": "e498441c107b69c94feae975a9f78330"}"#;

/// The binary in front of `upstream`, configured by `toml`, with its admin port.
fn shim(dir: &Path, upstream: SocketAddr, toml: &str) -> (ShimProcess, SocketAddr) {
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let path = dir.join(format!("shim-{}.toml", admin.port()));
    let text =
        format!("{toml}\n[upstream]\nurl = \"http://{upstream}\"\n[admin]\nlisten = \"{admin}\"\n");
    std::fs::write(&path, text).expect("config");
    let proc = spawn_shim(&["--config", path.to_str().expect("utf-8")]);
    (proc, admin)
}

/// A legacy call with admin credentials, its bytes written, the connection left open.
async fn start_call(addr: SocketAddr, bdb: u64) -> tokio::net::TcpStream {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{BODY}",
        old_route(bdb),
        admin(),
        BODY.len()
    );
    s.write_all(req.as_bytes()).await.expect("send");
    s
}

/// Waits until the simulated cluster runs an action on every database of `bdbs`.
async fn wait_for_actions(sim: &Simulator, bdbs: &[u64]) {
    within(Duration::from_secs(10), "upgrades started", async {
        loop {
            let state = sim.snapshot();
            let running = bdbs.iter().all(|uid| {
                state["bdbs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|b| b["uid"] == *uid && !b["action_uid"].is_null())
            });
            if running {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_http2_connection_cannot_buffer_more_deprecated_bodies_than_the_budget() {
    const STREAMS: usize = 40;
    const BODY_BYTES: usize = 1_000_000;
    let cluster = Sim::timed(SimVersion::V8_0, Duration::from_secs(1)).await;
    let sim = cluster.addr;
    let dir = tempfile::tempdir().expect("tempdir");
    // One address, no credentials: the per-address bound of unverified calls is lifted so that
    // the body budget is what refuses.
    let (mut shim, admin) = shim(
        dir.path(),
        sim,
        "[shim]\nmax_buffered_bodies = \"4MiB\"\nmax_unverified_calls_per_ip = 1000\n",
    );
    let rss_before = shim.peak_rss_kib();

    let tcp = tokio::net::TcpStream::connect(shim.addr)
        .await
        .expect("connect");
    let (client, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(conn);
    let (replies, mut replied) = tokio::sync::mpsc::unbounded_channel();
    let mut open = Vec::new();
    let mut client = client;
    for _ in 0..STREAMS {
        client = client.ready().await.expect("ready");
        // No Content-Length and no END_STREAM: the shim can only reserve as chunks arrive.
        let req = http::Request::post(format!("http://x{}", old_route(1)))
            .header("content-type", "application/json")
            .body(())
            .expect("request");
        let (resp, mut body) = client.send_request(req, false).expect("send_request");
        let _ = body.send_data(Bytes::from(vec![b' '; BODY_BYTES]), false);
        open.push(body);
        let replies = replies.clone();
        tokio::spawn(async move {
            if let Ok(r) = resp.await {
                let _ = replies.send(r);
            }
        });
    }
    // At most 4 bodies of 1 MB fit in 4 MiB; every other stream is refused.
    let mut refused = 0;
    within(Duration::from_secs(30), "refusals", async {
        while refused < STREAMS - 4 {
            let r = replied.recv().await.expect("a reply");
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(r.headers()["retry-after"], "5");
            refused += 1;
        }
    })
    .await;
    let reserved = metric(admin, "deprecation_shim_deprecated_body_bytes").await;
    assert!(
        reserved <= 4.0 * 1024.0 * 1024.0,
        "{reserved} bytes reserved"
    );
    let counted = metric(
        admin,
        "deprecation_shim_deprecated_refused_total{reason=\"body_budget\"}",
    )
    .await;
    assert!(
        counted >= (STREAMS - 4) as f64,
        "refusals counted: {counted}"
    );
    // 40 MB were sent; what the shim kept is the budget plus HTTP/2 windows, not the bodies.
    let grown_mib = (shim.peak_rss_kib() - rss_before) / 1024;
    assert!(grown_mib < 24, "RSS grew by {grown_mib} MiB");
    assert!(shim.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_whose_clients_hung_up_keep_their_slot_so_max_connections_bounds_upstream_work() {
    const CALLS: usize = 40;
    const SLOTS: usize = 4;
    const WORKERS: usize = 2;
    let simulator = Sim::timed(SimVersion::V8_0, Duration::from_secs(1)).await;
    let sim = simulator.addr;
    simulator.faults().set_latency(Duration::from_millis(300));
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let (shim, admin) = shim(
        dir.path(),
        sim,
        &format!(
            "workers = {WORKERS}\n[listen]\nmax_connections = {SLOTS}\n{}",
            audit_toml(&audit)
        ),
    );
    let addr = shim.addr;
    // Connect, send a whole legacy call without credentials, hang up.
    let sender = tokio::spawn(async move {
        for _ in 0..CALLS {
            let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let req = format!(
                "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{BODY}",
                old_route(1),
                BODY.len()
            );
            s.write_all(req.as_bytes()).await.expect("send");
        }
    });
    let (mut peak_tasks, mut peak_in_flight, mut peak_upstream) = (0.0f64, 0.0f64, 0);
    within(Duration::from_secs(30), "every call audited", async {
        // Without credentials each call is an unverified caller's failure: after the first,
        // they are counted into one coalesced record (issue 20), so the metrics say when all
        // have been audited.
        loop {
            let lines = metric(admin, "deprecation_shim_audit_records_total").await;
            let folded = metric(admin, "deprecation_shim_audit_coalesced_calls_total").await;
            if lines + folded >= CALLS as f64 {
                break;
            }
            peak_tasks = peak_tasks.max(metric(admin, "deprecation_shim_deprecated_tasks").await);
            peak_in_flight =
                peak_in_flight.max(metric(admin, "deprecation_shim_in_flight_requests").await);
            peak_upstream = peak_upstream.max(connections_to(sim.port()));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    sender.await.expect("sender");
    assert!(peak_tasks <= SLOTS as f64, "{peak_tasks} calls at once");
    // The in-flight gauge is summed over the workers' shards, read one after another: a call
    // ending on one worker and the next starting on the other between the two reads are both
    // counted, so a scrape may show up to WORKERS − 1 more than were ever in flight at once.
    assert!(
        (1.0..=(SLOTS + WORKERS - 1) as f64).contains(&peak_in_flight),
        "in_flight peaked at {peak_in_flight}"
    );
    // Each call looks up the database and the catalog at once: two connections per slot in use.
    // Each worker keeps its own pool, so a worker's idle connections stay open while the slots
    // are busy on the other: at most two per slot per worker, plus the readiness probe's own
    // connection (it runs because this shim has an admin port). Unbounded, it was 210.
    assert!(
        peak_upstream <= 2 * SLOTS * WORKERS + 1,
        "{peak_upstream} upstream connections"
    );
    assert!(records(&audit).iter().all(|r| r["status"] == 401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_past_max_concurrent_calls_get_503_with_retry_after_and_are_audited() {
    let simulator = Sim::timed(SimVersion::V8_0, Duration::from_secs(30)).await;
    let sim = simulator.addr;
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let (shim, _admin) = shim(
        dir.path(),
        sim,
        &format!(
            "[shim]\nmax_concurrent_calls = 1\npoll_interval = \"50ms\"\n{}",
            audit_toml(&audit)
        ),
    );
    let _running = start_call(shim.addr, 1).await;
    wait_for_actions(&simulator, &[1]).await;
    let reply = support::post_raw(shim.addr, &old_route(4), &admin(), BODY).await;
    support::legacy::assert_rs_error(&reply, 503, "shim_overloaded");
    assert_eq!(reply.header("retry-after"), Some("5"));
    support::legacy::assert_deprecated(&reply, 4);
    let recs = records(&audit);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["error_code"], "shim_overloaded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_waits_for_an_upgrade_whose_client_hung_up_and_audits_it() {
    let simulator = Sim::timed(SimVersion::V8_0, Duration::from_secs(2)).await;
    let sim = simulator.addr;
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let (mut shim, _admin) = shim(
        dir.path(),
        sim,
        &format!(
            "[listen]\nshutdown_grace = \"100ms\"\n[shim]\npoll_interval = \"50ms\"\n{}",
            audit_toml(&audit)
        ),
    );
    let client = start_call(shim.addr, 1).await;
    wait_for_actions(&simulator, &[1]).await;
    drop(client);
    shim.terminate();
    let status = shim.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}");
    let recs = records(&audit);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(
        (recs[0]["status"].as_u64(), recs[0]["outcome"].as_str()),
        (Some(200), Some("ok"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_shim_shutdown_grace_running_calls_are_audited_interrupted_with_their_action_uid() {
    let simulator = Sim::timed(SimVersion::V8_0, Duration::from_secs(600)).await;
    let sim = simulator.addr;
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let (mut shim, _admin) = shim(
        dir.path(),
        sim,
        &format!(
            "[listen]\nshutdown_grace = \"100ms\"\n[shim]\npoll_interval = \"50ms\"\nshutdown_grace = \"500ms\"\n{}",
            audit_toml(&audit)
        ),
    );
    let gone = start_call(shim.addr, 1).await;
    let mut connected = start_call(shim.addr, 4).await;
    wait_for_actions(&simulator, &[1, 4]).await;
    drop(gone);
    shim.terminate();
    // The client still connected gets an answer before the process exits.
    let mut reply = Vec::new();
    within(Duration::from_secs(20), "the interrupted reply", async {
        use tokio::io::AsyncReadExt;
        let _ = connected.read_to_end(&mut reply).await;
    })
    .await;
    let status = shim.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "{status}");
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    assert!(
        reply.contains("\"error_code\":\"shim_interrupted\""),
        "{reply}"
    );
    let recs = records(&audit);
    assert_eq!(recs.len(), 2, "{recs:?}");
    for rec in &recs {
        assert_eq!(rec["outcome"], "interrupted", "{rec}");
        let action_uid = rec["action_uid"]
            .as_str()
            .unwrap_or_else(|| panic!("no action_uid: {rec}"));
        if rec["bdb_uid"] == 4 {
            assert!(
                reply.contains(action_uid),
                "the reply names {action_uid}: {reply}"
            );
        }
    }
    assert!(shim.stderr().contains("shim.shutdown_grace ran out"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http2_connection_gives_its_slot_back_after_idle_timeout() {
    const SLOTS: usize = 2;
    let cluster = Sim::timed(SimVersion::V8_0, Duration::from_secs(1)).await;
    let sim = cluster.addr;
    let dir = tempfile::tempdir().expect("tempdir");
    let (shim, _admin) = shim(
        dir.path(),
        sim,
        &format!("[listen]\nmax_connections = {SLOTS}\nidle_timeout = \"500ms\"\n"),
    );
    // Each connection answers the shim's pings (hyper's client does) but sends nothing more.
    let mut idle = Vec::new();
    for _ in 0..SLOTS {
        let mut c = Client::connect(shim.addr, Proto::Http2, None).await;
        let req = c
            .request(Method::GET, "/v1/cluster")
            .body(bodies::empty())
            .expect("request");
        assert_eq!(c.send(req).await.status, StatusCode::UNAUTHORIZED);
        idle.push(c);
    }
    let reply = within(
        Duration::from_secs(20),
        "a reply to the client after the idle ones",
        support::get(shim.addr, "/v1/cluster", &admin()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    drop(idle);
}
