//! deprecation-shim: a reverse proxy in front of the Redis Software REST API that keeps the
//! deprecated `POST /v1/modules/upgrade/bdb/{uid}` working by translating it to
//! `POST /v1/bdbs/{uid}/upgrade`, and streams every other route through untouched.
//!
//! Map of the crate (where a request goes, in order):
//! - [`server`]: listeners, TLS accept, connection limits, graceful stop.
//! - [`proxy`]: classify the route, forward pass-through requests, header rules.
//! - [`shim`]: the old ↔ new translation (pure) and the look-ups/polling around it.
//! - [`upstream`]: the pooled HTTPS client towards the cluster.
//! - [`error`]: the cluster's error shape and blame.
//! - [`sim`]: a simulated cluster for tests and the demo.

pub mod error;
pub mod server;
pub mod sim;
