//! Multi-node mode (issue 21, API-CATALOGUE §10 T6): one listener per node of the state, all
//! over the one shared [`Simulator`], one of them the master. A follower answers every `/v1`
//! and `/v2` request with `307 Temporary Redirect` to the master's *internal* address (RS40641)
//! unless the cluster's `handle_redirects` is on; a node can be taken down and brought back.
//!
//! Started with [`Simulator::serve_nodes`]; controlled from Rust ([`Simulator::set_master`],
//! [`Simulator::node_down`], [`Simulator::node_up`]) or over HTTP on any node that is up:
//!
//! - `GET /__sim/nodes`: `{"master": 1, "nodes": [{"uid": 1, "listen": "127.0.0.1:PORT", "up": true}]}`.
//! - `POST /__sim/master {"uid": 2}`: node 2 becomes the master; answers the same object.
//! - `POST /__sim/nodes/{uid}/down`, `POST /__sim/nodes/{uid}/up`: stop or restart that node's
//!   listener; answers the same object once done.
//!
//! Decisions:
//! - The `Location` is `https://<addr>:9443<path>[?<query>]`, `addr` being the master's `addr`
//!   in `GET /v1/nodes` (the seed's `10.0.0.<uid>`, unreachable on purpose); the body is empty.
//!   The redirect comes before the fault switches and the latency: those model the node that
//!   serves. A redirected request is still recorded, with the follower's uid.
//! - `handle_redirects` is read from the cluster object (`PUT /v1/cluster
//!   {"handle_redirects": true}`, itself redirected when sent to a follower); only `true` counts.
//!   With it on, a follower serves the request itself, as if it proxied it to the master.
//! - Each node's `external_addr` in `GET /v1/nodes` is `["127.0.0.1:PORT"]`, its reachable
//!   listener. RS lists bare IPs (every node serves :9443); here the nodes share 127.0.0.1 and
//!   differ by port only, so the port is kept to make the mapping unambiguous.
//! - A node taken down stops accepting (its port is kept bound but not listening, so a connect
//!   is refused and nobody else takes the port), its open connections are closed at their next
//!   request, and its `status` in `GET /v1/nodes` is `down` (`active` once back). Taking the
//!   master down elects no new master: a test moves it with `POST /__sim/master`.
//! - Single-node mode ([`Simulator::serve`]) has no node identity: nothing here applies.

use bytes::Bytes;
use http::{header, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use super::service::to_bytes;
use super::Simulator;
use crate::error::{json_response, ApiError};
use crate::locks::lock;

/// The port every RS node serves the REST API on, as the redirect names it.
const API_PORT: u16 = 9443;
/// Accept backlog of a node's listener.
const BACKLOG: u32 = 1024;
/// How long taking a node down may wait for its listener to close.
const DOWN_WAIT: Duration = Duration::from_secs(5);

type Reply = Response<Full<Bytes>>;

/// The node listeners of a multi-node simulator; empty in single-node mode.
#[derive(Default)]
pub struct Nodes(Mutex<Inner>);

#[derive(Default)]
struct Inner {
    master: Option<u64>,
    tls: Option<TlsAcceptor>,
    listeners: BTreeMap<u64, Listener>,
}

struct Listener {
    addr: SocketAddr,
    /// Stops the accept loop; `None` while down.
    stop: Option<oneshot::Sender<()>>,
    /// The port held while down (bound, not listening).
    reserved: Option<TcpSocket>,
}

impl std::fmt::Debug for Nodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = lock(&self.0);
        let listeners: Vec<_> = inner
            .listeners
            .iter()
            .map(|(uid, l)| (uid, l.addr, l.stop.is_some()))
            .collect();
        f.debug_struct("Nodes")
            .field("master", &inner.master)
            .field("listeners", &listeners)
            .finish()
    }
}

impl Nodes {
    /// Whether `node` has been taken down (its connections must close).
    pub(super) fn is_down(&self, node: u64) -> bool {
        lock(&self.0)
            .listeners
            .get(&node)
            .is_some_and(|l| l.stop.is_none())
    }

