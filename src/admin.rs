//! The admin port, off the data port: `GET /healthz` (the process answers), `GET /readyz`
//! (this replica should get traffic; `?verbose` explains), `GET /metrics`
//! (Prometheus/OpenMetrics text) and `GET /deprecations` (who called the old routes since start,
//! the rows of the `report` command, and each rule's lifecycle live: phase, next brownout,
//! Sunset, days left, and its calls per phase). Plain HTTP through the shared [`listener::serve`] accept
//! loop; it never proxies.
//!
//! Decisions (readiness for orchestrators and load balancers):
//! - `/readyz` is 200 while the listeners are bound, the configuration is loaded (the admin
//!   port is only served after both) and no stop signal has arrived; 503 `draining` from the
//!   stop signal on, so a load balancer stops sending before the listener closes
//!   (`listen.drain_delay`).
//! - Traffic does not matter: an idle replica stays ready (a Kubernetes Service would otherwise
//!   drop it, it would get no traffic and never become ready again).
//! - The cluster's reachability is the background probe's ([`crate::probe`]); it gates
//!   readiness only with `admin.ready_requires_cluster = true` (503 `cluster_unreachable`).

use crate::audit::AuditLog;
use crate::config::AdminToken;
use crate::error::{json_response, ApiError};
use crate::lifecycle::{Clock, Lifecycle, SystemClock};
use crate::listener::{self, Limits};
use crate::metrics::{self, Metrics};
use crate::probe::{ClusterHealth, ClusterStatus};
use arc_swap::{ArcSwap, ArcSwapOption};
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// What the admin endpoints read; the proxy holds the same `Arc`s and updates them.
pub struct AdminState {
    pub metrics: Arc<Metrics>,
    pub audit: Arc<AuditLog>,
    /// The background probe's findings.
    pub cluster: ClusterStatus,
    started: Instant,
    /// Milliseconds after `started` of the last upstream reply to a caller's request, plus one;
    /// 0 = never. Shown by `/readyz?verbose`; readiness does not depend on it.
    last_upstream_ok: AtomicU64,
    draining: AtomicBool,
    requires_cluster: AtomicBool,
    /// Each rule's lifecycle (`[lifecycle.<rule>]`), set at start and on every reload.
    lifecycles: ArcSwap<BTreeMap<String, Lifecycle>>,
    /// "Now" for `/deprecations`: the data port's clock (`--now`, tests), set with the
    /// lifecycles (issue 20: the admin port read the wall clock while calls were refused by the
    /// injected one).
    clock: ArcSwap<Arc<dyn Clock>>,
    /// The bearer that may read caller identities on `/deprecations` (`admin.token_file`).
    token: ArcSwapOption<AdminToken>,
    /// The upstream nodes of the `App` built last (issue 21).
    nodes: ArcSwapOption<crate::upstream::nodes::NodeSet>,
}

/// Why `/readyz` says not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    Draining,
    ClusterUnreachable,
}

/// The readiness rule, as a pure function of its inputs.
pub fn readiness(
    draining: bool,
    requires_cluster: bool,
    cluster: ClusterHealth,
) -> Result<(), NotReady> {
    if draining {
        Err(NotReady::Draining)
    } else if requires_cluster && cluster != ClusterHealth::Up {
        Err(NotReady::ClusterUnreachable)
    } else {
        Ok(())
    }
}

impl AdminState {
    pub fn new(metrics: Arc<Metrics>, audit: Arc<AuditLog>) -> AdminState {
        AdminState {
            metrics,
            audit,
            cluster: ClusterStatus::default(),
            started: Instant::now(),
            last_upstream_ok: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            requires_cluster: AtomicBool::new(false),
            lifecycles: ArcSwap::from_pointee(BTreeMap::new()),
            clock: ArcSwap::from_pointee(Arc::new(SystemClock) as Arc<dyn Clock>),
            token: ArcSwapOption::empty(),
            nodes: ArcSwapOption::empty(),
        }
    }

