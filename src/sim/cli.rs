//! The `simulate` command: its arguments, loading the state file and TLS material (before any
//! port is bound, so a bad path fails fast with a message naming it), and serving.

use clap::Args;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_rustls::TlsAcceptor;

use super::{Redis8Modules, SimConfig, SimState, SimVersion, Simulator};
use crate::listener;

/// `deprecation-shim simulate`: a simulated Redis Software cluster API.
#[derive(Args, Debug, Clone)]
pub struct SimulateArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9443")]
    pub listen: SocketAddr,
    /// Redis Software release to behave like: 7.4, 7.8, 7.22, 8.0 or 8.2.
    #[arg(long = "version", value_name = "RELEASE", default_value = "8.0")]
    pub version: SimVersion,
    /// Start from this state file (the JSON of `GET /__sim/state`) instead of the built-in seed.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// How long an upgrade action runs (pending → active → completed), e.g. "3s", "500ms".
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = humantime::parse_duration)]
    pub action_duration: Duration,
    /// What the new upgrade route does with a `modules` entry for a Redis 8 database:
    /// `ignore` (200, nothing changes) or `reject` (406). Also settable at run time
    /// (`POST /__sim/faults {"redis8_modules": ...}`).
    #[arg(long, value_name = "HOW", value_enum, default_value = "ignore")]
    pub redis8_modules: Redis8Modules,
    /// Serve N nodes over one shared cluster state (issue 21): one listener per node on
    /// 127.0.0.1 with a port of its own (`--listen` is not used), node 1 the master; each
    /// node's URL is printed on standard output. Without it, one node on `--listen`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_NODES))]
    pub nodes: Option<u64>,
    /// PEM certificate chain; serve HTTPS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key; serve HTTPS (with --tls-cert).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// Loads everything, binds, logs the address, and serves until `shutdown`.
pub async fn run_simulate(
    args: SimulateArgs,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let state = match &args.state {
        Some(path) => Some(SimState::load(path)?),
        None => None,
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(load_tls(cert, key)?),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key must be given together".into()),
    };
    if let Some(n) = args.nodes {
        let state = fit_nodes(state.unwrap_or_else(|| super::seed::seed(args.version)), n);
        return serve_nodes(&args, state, tls, shutdown).await;
    }
    let listener = listener::bind(args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        address = %addr,
        url = %format!("{scheme}://{addr}"),
        version = %args.version,
        "simulated Redis Software cluster listening"
    );
    let sim = Simulator::new(SimConfig {
        version: args.version,
        state,
        action_duration: args.action_duration,
    });
    sim.faults().set_redis8_modules(args.redis8_modules);
    sim.serve(listener, tls, shutdown)
        .await
        .map_err(|e| format!("simulated cluster stopped: {e}"))
}

/// Most nodes `--nodes` starts.
const MAX_NODES: u64 = 16;

/// `state` with exactly `n` nodes: the first `n`, or more made like the last one (uid and
/// internal `addr` `10.0.0.<uid>` of their own).
fn fit_nodes(mut state: SimState, n: u64) -> SimState {
    let n = usize::try_from(n).unwrap_or(1).max(1);
    state.nodes.truncate(n);
    while state.nodes.len() < n {
        let Some(last) = state.nodes.last() else {
            break;
        };
        let mut next = last.clone();
        next.uid = last.uid + 1;
        next.extra.insert(
            "addr".into(),
            serde_json::json!(format!("10.0.0.{}", next.uid)),
        );
        state.nodes.push(next);
    }
    state
}

/// `--nodes`: every node listening, their URLs printed, until `shutdown`.
async fn serve_nodes(
    args: &SimulateArgs,
    state: SimState,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let sim = Simulator::new(SimConfig {
        version: args.version,
        state: Some(state),
        action_duration: args.action_duration,
    });
    sim.faults().set_redis8_modules(args.redis8_modules);
    let nodes = sim
        .serve_nodes(tls)
        .await
        .map_err(|e| format!("cannot start the simulated nodes: {e}"))?;
    let master = sim.master();
    for (uid, addr) in &nodes {
        let role = if Some(*uid) == master {
            " (master)"
        } else {
            ""
        };
        println!("node {uid} {scheme}://{addr}{role}");
        tracing::info!(node = uid, url = %format!("{scheme}://{addr}"), version = %args.version, "simulated Redis Software node listening");
    }
    shutdown.await;
    sim.stop_nodes();
    Ok(())
}

/// A TLS acceptor from PEM files: the same rustls set-up as the shim's own listener.
pub fn load_tls(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    crate::tls::acceptor(cert, key).map_err(|e| format!("--tls-cert/--tls-key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: SimulateArgs,
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let w = Wrapper::try_parse_from(["x"]).expect("defaults parse");
        assert_eq!(w.args.listen, "127.0.0.1:9443".parse().expect("addr"));
        assert_eq!(w.args.version, SimVersion::V8_0);
        assert_eq!(w.args.action_duration, Duration::from_secs(3));
        assert!(w.args.tls_cert.is_none() && w.args.state.is_none());
    }

    #[test]
    fn flags_parse_and_tls_needs_both_files() {
        let w = Wrapper::try_parse_from(["x", "--version", "7.4", "--action-duration", "250ms"])
            .expect("parse");
        assert_eq!(w.args.version, SimVersion::V7_4);
        assert_eq!(w.args.action_duration, Duration::from_millis(250));
        assert_eq!(w.args.redis8_modules, Redis8Modules::Ignore);
        let r = Wrapper::try_parse_from(["x", "--version", "8.2", "--redis8-modules", "reject"])
            .expect("parse");
        assert_eq!(
            (r.args.version, r.args.redis8_modules),
            (SimVersion::V8_2, Redis8Modules::Reject)
        );
        assert!(Wrapper::try_parse_from(["x", "--tls-cert", "c.pem"]).is_err());
        assert!(Wrapper::try_parse_from(["x", "--version", "9.9"]).is_err());
        let n = Wrapper::try_parse_from(["x", "--nodes", "3"]).expect("parse");
        assert_eq!(n.args.nodes, Some(3));
        assert!(Wrapper::try_parse_from(["x", "--nodes", "0"]).is_err());
    }

    #[test]
    fn the_node_list_is_fitted_to_the_count() {
        let seed = crate::sim::seed::seed(SimVersion::V8_0);
        let five = fit_nodes(seed.clone(), 5);
        let uids: Vec<u64> = five.nodes.iter().map(|n| n.uid).collect();
        assert_eq!(uids, [1, 2, 3, 4, 5]);
        assert_eq!(five.nodes[4].extra["addr"], "10.0.0.5");
        assert_eq!(fit_nodes(seed, 1).nodes.len(), 1);
    }
}