    fn master(&self) -> Option<u64> {
        lock(&self.0).master
    }

    fn view(&self) -> Value {
        let inner = lock(&self.0);
        let nodes: Vec<Value> = inner
            .listeners
            .iter()
            .map(|(uid, l)| json!({"uid": uid, "listen": l.addr.to_string(), "up": l.stop.is_some()}))
            .collect();
        json!({"master": inner.master, "nodes": nodes})
    }
}

impl Simulator {
    /// Multi-node mode: binds one `127.0.0.1:0` listener per node of the state (HTTPS when
    /// `tls` is given), node `1` (else the first) the master, and serves until
    /// [`Simulator::stop_nodes`]. Answers each node's uid and address, in uid order.
    pub async fn serve_nodes(
        self: &Arc<Self>,
        tls: Option<TlsAcceptor>,
    ) -> std::io::Result<Vec<(u64, SocketAddr)>> {
        let uids: Vec<u64> = self.store.with(|s| s.nodes.iter().map(|n| n.uid).collect());
        let mut out = Vec::new();
        {
            let mut inner = lock(&self.nodes.0);
            inner.tls = tls;
            inner.master = if uids.contains(&1) {
                Some(1)
            } else {
                uids.first().copied()
            };
        }
        for uid in uids {
            let socket = reserve(SocketAddr::from(([127, 0, 0, 1], 0)))?;
            let addr = socket.local_addr()?;
            lock(&self.nodes.0).listeners.insert(
                uid,
                Listener {
                    addr,
                    stop: None,
                    reserved: Some(socket),
                },
            );
            self.set_node_record(uid, addr, "active");
            self.start_listener(uid)?;
            out.push((uid, addr));
        }
        Ok(out)
    }

    /// The master's uid in multi-node mode.
    pub fn master(&self) -> Option<u64> {
        self.nodes.master()
    }

    /// Makes `uid` the master (its followers redirect to it from the next request on).
    pub fn set_master(&self, uid: u64) -> Result<(), String> {
        let mut inner = lock(&self.nodes.0);
        if !inner.listeners.contains_key(&uid) {
            return Err(format!("no node {uid} in this multi-node simulator"));
        }
        inner.master = Some(uid);
        Ok(())
    }

    /// Takes `uid` down: once this returns, a connect to it is refused. Idempotent.
    pub async fn node_down(&self, uid: u64) -> Result<(), String> {
        let (stop, addr) = {
            let mut inner = lock(&self.nodes.0);
            let l = inner
                .listeners
                .get_mut(&uid)
                .ok_or_else(|| format!("no node {uid} in this multi-node simulator"))?;
            (l.stop.take(), l.addr)
        };
        let Some(stop) = stop else { return Ok(()) };
        let _ = stop.send(());
        // The accept loop drops its listener when it sees the signal; the port is free (and
        // then held) once a bind succeeds.
        let deadline = Instant::now() + DOWN_WAIT;
        let socket = loop {
            match reserve(addr) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!("node {uid}'s listener did not close: {e}"))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        };
        if let Some(l) = lock(&self.nodes.0).listeners.get_mut(&uid) {
            l.reserved = Some(socket);
        }
        self.set_node_record(uid, addr, "down");
        Ok(())
    }

    /// Brings `uid` back on the same address. Idempotent.
    pub fn node_up(self: &Arc<Self>, uid: u64) -> Result<(), String> {
        let addr = lock(&self.nodes.0)
            .listeners
            .get(&uid)
            .map(|l| l.addr)
            .ok_or_else(|| format!("no node {uid} in this multi-node simulator"))?;
        self.start_listener(uid)
            .map_err(|e| format!("cannot restart node {uid} on {addr}: {e}"))?;
        self.set_node_record(uid, addr, "active");
        Ok(())
    }

    /// Stops every node listener (multi-node mode); they do not come back.
    pub fn stop_nodes(&self) {
        let mut inner = lock(&self.nodes.0);
        for l in inner.listeners.values_mut() {
            if let Some(stop) = l.stop.take() {
                let _ = stop.send(());
            }
            l.reserved = None;
        }
    }

    /// Listens on `uid`'s reserved port and spawns its accept loop; nothing if it is up.
    fn start_listener(self: &Arc<Self>, uid: u64) -> std::io::Result<()> {
        let mut inner = lock(&self.nodes.0);
        let tls = inner.tls.clone();
        let Some(l) = inner.listeners.get_mut(&uid) else {
            return Ok(());
        };
        let Some(socket) = l.reserved.take() else {
            return Ok(());
        };
        let listener = socket.listen(BACKLOG)?;
        let (stop, stopped) = oneshot::channel::<()>();
        l.stop = Some(stop);
        let sim = self.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) = sim.serve_as(listener, tls, Some(uid), shutdown).await {
                tracing::warn!(node = uid, error = %e, "simulated node stopped");
            }
        });
        Ok(())
    }

    /// Writes `external_addr` and `status` into the node's record (`GET /v1/nodes`).
    fn set_node_record(&self, uid: u64, addr: SocketAddr, status: &str) {
        self.store.with(|s| {
            if let Some(n) = s.nodes.iter_mut().find(|n| n.uid == uid) {
                n.extra
                    .insert("external_addr".into(), json!([addr.to_string()]));
                n.extra.insert("status".into(), json!(status));
            }
        });
    }
}

