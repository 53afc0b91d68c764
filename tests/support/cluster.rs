//! Old names of the [`harness`](super::harness), kept so tests written against them still
//! compile. Each returns what it always did; the servers live until the test's runtime ends.
//! New tests use [`Sim`] and [`Shim`] directly, which stop when dropped.
#![allow(dead_code)]

use super::harness::{Shim, Sim};
use deprecation_shim::sim::{SimConfig, SimVersion, Simulator};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[allow(unused_imports)]
pub use super::harness::state_of;
#[allow(unused_imports)]
pub use super::harness::test_config as shim_config;

/// Alias of [`Sim::timed`], detached.
pub async fn start_sim(
    version: SimVersion,
    action_duration: Duration,
) -> (SocketAddr, Arc<Simulator>) {
    Sim::timed(version, action_duration).await.detach()
}

/// Alias of [`Sim::with`], detached.
pub async fn start_sim_with(cfg: SimConfig) -> (SocketAddr, Arc<Simulator>) {
    Sim::with(cfg).await.detach()
}

/// Alias of [`Shim::in_front_of`], detached.
pub async fn start_shim(upstream: SocketAddr, extra_toml: &str) -> SocketAddr {
    Shim::in_front_of(upstream, extra_toml).await.detach()
}
