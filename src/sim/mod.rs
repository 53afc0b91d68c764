//! A simulated Redis Software cluster API, for the shim's tests, the demo, and users'
//! rehearsals: the parts of API.md §1–§6 and API-RULES §2–§7 the shim depends on, per release
//! (7.4, 7.8, 7.22, 8.0, 8.2: the version matrix of API-RULES §7), with the asynchronous
//! `SMUpgradeBDB` action, the 7.8.2 upgrade trap, the old route served natively on 7.x,
//! Basic and JWT auth with two roles, fault switches and a request log.
//!
//! Where things live (each rule family under the name of its pure core in `rules/` and its
//! step in `proxy/deprecated/`): `service` is where a request enters (record, faults, auth, dispatch);
//! `routes` classifies it (release gates included); `reads`, `cluster` (bootstrap, `PUT
//! /v1/cluster`), `module_upgrade` (the new route the seed rule translates to) and `legacy` (old route and its
//! sibling, natively) answer it,
//! with `compat` holding the module compatibility rules; [`authorize`] the tokens and
//! `/v1/users/authorize`; [`certs`] certificate replacement; [`modules`] (7.x module upload and
//! delete, with `multipart`) and `user_defined` (8.x) the module packages; [`debuginfo`] the
//! support packages; [`redis8`] the Redis 8 databases; `actions` runs the state machines;
//! [`seed`] holds the built-in data; [`faults`] and `control` the switches and `/__sim`
//! routes; `auth` the built-in users; [`cli`] the `simulate` command.
//! API-CATALOGUE part (a): [`users_password`] (R13, on the password lists of [`users`]),
//! [`stats_v1`] (R18), `license` and `logs`, whose query parameters and times `query` reads;
//! [`users_update`] (`PUT /v1/users/{uid}`, F1's second route).

mod actions;
mod auth;
pub mod authorize;
mod body;
pub mod certs;
pub mod cli;
mod cluster;
mod compat;
mod control;
pub mod debuginfo;
pub mod faults;
mod fields;
mod legacy;
mod module_upgrade;
pub mod modules;
mod multipart;
mod reads;
pub mod redis8;
mod redis_acls;
mod roles;
mod routes;
pub mod seed;
mod service;
pub mod state;
mod user_defined;
pub mod version;
// issue 22 (a): password, stats, license, logs
mod license;
mod logs;
mod query;
pub mod stats_v1;
pub mod users;
pub mod users_password;
pub mod users_update;

// issue 21: multi-node mode (listeners per node, master, redirects)
mod cluster_nodes;

// issue 22 (b): module config, revamp, syncer state, maintenance
mod bdb_update;
mod catalogue_b;
mod maintenance;
mod module_config;
mod revamp;
mod syncer;
pub use catalogue_b::{PutModuleList, SiblingOn8x};

pub use auth::{DEMO_ADMIN, DEMO_VIEWER};
pub use cli::{load_tls, run_simulate, SimulateArgs};
pub use faults::{FaultSet, Faults, Redis8Modules, RouteMatch};
pub use state::SimState;
pub use version::SimVersion;

use bytes::Bytes;
use http::Method;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::listener::{self, Limits};
use crate::locks::lock;

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub version: SimVersion,
    /// Starting state; the built-in seed for `version` when `None`.
    pub state: Option<SimState>,
    /// How long an upgrade action takes from creation to completion.
    pub action_duration: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            version: SimVersion::default(),
            state: None,
            action_duration: Duration::from_secs(3),
        }
    }
}

// issue 22 (a): password, stats, license, logs
impl SimConfig {
    /// The same configuration with every node reporting `build` as its `software_version`
    /// (what `GET /v1/bootstrap` and `GET /v1/nodes` show, and what the build-dependent models,
    /// R13's RS161290 among them, go by). `build` must be `MAJOR.MINOR.PATCH-BUILD` of
    /// `version` (`7.8.2-34` for 7.8), else the error says why. Applied to `state`, or to
    /// the seed when there is none; the release defaults stay as they are.
    pub fn with_build(mut self, build: &str) -> Result<SimConfig, String> {
        let mut state = self
            .state
            .take()
            .unwrap_or_else(|| seed::seed(self.version));
        state.set_build(self.version, build)?;
        self.state = Some(state);
        Ok(self)
    }
}

/// One request as received, for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: Method,
    /// Path and query, as sent.
    pub path: String,
    /// The `Authorization` header value, verbatim.
    pub authorization: Option<String>,
    pub body: Bytes,
    /// The node that received it (multi-node mode, [`Simulator::serve_nodes`]); `None` in
    /// single-node mode.
    pub node: Option<u64>,
    /// The W3C `traceparent` header, verbatim (the shim's telemetry, issue 24).
    pub traceparent: Option<String>,
}

/// The simulated cluster. Share it as `Arc<Simulator>`; every method takes `&self`.
#[derive(Debug)]
pub struct Simulator {
    version: SimVersion,
    action_duration: Duration,
    store: Store,
    faults: Faults,
    log: Mutex<Vec<RecordedRequest>>,
    /// The node listeners in multi-node mode (issue 21); empty otherwise.
    nodes: cluster_nodes::Nodes,
}

impl Simulator {
    pub fn new(cfg: SimConfig) -> Arc<Simulator> {
        let state = cfg.state.unwrap_or_else(|| seed::seed(cfg.version));
        Arc::new(Simulator {
            version: cfg.version,
            action_duration: cfg.action_duration,
            store: Store(Mutex::new(state)),
            faults: Faults::default(),
            log: Mutex::new(Vec::new()),
            nodes: cluster_nodes::Nodes::default(),
        })
    }

    /// Serves the cluster API on `listener` (HTTPS when `tls` is given) until `shutdown`.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        tls: Option<TlsAcceptor>,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        self.serve_as(listener, tls, None, shutdown).await
    }

    /// [`Simulator::serve`] as node `node` (multi-node mode) or as the one node (`None`).
    async fn serve_as(
        self: Arc<Self>,
        listener: TcpListener,
        tls: Option<TlsAcceptor>,
        node: Option<u64>,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let limits = Limits {
            shutdown_grace: Duration::from_secs(5),
            ..Limits::default()
        };
        let make = move |_conn| service::SimService(self.clone(), node);
        listener::serve(listener, tls, limits, make, shutdown).await
    }

    pub fn version(&self) -> SimVersion {
        self.version
    }

    /// The fault switches, live.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The whole state (`cluster`, `nodes`, `modules`, `bdbs`, `actions`), brought up to date.
    pub fn snapshot(&self) -> serde_json::Value {
        self.store.with(|s| s.to_json())
    }

    /// Every cluster request received so far (`/__sim` control requests are not recorded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    fn record(&self, req: RecordedRequest) {
        lock(&self.log).push(req);
    }
}

/// The state behind its lock. The only way in is [`Store::with`], which first brings every
/// action up to date, so an action's completion is applied before anyone can see the state.
#[derive(Debug)]
struct Store(Mutex<SimState>);

impl Store {
    fn with<R>(&self, f: impl FnOnce(&mut SimState) -> R) -> R {
        let mut state = lock(&self.0);
        actions::tick(&mut state, Instant::now());
        f(&mut state)
    }
}
