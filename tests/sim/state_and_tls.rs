//! `/__sim/state`, state files, `run_simulate` start-up errors, and HTTPS.

use bytes::Bytes;
use deprecation_shim::sim::{self, seed, SimConfig, SimState, SimVersion, SimulateArgs};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::support::harness::{Sim, ACTION};
use crate::support::legacy::admin;
use crate::support::send;

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sim-test-{}-{name}", uuid::Uuid::new_v4()))
}

#[tokio::test]
async fn sim_state_route_returns_the_snapshot() {
    let c = Sim::start(SimVersion::V7_8).await;
    let r = send(c.addr, Method::GET, "/__sim/state", &[], "").await;
    assert_eq!(r.status, 200);
    let state = r.json();
    assert_eq!(state, c.sim.snapshot());
    for key in ["cluster", "nodes", "modules", "bdbs", "actions"] {
        assert!(!state[key].is_null(), "{key}");
    }
}

#[tokio::test]
async fn state_file_with_the_snapshot_shape_restarts_where_it_left_off() {
    let c = Sim::start(SimVersion::V7_8).await;
    let body = json!({"modules": [{"new_module": seed::REJSON_2_6_17}]});
    assert_eq!(c.post("/v1/modules/upgrade/bdb/4", body).await.status, 200);
    let path = temp_path("state.json");
    std::fs::write(&path, serde_json::to_vec(&c.sim.snapshot()).expect("json")).expect("write");

    let loaded = SimState::load(&path).expect("loads");
    let _ = std::fs::remove_file(&path);
    let again = Sim::with(SimConfig {
        version: SimVersion::V7_8,
        state: Some(loaded),
        action_duration: ACTION,
    })
    .await;
    assert_eq!(again.bdb(4).await, c.bdb(4).await);
    assert_eq!(
        again.bdb(4).await["module_list"][0]["semantic_version"],
        "2.6.17"
    );
}

#[tokio::test]
async fn run_simulate_names_a_missing_state_file() {
    let args = SimulateArgs {
        listen: "127.0.0.1:0".parse().expect("addr"),
        version: SimVersion::V8_0,
        state: Some(PathBuf::from("/nonexistent/sim-state.json")),
        action_duration: Duration::from_secs(1),
        redis8_modules: Default::default(),
        nodes: None,
        tls_cert: None,
        tls_key: None,
    };
    let err = sim::run_simulate(args, async {})
        .await
        .expect_err("refused");
    assert!(err.contains("/nonexistent/sim-state.json"), "{err}");
}

#[tokio::test]
async fn run_simulate_serves_until_shutdown() {
    let args = SimulateArgs {
        listen: "127.0.0.1:0".parse().expect("addr"),
        version: SimVersion::V7_4,
        state: None,
        action_duration: Duration::from_secs(1),
        redis8_modules: Default::default(),
        nodes: None,
        tls_cert: None,
        tls_key: None,
    };
    let outcome = tokio::time::timeout(
        Duration::from_secs(5),
        sim::run_simulate(args, tokio::time::sleep(Duration::from_millis(50))),
    )
    .await;
    assert_eq!(outcome.expect("stops on shutdown"), Ok(()));
}

#[tokio::test]
async fn tls_listener_serves_the_api_over_https() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let (cert_path, key_path) = (temp_path("cert.pem"), temp_path("key.pem"));
    std::fs::write(&cert_path, certified.cert.pem()).expect("write cert");
    std::fs::write(&key_path, certified.key_pair.serialize_pem()).expect("write key");
    let acceptor = sim::load_tls(&cert_path, &key_path).expect("tls");
    let _ = (
        std::fs::remove_file(&cert_path),
        std::fs::remove_file(&key_path),
    );
    assert!(
        sim::load_tls(&key_path, &cert_path).is_err(),
        "missing files are refused"
    );

    let simulator = Sim::tls(SimConfig::default(), acceptor).await;
    let addr = simulator.addr;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = connector.connect(name, tcp).await.expect("handshake");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("h1");
    tokio::spawn(conn);
    let req = Request::builder()
        .uri("/v1/cluster")
        .header("host", "localhost")
        .header("authorization", admin())
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = sender.send_request(req).await.expect("reply");
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["name"], "cluster.sim.local");
}

#[tokio::test]
async fn run_simulate_with_nodes_serves_every_node_until_shutdown() {
    let args = SimulateArgs {
        listen: "127.0.0.1:0".parse().expect("addr"),
        version: SimVersion::V8_0,
        state: None,
        action_duration: Duration::from_secs(1),
        redis8_modules: Default::default(),
        nodes: Some(3),
        tls_cert: None,
        tls_key: None,
    };
    let outcome = tokio::time::timeout(
        Duration::from_secs(5),
        sim::run_simulate(args, tokio::time::sleep(Duration::from_millis(50))),
    )
    .await;
    assert_eq!(outcome.expect("stops on shutdown"), Ok(()));
}
