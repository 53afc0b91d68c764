//! deprecation-shim: a reverse proxy in front of the Redis Software REST API that keeps the
//! deprecated `POST /v1/modules/upgrade/bdb/{uid}` working by translating it to
//! `POST /v1/bdbs/{uid}/upgrade`, and streams every other route through untouched.
//!
//! Map of the crate (where a request goes, in order):
//! - [`cli`] (on top, under `main.rs`): flags become configuration overrides.
//! - [`serve`]: the wiring: listeners, reload, probe and stop, from a [`config::Config`] alone.
//! - [`server`]: listeners, TLS accept, connection limits, graceful stop.
//! - [`proxy`]: classify the route, forward pass-through requests, header rules, and the
//!   executor of the deprecated routes ([`proxy::deprecated`]: look-ups, POST, polling, audit).
//! - [`rules`], [`shim`]: the pure cores (no I/O): the rule table, and the module-upgrade
//!   translation. They import nothing from the request path.
//! - [`upstream`]: the pooled HTTPS client towards the cluster.
//! - [`error`]: the cluster's error shape and blame.
//! - [`audit`]: the audit trail of deprecated calls, and the per-caller report over it.
//! - [`metrics`], [`admin`]: Prometheus metrics and the admin port (health, readiness, usage);
//!   [`probe`]: the background check that the cluster answers.
//! - [`sim`]: a simulated cluster for tests and the demo.

pub mod admin;
pub mod audit;
pub mod check;
pub mod cidr;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod escape;
pub mod lifecycle;
pub mod listener;
pub mod locks;
pub mod metrics;
pub mod probe;
pub mod proxy;
pub mod rules;
pub mod sim;
pub mod telemetry;
pub mod tls;
pub mod upstream;
pub mod wiring;
pub mod workers;

pub use proxy::App;
pub use wiring::{run, run_live, serve_from_config, shutdown_signal};