    /// The upstream nodes `/readyz?verbose` lists, at start and on reload.
    pub fn set_nodes(&self, nodes: Arc<crate::upstream::nodes::NodeSet>) {
        self.nodes.store(Some(nodes));
    }

    /// The lifecycles `/deprecations` shows (`config.lifecycle.rules`), at start and on reload.
    pub fn set_lifecycles(
        &self,
        lifecycles: &crate::config::lifecycle::Lifecycles,
        clock: Arc<dyn Clock>,
    ) {
        self.lifecycles.store(Arc::new(lifecycles.rules.clone()));
        self.clock.store(Arc::new(clock));
    }

    /// The token that may read caller identities (`None`: nobody may), at start and on reload.
    pub fn set_token(&self, token: Option<AdminToken>) {
        self.token.store(token.map(Arc::new));
    }

    /// Whether `authorization` carries the configured bearer token.
    fn shows_callers(&self, authorization: Option<&HeaderValue>) -> bool {
        match (&*self.token.load(), authorization) {
            (Some(token), Some(given)) => token.admits(given.as_bytes()),
            _ => false,
        }
    }

    /// "Now" on the data port's clock.
    pub fn now(&self) -> SystemTime {
        self.clock.load().now()
    }

    /// The `/deprecations` document at `now`: each rule's schedule and live counts, and the
    /// callers since start.
    pub fn deprecations(&self, now: SystemTime) -> crate::audit::report::Report {
        self.audit.summary_at(&self.lifecycles.load(), now)
    }

    /// Records that the upstream just answered. Cheap: one relaxed atomic store.
    pub fn mark_upstream_ok(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_upstream_ok.store(ms + 1, Ordering::Relaxed);
    }

    /// How long ago the upstream last answered; None if it never did.
    pub fn since_upstream_ok(&self) -> Option<Duration> {
        match self.last_upstream_ok.load(Ordering::Relaxed) {
            0 => None,
            at => {
                let now = self.started.elapsed();
                Some(now.saturating_sub(Duration::from_millis(at - 1)))
            }
        }
    }

    /// From the stop signal on, `/readyz` answers 503. There is no way back: the process ends.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
        self.metrics.set_draining();
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// `admin.ready_requires_cluster`, set at start and on every reload.
    pub fn set_requires_cluster(&self, requires: bool) {
        self.requires_cluster.store(requires, Ordering::Relaxed);
    }

    pub fn readiness(&self) -> Result<(), NotReady> {
        readiness(
            self.is_draining(),
            self.requires_cluster.load(Ordering::Relaxed),
            self.cluster.health(),
        )
    }

    pub fn is_ready(&self) -> bool {
        self.readiness().is_ok()
    }
}

/// Limits of the admin listener: few connections, a short drain.
pub fn limits() -> Limits {
    Limits {
        max_connections: 64,
        shutdown_grace: Duration::from_secs(2),
        ..Limits::default()
    }
}

/// Serves the admin endpoints on an already-bound listener until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AdminState>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    listener::serve(
        listener,
        None,
        limits(),
        move |_conn| {
            let state = state.clone();
            hyper::service::service_fn(move |req: Request<Incoming>| {
                let auth = req.headers().get(header::AUTHORIZATION);
                let resp = respond(
                    &state,
                    req.method(),
                    req.uri().path(),
                    req.uri().query(),
                    auth,
                );
                async move { Ok::<_, Infallible>(resp) }
            })
        },
        shutdown,
    )
    .await
}

/// Says whether `/deprecations` lists callers (`shown`) or only counts (`hidden`: set
/// `admin.token_file` and send `Authorization: Bearer <token>`).
pub const CALLERS_HEADER: header::HeaderName =
    header::HeaderName::from_static("x-deprecation-shim-callers");

const PATHS: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/deprecations"];

