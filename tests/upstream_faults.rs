//! The upstream fault matrix: what the shim answers when the cluster misbehaves, on pass-through
//! and on the deprecated route, each bounded in time (a hang fails the test). The cluster is the
//! simulator (8.0) with its fault switches, or a misbehaving front ([`support::faulty`]) for what
//! a well-behaved HTTP server cannot do: reset a reply half-way, or never answer. Every
//! deprecated call must leave exactly one audit record, with the status and code it answered.
//!
//! | fault | pass-through | deprecated route |
//! |---|---|---|
//! | connection refused | 502 `upstream_unavailable` | 502 `upstream_unavailable` |
//! | reset mid-head (any look-up, the upgrade POST) | 502 `upstream_unavailable` | 502 `upstream_unavailable`; the POST is not retried |
//! | reset mid-body, Content-Length reply | the head is relayed, then the connection is cut short of the announced length | 502 `upstream_unavailable` |
//! | reset mid-body, chunked reply | the head is relayed, then the connection is cut with no last chunk | — |
//! | reset of an action poll | — | retried; 200 when a later poll answers |
//! | no reply head (`upstream.request_timeout`) | 504 `upstream_timeout` | look-up or POST: 504 `upstream_timeout` (POST sent once); action polls: retried, then 504 `upgrade_timeout` with `action_uid` |
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

use deprecation_shim::sim::seed::REJSON_2_6_17;
use deprecation_shim::sim::{RouteMatch, SimVersion};
use http::Method;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::audit_file::{audit_toml, records};
use support::faulty::{start_faulty, Faulty, Misbehave};
use support::harness::{Shim, Sim};
use support::legacy::{admin, assert_deprecated, assert_rs_error, old_route, upgrade_posts};
use support::upstream::refused_addr;
use support::{get, post_json, within, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest any single test step may take before it counts as a hang.
const LIMIT: Duration = Duration::from_secs(20);

/// A shim in front of some upstream, with its audit file.
struct Rig {
    shim: SocketAddr,
    audit: PathBuf,
    _server: Shim,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn new(upstream: SocketAddr, extra_toml: &str) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = dir.path().join("audit.jsonl");
        let server =
            Shim::in_front_of(upstream, &format!("{}{extra_toml}", audit_toml(&audit))).await;
        Rig {
            shim: server.addr,
            audit,
            _server: server,
            _dir: dir,
        }
    }

    /// A deprecated call upgrading ReJSON on database 1; checks the deprecation marks and that
    /// exactly one new audit record, matching the reply, is on disk.
    async fn legacy(&self) -> Reply {
        let before = records(&self.audit).len();
        let reply = within(
            LIMIT,
            "deprecated call",
            post_json(
                self.shim,
                &old_route(1),
                &admin(),
                &json!({"new_module": REJSON_2_6_17}),
            ),
        )
        .await;
        assert_deprecated(&reply, 1);
        let all = records(&self.audit);
        assert_eq!(all.len(), before + 1, "exactly one audit record per call");
        let record = &all[before];
        assert_eq!(
            record["request_id"].as_str(),
            reply.header("x-request-id"),
            "{record}"
        );
        assert_eq!(record["status"], reply.status.as_u16(), "{record}");
        let code = serde_json::from_slice::<Value>(&reply.body)
            .ok()
            .and_then(|b| b.get("error_code").cloned())
            .unwrap_or(Value::Null);
        assert_eq!(record["error_code"], code, "{record}");
        reply
    }

    async fn get(&self, path: &str) -> Reply {
        within(LIMIT, "pass-through GET", get(self.shim, path, &admin())).await
    }
}

async fn sim() -> (SocketAddr, Sim) {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(100)).await;
    (sim.addr, sim)
}

fn audit_of(rig: &Rig) -> Vec<Value> {
    records(&rig.audit)
}

fn upgraded(reply: &Reply) {
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["module_id"], REJSON_2_6_17);
}

