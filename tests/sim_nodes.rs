//! The simulator's multi-node mode (issue 21, API-CATALOGUE §10 T6) over real sockets: three
//! listeners over one cluster state, node 1 the master; followers answer `307` to the master's
//! internal address unless `handle_redirects` is on; the master moves; a node goes down and
//! comes back.
//!
//! Decisions:
//! - "Nothing changed" is the snapshot's `bdbs`, `actions` and `cluster`, equal before and after.
//! - A refused connection is checked with a bare `TcpStream::connect`, so no client retry or
//!   pool hides it.

mod support;

use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::{json, Value};
use std::net::SocketAddr;
use support::harness::{Sim, SimNodes};
use support::legacy::admin;
use support::{get, post_json, send, Reply};

async fn put_json(addr: SocketAddr, path: &str, body: Value) -> Reply {
    let auth = admin();
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    send(addr, Method::PUT, path, &headers, body.to_string()).await
}

async fn control(addr: SocketAddr, path: &str, body: Value) -> Reply {
    let r = post_json(addr, path, "", &body).await;
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r
}

/// What a request must not change.
fn durable(nodes: &SimNodes) -> Value {
    let s = nodes.sim.snapshot();
    json!({"bdbs": s["bdbs"], "actions": s["actions"], "cluster": s["cluster"]})
}

fn assert_redirect(r: &Reply, location: &str) {
    assert_eq!(r.status, 307, "{}", r.head());
    assert_eq!(r.header("location"), Some(location), "{}", r.head());
    assert!(r.body.is_empty(), "{}", String::from_utf8_lossy(&r.body));
}

#[tokio::test]
async fn a_follower_redirects_to_the_masters_internal_address_and_changes_nothing() {
    let c = SimNodes::start(SimVersion::default()).await;
    assert_eq!(c.nodes.len(), 3);
    assert_eq!(c.sim.master(), Some(1));
    let before = durable(&c);
    for follower in [2, 3] {
        let r = get(c.addr(follower), "/v1/bdbs/1?fields=uid,name", &admin()).await;
        assert_redirect(&r, "https://10.0.0.1:9443/v1/bdbs/1?fields=uid,name");
        let r = get(c.addr(follower), "/v2/actions", &admin()).await;
        assert_redirect(&r, "https://10.0.0.1:9443/v2/actions");
    }
    assert_eq!(durable(&c), before);
    let r = get(c.addr(1), "/v1/bdbs/1?fields=uid,name", &admin()).await;
    assert_eq!(r.status, 200, "{}", r.head());
    assert_eq!(r.json()["uid"], 1);
    // Every node records what it received, redirected or not.
    let nodes: Vec<Option<u64>> = c.sim.requests().iter().map(|r| r.node).collect();
    assert_eq!(
        nodes,
        [Some(2), Some(2), Some(3), Some(3), Some(1)],
        "{:?}",
        c.sim.requests()
    );
}

#[tokio::test]
async fn get_v1_nodes_lists_internal_and_external_addresses() {
    let c = SimNodes::start(SimVersion::default()).await;
    let r = get(c.addr(1), "/v1/nodes", &admin()).await;
    assert_eq!(r.status, 200, "{}", r.head());
    let listed = r.json();
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 3);
    for (node, (uid, addr)) in listed.iter().zip(&c.nodes) {
        assert_eq!(node["uid"], *uid);
        assert_eq!(node["addr"], format!("10.0.0.{uid}"));
        assert_eq!(node["external_addr"], json!([addr.to_string()]));
        assert_eq!(node["status"], "active");
        assert_eq!(
            node["software_version"],
            SimVersion::default().software_version()
        );
    }
    let view = get(c.addr(2), "/__sim/nodes", "").await.json();
    assert_eq!(view["master"], 1);
    assert_eq!(view["nodes"][2]["listen"], c.addr(3).to_string());
    assert_eq!(view["nodes"][2]["up"], true);
}

#[tokio::test]
async fn with_handle_redirects_on_a_follower_serves_the_request_itself() {
    let c = SimNodes::start(SimVersion::default()).await;
    let before = durable(&c);
    // The setting is a cluster write: a follower redirects it too.
    let r = put_json(c.addr(2), "/v1/cluster", json!({"handle_redirects": true})).await;
    assert_redirect(&r, "https://10.0.0.1:9443/v1/cluster");
    assert_eq!(durable(&c), before);
    let r = put_json(c.addr(1), "/v1/cluster", json!({"handle_redirects": "yes"})).await;
    assert_eq!(r.status, 400, "{}", r.head());
    let r = put_json(c.addr(1), "/v1/cluster", json!({"handle_redirects": true})).await;
    assert_eq!(r.status, 200, "{}", r.head());
    assert_eq!(r.json()["handle_redirects"], true);
    for follower in [2, 3] {
        let r = get(c.addr(follower), "/v1/bdbs/1", &admin()).await;
        assert_eq!(r.status, 200, "{}", r.head());
        assert_eq!(r.json()["uid"], 1);
        assert_eq!(r.header("location"), None);
    }
    // Off again: redirects again.
    let r = put_json(c.addr(3), "/v1/cluster", json!({"handle_redirects": false})).await;
    assert_eq!(r.status, 200, "{}", r.head());
    let r = get(c.addr(3), "/v1/cluster", &admin()).await;
    assert_redirect(&r, "https://10.0.0.1:9443/v1/cluster");
}

