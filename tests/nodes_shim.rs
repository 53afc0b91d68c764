//! The shim in front of a multi-node cluster (issue 21, API-CATALOGUE §10 T1–T4): followers
//! answer `307` to the master's internal address, which the shim maps to a configured node
//! (from `GET /v1/nodes`) and follows; what it cannot map is `502 upstream_redirect`; a body it
//! did not keep gets a relative `307`; a loop is bounded; a node down is failed over; a moved
//! master is learned.
//!
//! Decisions:
//! - "The client never sees a 3xx" is checked on every reply; "nothing went to another host"
//!   is the simulator's log, where every request names the node that received it.
//! - The hostile node is a small hyper server of its own, so its redirects can be anything.

mod support;

use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::audit_file::{settled, AuditFile};
use support::harness::{nodes_config, AdminPort, Shim, SimNodes};
use support::legacy::{admin, assert_rs_error, legacy_upgrade, upgrade_posts};
use support::{get, send, Reply};

fn assert_no_redirect(r: &Reply) {
    assert!(
        !r.status.is_redirection(),
        "the client got a redirect: {}",
        r.head()
    );
    assert_eq!(r.header("location"), None, "{}", r.head());
}

/// The nodes that received the cluster's requests, in order.
fn nodes_seen(c: &SimNodes) -> Vec<Option<u64>> {
    c.sim.requests().iter().map(|r| r.node).collect()
}

/// The upgrade POSTs the cluster applied (those the master received).
fn applied_upgrades(c: &SimNodes) -> usize {
    let master = c.sim.master();
    upgrade_posts(&c.sim)
        .iter()
        .filter(|r| r.node == master)
        .count()
}

#[tokio::test]
async fn a_shim_sent_to_a_follower_first_serves_reads_and_the_legacy_upgrade_without_a_redirect() {
    let c = SimNodes::start(SimVersion::default()).await;
    let shim = c.shim(&[2, 3, 1], "").await;
    let r = get(shim.addr, "/v1/bdbs/1", &admin()).await;
    assert_eq!(r.status, 200, "{}", r.head());
    assert_no_redirect(&r);
    assert_eq!(r.json()["uid"], 1);
    // Node 2 redirected; the shim learned the addresses from the master and followed.
    let seen = nodes_seen(&c);
    assert_eq!(seen.first(), Some(&Some(2)), "{seen:?}");
    assert_eq!(seen.last(), Some(&Some(1)), "{seen:?}");
    let r = legacy_upgrade(shim.addr, &[("authorization", admin().as_str())]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_no_redirect(&r);
    assert_eq!(applied_upgrades(&c), 1, "{:?}", upgrade_posts(&c.sim));
    // Every POST went to the master: the master was known by then.
    assert!(upgrade_posts(&c.sim).iter().all(|p| p.node == Some(1)));
}

#[tokio::test]
async fn a_redirect_to_an_unmapped_host_is_a_502_naming_it_and_nothing_is_sent_elsewhere() {
    let c = SimNodes::start(SimVersion::default()).await;
    // Only the follower is configured: the master's internal address maps to nothing.
    let shim = c.shim(&[2], "").await;
    let r = get(shim.addr, "/v1/cluster", &admin()).await;
    assert_no_redirect(&r);
    let body = assert_rs_error(&r, 502, "upstream_redirect");
    let text = body["description"].as_str().unwrap_or_default();
    assert!(text.contains("10.0.0.1"), "{text}");
    assert!(text.contains("upstream.node_map"), "{text}");
    assert!(
        !text.contains("https://10.0.0.1"),
        "the Location is not copied: {text}"
    );
    let seen = nodes_seen(&c);
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|n| *n == Some(2)), "{seen:?}");
    // A legacy upgrade behind it: the same clear 502, nothing applied.
    let r = legacy_upgrade(shim.addr, &[("authorization", admin().as_str())]).await;
    assert_eq!(r.status, 502, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(applied_upgrades(&c), 0);
}