/// The reply to one admin request (pure: no I/O beyond reading the state). `authorization`
/// unlocks the caller identities of `/deprecations` (issue 20): without the configured bearer
/// token, its `callers` list is empty and only the per-rule and total counts are shown.
pub fn respond(
    state: &AdminState,
    method: &Method,
    path: &str,
    query: Option<&str>,
    authorization: Option<&HeaderValue>,
) -> Response<Full<Bytes>> {
    if !PATHS.contains(&path) {
        return ApiError::not_found("not_found", format!("no admin endpoint {path}")).to_response();
    }
    if method != Method::GET {
        let mut resp = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{path} answers GET only"),
        )
        .to_response::<Full<Bytes>>();
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return resp;
    }
    match path {
        "/healthz" => json(StatusCode::OK, &serde_json::json!({"status": "ok"})),
        "/readyz" => readyz(state, wants_verbose(query)),
        "/metrics" => {
            let mut resp = Response::new(Full::new(Bytes::from(state.metrics.encode())));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            resp
        }
        _ => {
            let mut doc = state.deprecations(state.now());
            let full = state.shows_callers(authorization);
            if !full {
                doc.callers.clear();
            }
            let mut resp = json(StatusCode::OK, &doc);
            resp.headers_mut().insert(
                CALLERS_HEADER,
                HeaderValue::from_static(if full { "shown" } else { "hidden" }),
            );
            resp
        }
    }
}

/// `?verbose` (Kubernetes style), also `?verbose=1|true`.
fn wants_verbose(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|p| matches!(p, "verbose" | "verbose=" | "verbose=1" | "verbose=true"))
    })
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn readyz(state: &AdminState, verbose: bool) -> Response<Full<Bytes>> {
    let verdict = state.readiness();
    let mut body = match verdict {
        Ok(()) => serde_json::json!({"status": "ready"}),
        Err(why) => {
            let (code, text) = match why {
                NotReady::Draining => (
                    "draining",
                    "a stop signal arrived: this replica is draining and takes no new traffic",
                ),
                NotReady::ClusterUnreachable => (
                    "cluster_unreachable",
                    "the cluster did not answer the last probe and admin.ready_requires_cluster is on",
                ),
            };
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, text).body_json()
        }
    };
    if verbose {
        let c = &state.cluster;
        let checks = serde_json::json!({
            "listeners_bound": true,
            "configuration_loaded": true,
            "draining": state.is_draining(),
            "cluster": {
                "state": c.health().as_str(),
                "gates_readiness": state.requires_cluster.load(Ordering::Relaxed),
                "last_probe_ms_ago": c.since_checked().map(ms),
                "last_status": c.last_status(),
                "error": c.last_error(),
                "note": c.last_status().filter(|s| (300..400).contains(s)).map(|_| FOLLOWER_NOTE),
                "nodes": node_checks(state),
            },
            "last_upstream_reply_ms_ago": state.since_upstream_ok().map(ms),
        });
        if let Some(obj) = body.as_object_mut() {
            obj.insert("checks".into(), checks);
        }
    }
    let status = match verdict {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    json(status, &body)
}

/// What `/readyz?verbose` says of a node whose last answer was a redirect (API-CATALOGUE §10 T5).
pub const FOLLOWER_NOTE: &str = "upstream is a follower; handle_redirects is off";

/// Each upstream node: up, master, follower (its last answer a redirect: `handle_redirects` is
/// off on the cluster), its counters.
fn node_checks(state: &AdminState) -> serde_json::Value {
    let nodes = state.nodes.load();
    let view = nodes.as_ref().map(|n| n.view()).unwrap_or_default();
    view.iter()
        .map(|n| {
            serde_json::json!({
                "url": n.url, "up": n.up, "master": n.master, "follower": n.follower,
                "requests": n.requests, "failures": n.failures,
                "note": n.follower.then_some(FOLLOWER_NOTE),
            })
        })
        .collect()
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Full<Bytes>> {
    // The admin documents are plain structs of strings and numbers: serialising cannot fail.
    let body = serde_json::to_vec(value).unwrap_or_default();
    json_response(status, Bytes::from(body))
}

#[cfg(test)]
#[path = "admin_tests.rs"]
mod tests;