/// A bound, not yet listening, socket on `addr`.
fn reserve(addr: SocketAddr) -> std::io::Result<TcpSocket> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    Ok(socket)
}

/// The follower's redirect for a request `node` received, or `None` when it serves it: not in
/// multi-node mode, the master, not a `/v1` or `/v2` path, or `handle_redirects` on.
pub(super) fn redirect(
    sim: &Simulator,
    node: Option<u64>,
    path: &str,
    query: Option<&str>,
) -> Option<Reply> {
    let node = node?;
    let master = sim.nodes.master()?;
    let versioned = ["/v1", "/v2"]
        .iter()
        .any(|v| path == *v || path.starts_with(&format!("{v}/")));
    if node == master || !versioned {
        return None;
    }
    let addr = sim.store.with(|s| {
        if s.cluster.get("handle_redirects") == Some(&Value::Bool(true)) {
            return None;
        }
        let addr = s
            .nodes
            .iter()
            .find(|n| n.uid == master)
            .and_then(|n| n.extra.get("addr"))
            .and_then(Value::as_str)
            .map_or_else(|| format!("10.0.0.{master}"), str::to_owned);
        Some(addr)
    })?;
    let location = match query {
        Some(q) => format!("https://{addr}:{API_PORT}{path}?{q}"),
        None => format!("https://{addr}:{API_PORT}{path}"),
    };
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    // The path is a valid URI path already; a bad `addr` in a state file falls back to none.
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Some(resp)
}

/// The multi-node control routes; `None` for any other `/__sim` path.
pub(super) async fn control(
    sim: &Arc<Simulator>,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Option<Reply> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let outcome = match (method.as_str(), segments.as_slice()) {
        ("GET", ["__sim", "nodes"]) => Ok(()),
        ("POST", ["__sim", "master"]) => master_uid(body).and_then(|uid| sim.set_master(uid)),
        ("POST", ["__sim", "nodes", uid, op @ ("down" | "up")]) => match uid.parse::<u64>() {
            Err(_) => Err(format!("node uid {uid:?} is not a number")),
            Ok(uid) if *op == "down" => sim.node_down(uid).await,
            Ok(uid) => sim.node_up(uid),
        },
        (_, ["__sim", "nodes" | "master", ..]) => {
            return Some(
                ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    format!("{method} is not allowed on {path}"),
                )
                .to_response(),
            )
        }
        _ => return None,
    };
    Some(match outcome {
        Ok(()) => json_response(StatusCode::OK, to_bytes(&sim.nodes.view())),
        Err(e) => ApiError::bad_request("invalid_request", e).to_response(),
    })
}

fn master_uid(body: &[u8]) -> Result<u64, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("Bad JSON: {e}"))?;
    v.get("uid")
        .and_then(Value::as_u64)
        .ok_or_else(|| "expected {\"uid\": <node uid>}".to_owned())
}