/// T5: the audit record of a deprecated call says which node redirect it met, followed or not.
#[tokio::test]
async fn the_audit_record_says_which_redirect_a_call_met_followed_or_refused() {
    let c = SimNodes::start(SimVersion::default()).await;
    let audit = AuditFile::new();
    let shim = c.shim(&[2, 1], &audit.toml("")).await;
    // The first call: its version look-up meets node 2's redirect, learns the addresses and
    // follows it to the master (node 1).
    let r = legacy_upgrade(shim.addr, &[("authorization", admin().as_str())]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let recs = settled(&audit, 1).await;
    let met = &recs[0]["redirected"];
    assert_eq!(met["from"], format!("http://{}", c.addr(2)), "{met}");
    assert_eq!(met["status"], 307, "{met}");
    assert_eq!(met["to"], format!("http://{}", c.addr(1)), "{met}");
    assert_eq!(met["to_node_uid"], 1, "{met}");
    assert_eq!(met["outcome"], "followed", "{met}");
    // The master is known now: the next call meets no redirect, and says none.
    let r = legacy_upgrade(shim.addr, &[("authorization", admin().as_str())]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let recs = settled(&audit, 2).await;
    assert_eq!(recs[1].get("redirected"), None, "{}", recs[1]);

    // Only the follower configured: the redirect cannot be mapped, and the record says so.
    let audit = AuditFile::new();
    let shim = c.shim(&[2], &audit.toml("")).await;
    let r = legacy_upgrade(shim.addr, &[("authorization", admin().as_str())]).await;
    assert_eq!(r.status, 502, "{}", String::from_utf8_lossy(&r.body));
    let recs = settled(&audit, 1).await;
    assert_eq!(recs[0]["error_code"], "upstream_redirect", "{}", recs[0]);
    let met = &recs[0]["redirected"];
    assert_eq!(met["from"], format!("http://{}", c.addr(2)), "{met}");
    assert_eq!(met["outcome"], "refused", "{met}");
    assert_eq!(met["to"], Value::Null, "{met}");
}

#[tokio::test]
async fn a_node_map_entry_makes_the_internal_address_followable() {
    let c = SimNodes::start(SimVersion::default()).await;
    let master = format!("http://{}", c.addr(1));
    let extra = format!("[upstream.node_map]\n\"10.0.0.1\" = \"{master}\"\n");
    let shim = c.shim(&[2, 1], &extra).await;
    // No credentials, so no GET /v1/nodes: the map alone maps the address.
    let r = get(shim.addr, "/v1/cluster", "").await;
    assert_no_redirect(&r);
    assert_eq!(r.status, 401, "{}", r.head());
    assert_eq!(nodes_seen(&c), [Some(2), Some(1)]);
}

/// `PUT /v1/cluster` is a field rule's route (F5, F6): with them on, its body is read for
/// inspection and a version look-up (which learns the master) may come first. These tests are
/// about the transport of a plain pass-through, so the two rules are off.
const NO_FIELD_RULES: &str =
    "[rules.field_use_ipv6]\nmode = \"off\"\n[rules.field_sentinel_policy]\nmode = \"off\"\n";

#[tokio::test]
async fn a_body_too_large_to_replay_gets_a_relative_307_and_the_retry_through_the_shim_succeeds() {
    let c = SimNodes::start(SimVersion::default()).await;
    let shim = c
        .shim(
            &[2, 1],
            &format!("[upstream]\nmax_replay_body = \"16B\"\n{NO_FIELD_RULES}"),
        )
        .await;
    let body = json!({"handle_redirects": false}).to_string();
    assert!(body.len() > 16);
    let auth = admin();
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let r = send(
        shim.addr,
        Method::PUT,
        "/v1/cluster?x=1",
        &headers,
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 307, "{}", r.head());
    assert_eq!(
        r.header("location"),
        Some("/v1/cluster?x=1"),
        "{}",
        r.head()
    );
    // The client re-sends it to the Location, through the shim: the master by now.
    let r = send(shim.addr, Method::PUT, "/v1/cluster?x=1", &headers, body).await;
    assert_eq!(r.status, 200, "{}", r.head());
    assert_eq!(r.json()["handle_redirects"], false);
    let puts: Vec<Option<u64>> = c
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == Method::PUT)
        .map(|r| r.node)
        .collect();
    assert_eq!(puts, [Some(2), Some(1)]);
}

#[tokio::test]
async fn a_small_body_is_replayed_to_the_master_and_the_client_sees_no_redirect() {
    let c = SimNodes::start(SimVersion::default()).await;
    let shim = c.shim(&[2, 1], NO_FIELD_RULES).await;
    let auth = admin();
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let body = json!({"handle_redirects": false}).to_string();
    let r = send(shim.addr, Method::PUT, "/v1/cluster", &headers, body).await;
    assert_eq!(r.status, 200, "{}", r.head());
    assert_no_redirect(&r);
    let puts: Vec<Option<u64>> = c
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == Method::PUT)
        .map(|r| r.node)
        .collect();
    assert_eq!(puts, [Some(2), Some(1)]);
}

/// A node that answers every request `307` to `location`, counting them.
fn hostile_node(location: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    use hyper::service::service_fn;
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let addr = std_listener.local_addr().expect("addr");
    let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |_req: http::Request<hyper::body::Incoming>| {
                    seen.fetch_add(1, Ordering::SeqCst);
                    let resp = http::Response::builder()
                        .status(307)
                        .header("location", location)
                        .body(http_body_util::Full::new(bytes::Bytes::new()));
                    async move { resp }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, svc)
                    .await;
            });
        }
    });
    (addr, count)
}

