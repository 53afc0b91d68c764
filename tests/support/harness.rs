//! The one test harness: starts what a test needs on `127.0.0.1:0` and stops what it starts.
//!
//! - [`Sim`]: a simulated cluster in this process, at a version, on its seed or a chosen
//!   [`SimConfig`], plain or over TLS ([`Sim::tls`], [`Sim::tls_signed_by`] a test CA);
//!   dropping it stops its accept loop.
//! - [`Shim`]: the shim in this process, from a whole TOML ([`Shim::from_toml`]) or in front of
//!   an upstream with the test defaults ([`Shim::in_front_of`]), or serving an `App` the test
//!   built ([`Shim::serve`]); dropping it starts the shim's own graceful shutdown (drain), the
//!   path `main` takes on SIGTERM.
//! - [`AdminPort`]: the admin port in this process, serving an [`AdminState`] (a built `App`'s
//!   `admin`, say); dropping it stops its accept loop.
//! - [`ShimProcess`](super::shim::ShimProcess): the real binary, from arguments or a TOML
//!   ([`spawn_with_toml`]); dropping it kills and reaps the process and removes its temp dir.
//! - [`Faulty`](super::faulty::Faulty): a misbehaving upstream in front of a [`Sim`].
//!
//! Every reply is a [`Reply`](super::Reply); raw bytes go through [`wire`](super::wire) only
//! where a test needs framing a client library will not send.
//!
//! Decisions:
//! - Handles own their servers, so a test can stop one half-way (`drop(sim)`) and a forgotten
//!   server never outlives its test.
//! - The in-process shim is stopped by its shutdown signal, not aborted: an aborted task would
//!   skip the drain and the audit records a test may be about to read.

use super::audit_file::AuditFile;
use super::legacy::admin;
use super::shim::{spawn_shim, ShimProcess};
use super::tls::TestCa;
use super::{get, post_json, Reply};
use deprecation_shim::admin::{self, AdminState};
use deprecation_shim::config::{self, Config};
use deprecation_shim::sim::{SimConfig, SimState, SimVersion, Simulator};
use deprecation_shim::{listener, tls, App};
use serde_json::Value;
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Upgrade actions take this long unless a test chooses otherwise.
/// The admin port's bearer token in tests (issue 20: caller identities on `/deprecations`).
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// Writes [`ADMIN_TOKEN`] into `dir` and returns the `token_file = "..."` line for `[admin]`.
pub fn admin_token_line(dir: &std::path::Path) -> String {
    let path = dir.join("admin.token");
    std::fs::write(&path, ADMIN_TOKEN).expect("write admin token");
    format!("token_file = {:?}\n", path.display().to_string())
}

/// The `Authorization` value that unlocks `/deprecations`' callers.
pub fn admin_bearer() -> String {
    format!("Bearer {ADMIN_TOKEN}")
}

pub const ACTION: Duration = Duration::from_millis(200);

/// A simulated cluster served on 127.0.0.1:0; stops accepting when dropped.
pub struct Sim {
    pub addr: SocketAddr,
    pub sim: Arc<Simulator>,
    /// `None` for a multi-node cluster ([`super::topology`]), whose nodes stop on drop.
    pub(super) stop: Option<oneshot::Sender<()>>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        if self.stop.is_none() {
            self.sim.stop_nodes();
        }
    }
}

impl Sim {
    /// A cluster of `version` on its built-in seed, with [`ACTION`]-long upgrade actions.
    pub async fn start(version: SimVersion) -> Sim {
        Sim::timed(version, ACTION).await
    }

    /// A cluster of `version` on its seed whose upgrade actions take `action_duration`.
    pub async fn timed(version: SimVersion, action_duration: Duration) -> Sim {
        Sim::with(SimConfig {
            version,
            state: None,
            action_duration,
        })
        .await
    }