#[tokio::test]
async fn an_upgrade_posted_to_a_follower_is_redirected_and_not_applied() {
    let c = SimNodes::start(SimVersion::default()).await;
    let before = durable(&c);
    let r = post_json(c.addr(2), "/v1/bdbs/2/upgrade", &admin(), &json!({})).await;
    assert_redirect(&r, "https://10.0.0.1:9443/v1/bdbs/2/upgrade");
    assert_eq!(durable(&c), before);
    assert_eq!(c.sim.snapshot()["bdbs"][1]["action_uid"], Value::Null);
    let r = post_json(c.addr(1), "/v1/bdbs/2/upgrade", &admin(), &json!({})).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["action_uid"].is_string(), "{}", r.json());
    assert_ne!(durable(&c), before);
}

#[tokio::test]
async fn moving_the_master_moves_the_redirects() {
    let c = SimNodes::start(SimVersion::default()).await;
    let view = control(c.addr(3), "/__sim/master", json!({"uid": 2})).await;
    assert_eq!(view.json()["master"], 2);
    assert_eq!(c.sim.master(), Some(2));
    let r = get(c.addr(1), "/v1/cluster", &admin()).await;
    assert_redirect(&r, "https://10.0.0.2:9443/v1/cluster");
    let r = get(c.addr(3), "/v1/nodes", &admin()).await;
    assert_redirect(&r, "https://10.0.0.2:9443/v1/nodes");
    let r = get(c.addr(2), "/v1/cluster", &admin()).await;
    assert_eq!(r.status, 200, "{}", r.head());
    // From Rust too; an unknown node is refused either way.
    c.sim.set_master(3).expect("node 3 exists");
    let r = get(c.addr(2), "/v1/cluster", &admin()).await;
    assert_redirect(&r, "https://10.0.0.3:9443/v1/cluster");
    assert!(c.sim.set_master(9).is_err());
    let r = post_json(c.addr(1), "/__sim/master", "", &json!({"uid": 9})).await;
    assert_eq!(r.status, 400, "{}", r.head());
    assert_eq!(c.sim.master(), Some(3));
}

#[tokio::test]
async fn a_node_taken_down_refuses_connections_while_the_others_serve() {
    let c = SimNodes::start(SimVersion::default()).await;
    let view = control(c.addr(1), "/__sim/nodes/3/down", json!({}))
        .await
        .json();
    assert_eq!(view["nodes"][2]["up"], false);
    let refused = tokio::net::TcpStream::connect(c.addr(3)).await;
    assert!(refused.is_err(), "node 3 accepted a connection while down");
    let r = get(c.addr(1), "/v1/nodes", &admin()).await;
    assert_eq!(r.status, 200, "{}", r.head());
    let listed = r.json();
    assert_eq!(listed[2]["status"], "down");
    assert_eq!(listed[0]["status"], "active");
    let r = get(c.addr(2), "/v1/cluster", &admin()).await;
    assert_redirect(&r, "https://10.0.0.1:9443/v1/cluster");
    // Down twice is still down; then back on the same address, as a follower.
    control(c.addr(2), "/__sim/nodes/3/down", json!({})).await;
    let view = control(c.addr(2), "/__sim/nodes/3/up", json!({}))
        .await
        .json();
    assert_eq!(view["nodes"][2]["up"], true);
    let r = get(c.addr(3), "/v1/cluster", &admin()).await;
    assert_redirect(&r, "https://10.0.0.1:9443/v1/cluster");
    assert_eq!(c.sim.snapshot()["nodes"][2]["status"], "active");
    // The Rust API: the master itself goes down; no new master is elected.
    c.sim.node_down(1).await.expect("node 1 down");
    assert!(tokio::net::TcpStream::connect(c.addr(1)).await.is_err());
    let r = get(c.addr(2), "/v1/cluster", &admin()).await;
    assert_redirect(&r, "https://10.0.0.1:9443/v1/cluster");
    c.sim.node_up(1).expect("node 1 up");
    let r = get(c.addr(1), "/v1/cluster", &admin()).await;
    assert_eq!(r.status, 200, "{}", r.head());
    let r = post_json(c.addr(1), "/__sim/nodes/7/down", "", &json!({})).await;
    assert_eq!(r.status, 400, "{}", r.head());
}

#[tokio::test]
async fn single_node_mode_has_no_node_identity() {
    let sim = Sim::start(SimVersion::default()).await;
    assert_eq!(sim.get("/v1/cluster").await.status, 200);
    assert_eq!(sim.requests()[0].node, None);
    assert_eq!(sim.master(), None);
    let view = get(sim.addr, "/__sim/nodes", "").await.json();
    assert_eq!(view, json!({"master": null, "nodes": []}));
    let r = post_json(sim.addr, "/__sim/master", "", &json!({"uid": 1})).await;
    assert_eq!(r.status, 400, "{}", r.head());
}

#[tokio::test]
async fn a_connection_open_before_the_node_went_down_gets_no_more_replies() {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::rt::TokioIo;
    let c = SimNodes::start(SimVersion::default()).await;
    let stream = tokio::net::TcpStream::connect(c.addr(2))
        .await
        .expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let auth = admin();
    let request = || {
        http::Request::get("/v1/cluster")
            .header("host", c.addr(2).to_string())
            .header("authorization", auth.as_str())
            .body(Empty::<bytes::Bytes>::new())
            .expect("request")
    };
    let first = sender.send_request(request()).await.expect("first reply");
    assert_eq!(first.status(), 307);
    first.into_body().collect().await.expect("body");
    c.sim.node_down(2).await.expect("node 2 down");
    let second = match sender.ready().await {
        Ok(()) => sender.send_request(request()).await.map(|r| r.status()),
        Err(e) => Err(e),
    };
    assert!(second.is_err(), "node 2 answered while down: {second:?}");
}
