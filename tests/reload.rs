//! SIGHUP reload of the running binary: a valid new configuration takes effect for new requests
//! without dropping one in flight; an invalid one is refused, named in the log, and the old
//! configuration stays.

mod support;

use deprecation_shim::server;
use deprecation_shim::sim::{SimConfig, Simulator, DEMO_ADMIN};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{basic, get, send};

struct Shim(Child);

impl Drop for Shim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_sim() -> (SocketAddr, std::sync::Arc<Simulator>) {
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let sim = Simulator::new(SimConfig::default());
    tokio::spawn(sim.clone().serve(listener, None, std::future::pending()));
    (addr, sim)
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn write_config(path: &Path, listen: SocketAddr, upstream: SocketAddr, extra: &str) {
    let text = format!(
        "[listen]\naddress = \"{listen}\"\n[upstream]\nurl = \"http://{upstream}\"\n[shim]\npoll_interval = \"20ms\"\n{extra}\n"
    );
    std::fs::write(path, text).unwrap();
}

async fn wait_listening(addr: SocketAddr) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("shim did not start on {addr}");
}

fn hangup(child: &Child) {
    let ok = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -HUP failed");
}

/// The Deprecation header of a deprecated-route reply (a bad uid: no upstream call needed).
async fn deprecation_header(shim: SocketAddr) -> String {
    let reply = send(
        shim,
        http::Method::POST,
        "/v1/modules/upgrade/bdb/not-a-number",
        &[],
        "{}",
    )
    .await;
    assert_eq!(reply.status, 404);
    reply.header("deprecation").unwrap_or("").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_a_valid_config_and_refuses_an_invalid_one() {
    let (upstream, sim) = start_sim().await;
    let dir = std::env::temp_dir().join(format!("shim-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("shim.toml");
    let log = dir.join("stderr.log");
    let listen = free_port();
    write_config(&cfg, listen, upstream, "deprecation_date = \"2024-11-01\"");
    let child = Command::new(env!("CARGO_BIN_EXE_deprecation-shim"))
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let shim = Shim(child);
    wait_listening(listen).await;
    assert_eq!(deprecation_header(listen).await, "@1730419200");

    // A request in flight across the reload.
    sim.faults().set_latency(Duration::from_millis(1500));
    let auth = basic(DEMO_ADMIN.0, DEMO_ADMIN.1);
    let in_flight = tokio::spawn(async move { get(listen, "/v1/bdbs/1", &auth).await });
    tokio::time::sleep(Duration::from_millis(200)).await;

    write_config(&cfg, listen, upstream, "deprecation_date = \"2025-01-01\"");
    hangup(&shim.0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        deprecation_header(listen).await,
        "@1735689600",
        "new config in force"
    );

    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, 200, "in-flight request survived the reload");
    assert_eq!(reply.json()["uid"], 1);
    sim.faults().set_latency(Duration::ZERO);

    std::fs::write(&cfg, "[shim]\nbogus_key = 1\n").unwrap();
    hangup(&shim.0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        deprecation_header(listen).await,
        "@1735689600",
        "old config kept"
    );
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(stderr.contains("configuration reloaded"), "{stderr}");
    assert!(
        stderr.contains("reload refused") && stderr.contains("bogus_key"),
        "{stderr}"
    );
    drop(shim);
    let _ = std::fs::remove_dir_all(&dir);
}