    /// A cluster from a full [`SimConfig`] (a chosen starting state, say).
    pub async fn with(cfg: SimConfig) -> Sim {
        Sim::serve(cfg, None)
    }

    /// A cluster from a full [`SimConfig`] served over TLS by `acceptor` (ALPN as it offers).
    pub async fn tls(cfg: SimConfig, acceptor: tokio_rustls::TlsAcceptor) -> Sim {
        Sim::serve(cfg, Some(acceptor))
    }

    /// A cluster of `version` on its seed, served over TLS with `ca`'s server certificate: a
    /// client trusts it only with `ca.ca_file` (`upstream.ca_file`).
    pub async fn tls_signed_by(ca: &TestCa, version: SimVersion, action_duration: Duration) -> Sim {
        let cfg = SimConfig {
            version,
            state: None,
            action_duration,
        };
        Sim::tls(cfg, tokio_rustls::TlsAcceptor::from(ca.server_config())).await
    }

    fn serve(cfg: SimConfig, acceptor: Option<tokio_rustls::TlsAcceptor>) -> Sim {
        let listener = listener::bind(loopback()).expect("bind sim");
        let addr = listener.local_addr().expect("sim addr");
        let sim = Simulator::new(cfg);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(sim.clone().serve(listener, acceptor, async move {
            let _ = stopped.await;
        }));
        Sim {
            addr,
            sim,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:PORT`, for a shim's `upstream.url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn get(&self, path: &str) -> Reply {
        get(self.addr, path, &admin()).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        post_json(self.addr, path, &admin(), &body).await
    }

    /// `GET /v1/bdbs/{uid}` as JSON, asserting 200.
    pub async fn bdb(&self, uid: u64) -> Value {
        let r = self.get(&format!("/v1/bdbs/{uid}")).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    /// The (module_name → semantic_version) pairs of a database, sorted.
    pub async fn module_versions(&self, uid: u64) -> Vec<(String, String)> {
        let bdb = self.bdb(uid).await;
        let mut out: Vec<(String, String)> = bdb["module_list"]
            .as_array()
            .expect("module_list")
            .iter()
            .map(|m| {
                let s = |k: &str| m[k].as_str().expect(k).to_owned();
                (s("module_name"), s("semantic_version"))
            })
            .collect();
        out.sort();
        out
    }

    /// Polls `GET /v2/actions/{uid}` until it is completed or failed (5 s at most).
    pub async fn wait_action(&self, action_uid: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let a = self.get(&format!("/v2/actions/{action_uid}")).await.json();
            if a["status"] == "completed" || a["status"] == "failed" {
                return a;
            }
            assert!(Instant::now() < deadline, "action never finished: {a}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Starts an upgrade on the new route, asserting 200, and returns its `action_uid`.
    pub async fn start_upgrade(&self, uid: u64, body: Value) -> String {
        let r = self.post(&format!("/v1/bdbs/{uid}/upgrade"), body).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()["action_uid"]
            .as_str()
            .expect("action_uid")
            .to_owned()
    }
}

/// A multi-node simulated cluster (issue 21): one listener per node of the seed over one
/// shared [`Simulator`], node 1 the master; stops every node when dropped.
pub struct SimNodes {
    pub sim: Arc<Simulator>,
    /// Each node's uid and listener address, in uid order.
    pub nodes: Vec<(u64, SocketAddr)>,
}

impl SimNodes {
    /// A cluster of `version` on its seed (three nodes), [`ACTION`]-long actions, plain HTTP.
    pub async fn start(version: SimVersion) -> SimNodes {
        let sim = Simulator::new(SimConfig {
            version,
            state: None,
            action_duration: ACTION,
        });
        let nodes = sim.serve_nodes(None).await.expect("serve nodes");
        SimNodes { sim, nodes }
    }

    /// A shim in front of the nodes `order` names (`upstream.nodes`, in that order) with the
    /// test defaults and `extra_toml` over them.
    pub async fn shim(&self, order: &[u64], extra_toml: &str) -> Shim {
        let urls: Vec<String> = order
            .iter()
            .map(|u| format!("\"http://{}\"", self.addr(*u)))
            .collect();
        let base = format!("[upstream]\nnodes = [{}]\n", urls.join(", "));
        let cfg = nodes_config(&base, extra_toml).unwrap_or_else(|e| panic!("shim config: {e}"));
        Shim::start(cfg).await
    }

    /// Node `uid`'s listener address.
    pub fn addr(&self, uid: u64) -> SocketAddr {
        self.nodes
            .iter()
            .find(|(u, _)| *u == uid)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("no node {uid}"))
    }
}

impl Drop for SimNodes {
    fn drop(&mut self) {
        self.sim.stop_nodes();
    }
}

impl Deref for Sim {
    type Target = Simulator;
    fn deref(&self) -> &Simulator {
        &self.sim
    }
}

/// A state to start a simulator from: what `snapshot()` shows, read back as a [`SimState`].
pub fn state_of(snapshot: Value) -> SimState {
    serde_json::from_value(snapshot).expect("a snapshot is a SimState")
}

/// A shim served in this process on 127.0.0.1:0; shuts down (and drains) when dropped.
pub struct Shim {
    pub addr: SocketAddr,
    pub tls: bool,
    stop: Option<oneshot::Sender<()>>,
}

impl Shim {
    /// A shim from a validated configuration (its `listen.address` is ignored: port 0).
    pub async fn start(cfg: Config) -> Shim {
        let acceptor = cfg
            .listen
            .tls
            .as_ref()
            .map(|files| tls::acceptor(&files.cert, &files.key).expect("shim TLS"));
        Shim::serve(Arc::new(App::new(cfg).expect("shim app")), acceptor)
    }

    /// A shim serving an [`App`] the test built itself (with its own clock, say), over TLS
    /// when given an acceptor.
    pub fn serve(app: Arc<App>, acceptor: Option<tokio_rustls::TlsAcceptor>) -> Shim {
        let listener = listener::bind(loopback()).expect("bind shim");
        let addr = listener.local_addr().expect("shim addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let tls = acceptor.is_some();
        tokio::spawn(deprecation_shim::run(app, listener, acceptor, async move {
            let _ = stopped.await;
        }));
        Shim {
            addr,
            tls,
            stop: Some(stop),
        }
    }

    /// A shim configured by a whole `toml` (every other key at its default).
    pub async fn from_toml(toml: &str) -> Shim {
        let raw = config::parse_raw(toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
        let cfg = Config::from_raw(raw).unwrap_or_else(|e| panic!("{e}\n{toml}"));
        Shim::start(cfg).await
    }

    /// A shim in front of `upstream_url` with every other setting at its default.
    pub async fn for_upstream(upstream_url: &str) -> Shim {
        Shim::from_toml(&format!("[upstream]\nurl = \"{upstream_url}\"\n")).await
    }

    /// A shim in front of `upstream` with the test defaults of [`test_config`], `extra_toml`
    /// merged over them, so a test names only the keys it is about.
    pub async fn in_front_of(upstream: SocketAddr, extra_toml: &str) -> Shim {
        let cfg = test_config(upstream, extra_toml).unwrap_or_else(|e| panic!("shim config: {e}"));
        Shim::start(cfg).await
    }
}

impl Drop for Shim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A simulated cluster of `version` (actions take 50 ms) and a shim in front of it with `toml`
/// over the test defaults, auditing to its own file; the cluster's request log emptied of the
/// shim's start.
pub async fn audited(version: SimVersion, toml: &str) -> (Sim, AuditFile, Shim) {
    let sim = Sim::timed(version, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml(toml)).await;
    sim.clear_requests();
    (sim, audit, shim)
}

/// A differential pair: the `old` cluster (its address and handle), and the shim (with
/// `extra_toml`) in front of a `new` cluster started from the old one's state: same databases,
/// certificates and users; the nodes run the new release (the state carries each node's
/// `software_version`, which `GET /v1/bootstrap` reports).
pub async fn pair(
    old: SimVersion,
    new: SimVersion,
    extra_toml: &str,
) -> (SocketAddr, Sim, Shim, Sim) {
    let old_sim = Sim::timed(old, Duration::from_millis(50)).await;
    let old_addr = old_sim.addr;
    let mut state = old_sim.snapshot();
    if let Some(nodes) = state["nodes"].as_array_mut() {
        for node in nodes {
            node["software_version"] = serde_json::json!(new.software_version());
        }
    }
    let cfg = SimConfig {
        version: new,
        state: Some(state_of(state)),
        action_duration: Duration::from_millis(50),
    };
    let (new_sim, shim) = super::topology::front_of(cfg, extra_toml).await;
    (old_addr, old_sim, shim, new_sim)
}

/// An admin port served in this process on 127.0.0.1:0; stops accepting when dropped.
pub struct AdminPort {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl AdminPort {
    /// The admin port over `state` (a built `App`'s `admin`, or one the test made).
    pub fn serve(state: Arc<AdminState>) -> AdminPort {
        let listener = listener::bind(loopback()).expect("bind admin port");
        let addr = listener.local_addr().expect("admin port addr");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(admin::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        AdminPort { addr, _stop: stop }
    }
}

/// [`test_config`]'s defaults without `upstream.url`, `upstream_toml` (naming the nodes) and
/// then `extra_toml` merged over them, validated.
pub fn nodes_config(upstream_toml: &str, extra_toml: &str) -> Result<Config, config::ConfigError> {
    let base = "[listen]\naddress = \"127.0.0.1:0\"\n\
         [upstream]\nrequest_timeout = \"10s\"\n\
         [shim]\npoll_interval = \"20ms\"\nwait_deadline = \"10s\"\n";
    let mut merged: toml::Table = toml::from_str(base).expect("base config");
    for more in [upstream_toml, extra_toml] {
        merge(&mut merged, toml::from_str(more).expect("TOML"));
    }
    config::parse_raw(&merged.to_string()).and_then(Config::from_raw)
}

/// The test defaults (plain http to `upstream`, `shim.poll_interval = "20ms"`, 10 s deadlines)
/// with `extra_toml` merged over them, validated.
pub fn test_config(upstream: SocketAddr, extra_toml: &str) -> Result<Config, config::ConfigError> {
    let base = format!(
        "[listen]\naddress = \"127.0.0.1:0\"\n\
         [upstream]\nurl = \"http://{upstream}\"\nrequest_timeout = \"10s\"\n\
         [shim]\npoll_interval = \"20ms\"\nwait_deadline = \"10s\"\n"
    );
    let mut merged: toml::Table = toml::from_str(&base).expect("base config");
    let extra: toml::Table = toml::from_str(extra_toml).expect("extra_toml is TOML");
    merge(&mut merged, extra);
    config::parse_raw(&merged.to_string()).and_then(Config::from_raw)
}

fn merge(into: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// The binary run with `--config` on `toml` written to a fresh temp dir, which is removed when
/// the returned [`Spawned`] is dropped (after the process is killed and reaped).
pub fn spawn_with_toml(toml: &str) -> Spawned {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shim.toml");
    std::fs::write(&path, toml).expect("write shim.toml");
    let process = spawn_shim(&["--config", &path.display().to_string()]);
    Spawned {
        process,
        config: path,
        _dir: dir,
    }
}

/// A subprocess shim and the temp dir holding its configuration. Fields drop in order: the
/// process is killed and reaped before its directory goes.
pub struct Spawned {
    pub process: ShimProcess,
    pub config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Deref for Spawned {
    type Target = ShimProcess;
    fn deref(&self) -> &ShimProcess {
        &self.process
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}