#[tokio::test]
async fn a_node_redirecting_to_itself_in_a_loop_gets_a_bounded_502() {
    for location in ["/v1/cluster", "https://10.9.9.9:9443/v1/cluster"] {
        let (addr, count) = hostile_node(location);
        let upstream = format!(
            "[upstream]\nurl = \"http://{addr}\"\n[upstream.node_map]\n\"10.9.9.9\" = \"http://{addr}\"\n"
        );
        let cfg = nodes_config(&upstream, "").expect("config");
        let shim = Shim::start(cfg).await;
        let r = get(shim.addr, "/v1/cluster", &admin()).await;
        assert_no_redirect(&r);
        let body = assert_rs_error(&r, 502, "upstream_redirect");
        assert!(
            body["description"]
                .as_str()
                .unwrap_or_default()
                .contains("loop"),
            "{body}"
        );
        // The first try and three hops, then the shim gives up.
        assert_eq!(count.load(Ordering::SeqCst), 4, "{location}");
    }
}

#[tokio::test]
async fn with_the_master_down_reads_and_the_legacy_upgrade_fail_over() {
    let c = SimNodes::start(SimVersion::default()).await;
    let shim = c.shim(&[1, 2, 3], "").await;
    let r = get(shim.addr, "/v1/bdbs/1", &admin()).await;
    assert_eq!(r.status, 200, "{}", r.head());
    c.sim.node_down(1).await.expect("down");
    c.sim.set_master(2).expect("master");
    c.sim.clear_requests();
    let r = get(shim.addr, "/v1/bdbs/1", &admin()).await;
    assert_eq!(r.status, 200, "{}", r.head());
    assert_no_redirect(&r);
    assert_eq!(nodes_seen(&c), [Some(2)]);
    let r = legacy_upgrade(shim.addr, &[("authorization", admin().as_str())]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(applied_upgrades(&c), 1);
    assert!(nodes_seen(&c).iter().all(|n| *n == Some(2)));
}

#[tokio::test]
async fn a_moved_master_is_learned_and_shown_in_metrics_and_readyz() {
    let c = SimNodes::start(SimVersion::default()).await;
    let cfg = nodes_config(
        &format!(
            "[upstream]\nnodes = [\"http://{}\", \"http://{}\", \"http://{}\"]\n",
            c.addr(1),
            c.addr(2),
            c.addr(3)
        ),
        "",
    )
    .expect("config");
    let app = Arc::new(deprecation_shim::App::new(cfg).expect("app"));
    let admin_port = AdminPort::serve(app.admin.clone());
    let shim = Shim::serve(app, None);
    assert_eq!(get(shim.addr, "/v1/cluster", &admin()).await.status, 200);
    c.sim.set_master(3).expect("master");
    c.sim.clear_requests();
    let r = get(shim.addr, "/v1/cluster", &admin()).await;
    assert_eq!(r.status, 200, "{}", r.head());
    assert_no_redirect(&r);
    // 1 redirected; the addresses were learned (GET /v1/nodes); 3 served.
    let seen = nodes_seen(&c);
    assert_eq!(seen.first(), Some(&Some(1)), "{seen:?}");
    assert_eq!(seen.last(), Some(&Some(3)), "{seen:?}");
    c.sim.clear_requests();
    let r = get(shim.addr, "/v1/cluster", &admin()).await;
    assert_eq!(r.status, 200, "{}", r.head());
    assert_eq!(nodes_seen(&c), [Some(3)], "the master is sent to first");
    let metrics =
        String::from_utf8_lossy(&get(admin_port.addr, "/metrics", "").await.body).into_owned();
    let node3 = format!("node=\"http://{}\"", c.addr(3));
    assert!(
        metrics.contains(&format!(
            "deprecation_shim_upstream_node_master{{{node3}}} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("deprecation_shim_upstream_node_up{"),
        "{metrics}"
    );
    assert!(
        metrics.contains("deprecation_shim_upstream_node_requests_total{"),
        "{metrics}"
    );
    assert!(
        metrics.contains("deprecation_shim_upstream_redirects_total{outcome=\"followed\"} 1"),
        "{metrics}"
    );
    let ready = get(admin_port.addr, "/readyz?verbose", "").await.json();
    let nodes = &ready["checks"]["cluster"]["nodes"];
    assert_eq!(nodes.as_array().map(Vec::len), Some(3), "{ready}");
    assert_eq!(nodes[2]["master"], true, "{ready}");
    assert_eq!(nodes[0]["follower"], true, "{ready}");
    assert_eq!(
        nodes[0]["note"], "upstream is a follower; handle_redirects is off",
        "{ready}"
    );
    assert_eq!(nodes[2]["note"], Value::Null, "{ready}");
    assert_eq!(nodes[0]["master"], Value::Bool(false));
}