fn count(seen: &[(Method, String)], method: &Method, prefix: &str) -> usize {
    seen.iter()
        .filter(|(m, p)| m == method && p.starts_with(prefix))
        .count()
}

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
            let body = assert_rs_error(&reply, 502, "upstream_unavailable");
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
    let mut got = Vec::new();
    within(LIMIT, "connection close", async {
        let mut buf = [0u8; 4096];
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    got
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
    assert_rs_error(&rig.legacy().await, 504, "upstream_timeout");
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
async fn invalid_json_in_each_look_up_reply_is_502_upstream_invalid_reply() {
    let (upstream, sim) = sim().await;
    let rig = Rig::new(upstream, "").await;
    for path in ["/v1/bdbs/1", "/v1/modules", "/v1/nodes"] {
        sim.faults()
            .answer_invalid_json(RouteMatch::method("GET", path).times(1));
        let body = assert_rs_error(&rig.legacy().await, 502, "upstream_invalid_reply");
        assert!(
            body["message"].as_str().unwrap_or("").contains(path),
            "{body}"
        );
    }
    assert!(upgrade_posts(&sim).is_empty(), "no upgrade sent");

    // The upgrade POST's own reply unreadable: 502, and the POST is not repeated.
    sim.faults()
        .answer_invalid_json(RouteMatch::method("POST", "/v1/bdbs/1/upgrade").times(1));
    assert_rs_error(&rig.legacy().await, 502, "upstream_invalid_reply");
    assert_eq!(upgrade_posts(&sim).len(), 1);
    assert!(audit_of(&rig)[3]["action_uid"].is_null());

    // Pass-through relays whatever the cluster sent.
    sim.faults()
        .answer_invalid_json(RouteMatch::method("GET", "/v1/bdbs/2").times(1));
    let reply = rig.get("/v1/bdbs/2").await;
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_slice::<Value>(&reply.body).is_err());
}

/// By design (README, "Waiting"): a poll the shim cannot read is retried until the deadline.
#[tokio::test]
async fn invalid_json_in_an_action_poll_is_retried_until_the_deadline() {
    let (upstream, sim) = sim().await;
    let rig = Rig::new(upstream, "[shim]\nwait_deadline = \"500ms\"\n").await;
    sim.faults()
        .answer_invalid_json(RouteMatch::method("GET", "/v1/actions/").times(3));
    upgraded(&rig.legacy().await);

    sim.faults()
        .answer_invalid_json(RouteMatch::method("GET", "/v1/actions/"));
    let started = Instant::now();
    let body = assert_rs_error(&rig.legacy().await, 504, "upgrade_timeout");
    let action_uid = body["action_uid"].as_str().expect("action_uid").to_owned();
    assert!(started.elapsed() >= Duration::from_millis(500));
    // The action itself finished on the cluster: the caller is told to check it.
    let actions = sim.snapshot()["actions"].clone();
    let action = actions
        .as_array()
        .and_then(|a| a.iter().find(|x| x["action_uid"] == action_uid.as_str()))
        .cloned()
        .expect("the action");
    assert_eq!(action["status"], "completed");
    assert_eq!(audit_of(&rig)[1]["action_uid"], action_uid.as_str());
}

#[tokio::test]
async fn server_errors_are_relayed_with_their_status_and_code() {
    let (upstream, sim) = sim().await;
    let rig = Rig::new(upstream, "").await;
    let cases = [
        ("GET", "/v1/bdbs/1", 503),
        ("GET", "/v1/modules", 500),
        ("GET", "/v1/nodes", 502),
        ("POST", "/v1/bdbs/1/upgrade", 500),
    ];
    for (method, path, status) in cases {
        sim.faults()
            .respond_with_status(status, RouteMatch::method(method, path).times(1));
        let body = assert_rs_error(&rig.legacy().await, status, "sim_fault");
        assert!(
            body["message"].as_str().unwrap_or("").contains("Simulated"),
            "{body}"
        );
    }
    assert_eq!(
        upgrade_posts(&sim).len(),
        1,
        "the failed POST is not retried"
    );
    for record in audit_of(&rig) {
        assert_eq!(record["outcome"], "upstream_error", "{record}");
    }

    // Action polls answered 503 twice: retried, then the upgrade is reported done.
    sim.faults()
        .respond_with_status(503, RouteMatch::method("GET", "/v1/actions/").times(2));
    upgraded(&rig.legacy().await);

    // Pass-through: the cluster's 5xx as is.
    sim.faults()
        .respond_with_status(503, RouteMatch::method("GET", "/v1/bdbs/2").times(1));
    assert_rs_error(&rig.get("/v1/bdbs/2").await, 503, "sim_fault");
}

#[tokio::test]
async fn action_outcomes_each_give_the_documented_reply() {
    let (upstream, sim) = sim().await;
    let rig = Rig::new(upstream, "[shim]\nwait_deadline = \"400ms\"\n").await;

    sim.faults()
        .fail_next_action("sim_upgrade_failed", "shard 2 did not restart");
    let body = assert_rs_error(&rig.legacy().await, 500, "sim_upgrade_failed");
    assert_eq!(body["message"], "shard 2 did not restart");
    assert_eq!(audit_of(&rig)[0]["action_uid"], body["action_uid"]);
    assert_eq!(audit_of(&rig)[0]["outcome"], "upstream_error");

    // The action is unknown to the cluster: the database is polled instead.
    sim.faults()
        .respond_with_status(404, RouteMatch::method("GET", "/v1/actions/"));
    sim.clear_requests();
    upgraded(&rig.legacy().await);
    let seen = sim.requests();
    let polls = seen
        .iter()
        .filter(|r| r.path.starts_with("/v1/actions/"))
        .count();
    assert_eq!(polls, 1, "one 404 is enough: {seen:?}");
    let bdb_reads = seen.iter().filter(|r| r.path == "/v1/bdbs/1").count();
    assert!(bdb_reads >= 3, "look-up, polls, final read: {seen:?}");
    sim.faults().clear();

    sim.faults().omit_action_uid(true);
    upgraded(&rig.legacy().await);
    assert!(audit_of(&rig)[2]["action_uid"].is_null());
    sim.faults().clear();

    // Last: a stalled action keeps database 1 busy for good.
    sim.faults().stall_next_action();
    let started = Instant::now();
    let body = assert_rs_error(&rig.legacy().await, 504, "upgrade_timeout");
    assert!(body["action_uid"].is_string(), "{body}");
    assert_eq!(audit_of(&rig)[3]["action_uid"], body["action_uid"]);
    assert!(started.elapsed() >= Duration::from_millis(400));
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
