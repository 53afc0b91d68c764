//! Real servers on `127.0.0.1:0` for the shim's integration tests: a simulated cluster, and a
//! shim configured in code in front of it. Both serve until the test's runtime is dropped.
#![allow(dead_code)]

use deprecation_shim::config::{self, Config};
use deprecation_shim::sim::{SimConfig, SimState, SimVersion, Simulator};
use deprecation_shim::App;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// A simulated cluster of `version` on its built-in seed.
pub async fn start_sim(
    version: SimVersion,
    action_duration: Duration,
) -> (SocketAddr, Arc<Simulator>) {
    start_sim_with(SimConfig {
        version,
        state: None,
        action_duration,
    })
    .await
}

/// A simulated cluster from a full [`SimConfig`] (a chosen starting state, say).
pub async fn start_sim_with(cfg: SimConfig) -> (SocketAddr, Arc<Simulator>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sim");
    let addr = listener.local_addr().expect("sim addr");
    let sim = Simulator::new(cfg);
    tokio::spawn(sim.clone().serve(listener, None, std::future::pending()));
    (addr, sim)
}

/// A state to start a simulator from: what `snapshot()` shows, read back as a [`SimState`].
pub fn state_of(snapshot: Value) -> SimState {
    serde_json::from_value(snapshot).expect("a snapshot is a SimState")
}

/// A shim in front of `upstream`. `extra_toml` is merged over the test defaults (plain http to
/// the simulator, `shim.poll_interval = "20ms"`), so a test names only the keys it is about.
pub async fn start_shim(upstream: SocketAddr, extra_toml: &str) -> SocketAddr {
    let cfg = shim_config(upstream, extra_toml).unwrap_or_else(|e| panic!("shim config: {e}"));
    let app = Arc::new(App::new(cfg).expect("shim app"));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind shim");
    let addr = listener.local_addr().expect("shim addr");
    tokio::spawn(deprecation_shim::run(
        app,
        listener,
        None,
        std::future::pending(),
    ));
    addr
}

/// The validated configuration [`start_shim`] uses.
pub fn shim_config(upstream: SocketAddr, extra_toml: &str) -> Result<Config, config::ConfigError> {
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
