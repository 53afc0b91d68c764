//! Readiness as orchestrators need it: `/readyz` ignores traffic, turns 503 from the stop
//! signal on while the data port still answers (`listen.drain_delay`), and follows the
//! background cluster probe only when `admin.ready_requires_cluster` says so. The probe itself:
//! any HTTP answer (401 without credentials) is "up", refused connections and TLS failures
//! "down".

mod support;

use deprecation_shim::probe::ClusterHealth;
use deprecation_shim::sim::{SimVersion, DEMO_ADMIN};
use deprecation_shim::wiring::probe;
use deprecation_shim::wiring::reload::Live;
use deprecation_shim::App;
use http::StatusCode;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::harness::{test_config as shim_config, AdminPort, Sim};
use support::shim::{free_port, spawn_shim, toml_path};
use support::tls::TestCa;
use support::{basic, get, Reply};
use tokio::net::TcpListener;

/// The shim's [`Live`] configuration in front of `upstream_url`, plus its admin port.
async fn live_with_admin(upstream_url: &str, extra_toml: &str) -> (Arc<Live>, AdminPort) {
    let placeholder: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let mut cfg = shim_config(placeholder, extra_toml).unwrap();
    cfg.upstream.url = upstream_url.parse().unwrap();
    cfg.upstream.https = upstream_url.starts_with("https");
    cfg.upstream.authority = cfg.upstream.url.authority().unwrap().clone();
    // Issue 21: the node list is what the shim connects to; `url` is its first entry.
    cfg.upstream.nodes = vec![deprecation_shim::config::NodeUrl {
        url: cfg.upstream.url.clone(),
        https: cfg.upstream.https,
        authority: cfg.upstream.authority.clone(),
    }];
    let live = Arc::new(Live {
        app: arc_swap::ArcSwap::from_pointee(App::new(cfg).unwrap()),
        cert: None,
        source: None,
    });
    let admin = AdminPort::serve(live.app.load().admin.clone());
    (live, admin)
}

async fn readyz(admin: SocketAddr, query: &str) -> Reply {
    get(admin, &format!("/readyz{query}"), "").await
}

/// A port nothing listens on (bound, read, released).
async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

#[tokio::test]
async fn readyz_is_200_without_any_upstream_reply_and_verbose_lists_the_checks() {
    let (_live, admin) = live_with_admin(&format!("http://{}", closed_port().await), "").await;
    let r = readyz(admin.addr, "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), serde_json::json!({"status": "ready"}));
    let body = readyz(admin.addr, "?verbose").await.json();
    let checks = &body["checks"];
    assert_eq!(checks["draining"], false);
    assert_eq!(checks["listeners_bound"], true);
    assert_eq!(checks["cluster"]["gates_readiness"], false);
    assert_eq!(
        checks["last_upstream_reply_ms_ago"],
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn cluster_probe_counts_a_401_as_up_and_refused_or_tls_failures_as_down() {
    let cluster = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let sim = cluster.addr;
    let (live, admin) = live_with_admin(&format!("http://{sim}"), "").await;
    probe::probe_once(&live).await;
    let cluster = &live.app.load().admin.cluster;
    assert_eq!(cluster.health(), ClusterHealth::Up);
    assert_eq!(cluster.last_status(), Some(401), "no credentials sent");
    let metrics = String::from_utf8(get(admin.addr, "/metrics", "").await.body.to_vec()).unwrap();
    assert!(
        metrics.contains("deprecation_shim_cluster_up 1"),
        "{metrics}"
    );
    let verbose = readyz(admin.addr, "?verbose").await.json();
    assert_eq!(verbose["checks"]["cluster"]["state"], "up");
    assert_eq!(verbose["checks"]["cluster"]["last_status"], 401);

    let (refused, admin) = live_with_admin(&format!("http://{}", closed_port().await), "").await;
    probe::probe_once(&refused).await;
    let cluster = &refused.app.load().admin.cluster;
    assert_eq!(cluster.health(), ClusterHealth::Down);
    assert!(cluster.last_error().is_some());
    let metrics = String::from_utf8(get(admin.addr, "/metrics", "").await.body.to_vec()).unwrap();
    assert!(
        metrics.contains("deprecation_shim_cluster_up 0"),
        "{metrics}"
    );
    assert_eq!(
        readyz(admin.addr, "").await.status,
        StatusCode::OK,
        "not gated by default"
    );

    // A TLS cluster whose CA the shim does not trust: the handshake fails, so it is down.
    let ca = TestCa::new();
    let sim = Sim::tls_signed_by(&ca, SimVersion::V8_0, Duration::from_millis(50)).await;
    let tls_addr = sim.addr;
    let (untrusted, _) =
        live_with_admin(&format!("https://localhost:{}", tls_addr.port()), "").await;
    probe::probe_once(&untrusted).await;
    assert_eq!(
        untrusted.app.load().admin.cluster.health(),
        ClusterHealth::Down
    );
    let trusting = format!("[upstream]\nca_file = {}\n", toml_path(&ca.ca_file));
    let (trusted, _) =
        live_with_admin(&format!("https://localhost:{}", tls_addr.port()), &trusting).await;
    probe::probe_once(&trusted).await;
    assert_eq!(trusted.app.load().admin.cluster.health(), ClusterHealth::Up);
}

#[tokio::test]
async fn readyz_gated_on_the_cluster_is_503_until_a_probe_gets_an_answer() {
    let gate = "[admin]\nready_requires_cluster = true\n";
    let (down, admin) = live_with_admin(&format!("http://{}", closed_port().await), gate).await;
    let r = readyz(admin.addr, "").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "not probed yet");
    probe::probe_once(&down).await;
    let r = readyz(admin.addr, "?verbose").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = r.json();
    assert_eq!(body["error_code"], "cluster_unreachable");
    assert_eq!(body["message"], body["description"]);
    assert_eq!(body["checks"]["cluster"]["state"], "down");

    let cluster = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let sim = cluster.addr;
    let (up, admin) = live_with_admin(&format!("http://{sim}"), gate).await;
    probe::probe_once(&up).await;
    assert_eq!(readyz(admin.addr, "").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_503_at_sigterm_while_the_data_port_still_answers_for_the_drain_delay() {
    let cluster = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let sim = cluster.addr;
    let dir = tempfile::tempdir().unwrap();
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let file = dir.path().join("shim.toml");
    std::fs::write(
        &file,
        format!(
            "[listen]\ndrain_delay = \"1500ms\"\n[upstream]\nurl = \"http://{sim}\"\n\
             [admin]\nlisten = \"{admin}\"\n"
        ),
    )
    .unwrap();
    let mut shim = spawn_shim(&["--config", file.to_str().unwrap()]);
    let auth = basic(DEMO_ADMIN.0, DEMO_ADMIN.1);
    assert_eq!(readyz(admin, "").await.status, StatusCode::OK);
    shim.terminate();
    shim.wait_for_log("draining: /readyz answers 503", Duration::from_secs(5))
        .unwrap();
    let r = readyz(admin, "").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["error_code"], "draining");
    // The load balancer has not noticed yet: its requests are still served.
    let r = get(shim.addr, "/v1/bdbs/1", &auth).await;
    assert_eq!(r.status, StatusCode::OK);
    let status = tokio::task::spawn_blocking(move || shim.wait_exit(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(status.success(), "{status}");
}
