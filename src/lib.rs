//! deprecation-shim: a reverse proxy in front of the Redis Software REST API that keeps the
//! deprecated routes working by translating them to their successors, streams every other route
//! through untouched, and tells the operator who still calls them.
//!
//! Map of the crate, top-down (a module imports only what is listed below it):
//! - [`cli`] (on top, under `main.rs`): flags become configuration overrides; `check`, `report`.
//! - [`wiring`]: the running process, from a [`config::Config`] alone: binds the listeners,
//!   starts the admin port, the probe loop, SIGHUP reload, and stops them all.
//! - [`listener`]: the accept loop: TLS accept, connection limits, graceful stop.
//! - [`proxy`]: the request path. [`proxy::handle`] classifies each request with the rule
//!   table; a pass-through streams to the cluster ([`proxy::forward`]); a deprecated call lives
//!   through one envelope ([`proxy::deprecated::envelope`]: audit record, lifecycle gate,
//!   admission, the rule's own step, deprecation headers, outcome).
//! - [`admin`], [`metrics`], [`audit`]: the admin port, Prometheus metrics, the audit trail.
//! - [`upstream`]: the pooled HTTPS client towards the cluster.
//! - [`rules`], [`lifecycle`]: the pure cores (no I/O, nothing from the request path; the
//!   `layers` test enforces it): the rule table, each rule's translation, the lifecycles.
//! - [`error`]: the cluster's error shape and blame; [`sim`]: a simulated cluster for tests and
//!   the demo.
//!
//! Naming rule: one name per rule family, mirrored across the three places a rule lives:
//! `rules/X.rs` (its pure core) ↔ `proxy/deprecated/X.rs` (its step, the I/O) ↔ `sim/X.rs` (the
//! simulated cluster's side). For example `rules/module_upgrade/` ↔
//! `proxy/deprecated/module_upgrade.rs` ↔ `sim/module_upgrade.rs` (with `sim/legacy.rs`, the old
//! route served natively, the differential's reference); `rules/certs.rs`
//! ↔ `proxy/deprecated/certs.rs` ↔ `sim/certs.rs`. A new rule is one pure file in `rules/`, one
//! step file where it needs I/O, and one line in the step table (`proxy/deprecated/mod.rs`).
//!
//! The crate-root re-exports below are for library users (`main.rs`, tests, benches); code
//! inside the crate names modules directly (`crate::proxy::App`).

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
pub mod readiness;
pub mod rules;
pub mod sim;
pub mod telemetry;
pub mod tls;
pub mod upstream;
pub mod wiring;
pub mod workers;

pub use proxy::App;
pub use wiring::{run, run_live, serve_from_config, shutdown_signal};
