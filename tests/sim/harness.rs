//! Starting a simulator on 127.0.0.1:0 and talking to it as the admin.

use deprecation_shim::server;
use deprecation_shim::sim::{SimConfig, SimVersion, Simulator, DEMO_ADMIN, DEMO_VIEWER};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{basic, get, post_json, Reply};

/// Upgrade actions in these tests take this long.
pub const ACTION: Duration = Duration::from_millis(200);

/// A running simulator.
pub struct Cluster {
    pub addr: SocketAddr,
    pub sim: Arc<Simulator>,
}

/// Starts a simulator of `version` with the seed state and [`ACTION`]-long actions.
pub async fn start_sim(version: SimVersion) -> Cluster {
    start_sim_with(SimConfig {
        version,
        state: None,
        action_duration: ACTION,
    })
    .await
}

pub async fn start_sim_with(cfg: SimConfig) -> Cluster {
    let listener = server::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let sim = Simulator::new(cfg);
    tokio::spawn(sim.clone().serve(listener, None, std::future::pending()));
    Cluster { addr, sim }
}

pub fn admin() -> String {
    basic(DEMO_ADMIN.0, DEMO_ADMIN.1)
}

pub fn viewer() -> String {
    basic(DEMO_VIEWER.0, DEMO_VIEWER.1)
}

impl Cluster {
    pub async fn get(&self, path: &str) -> Reply {
        get(self.addr, path, &admin()).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        post_json(self.addr, path, &admin(), &body).await
    }

    /// `GET /v1/bdbs/{uid}` as JSON, asserting 200.
    pub async fn bdb(&self, uid: u64) -> Value {
        let r = self.get(&format!("/v1/bdbs/{uid}")).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    /// The (module_name → semantic_version) pairs of a database, sorted.
    pub async fn module_versions(&self, uid: u64) -> Vec<(String, String)> {
        let bdb = self.bdb(uid).await;
        let mut out: Vec<(String, String)> = bdb["module_list"]
            .as_array()
            .expect("module_list")
            .iter()
            .map(|m| {
                let s = |k: &str| m[k].as_str().expect(k).to_owned();
                (s("module_name"), s("semantic_version"))
            })
            .collect();
        out.sort();
        out
    }

    /// Polls `GET /v2/actions/{uid}` until it is completed or failed (5 s at most).
    pub async fn wait_action(&self, action_uid: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let a = self.get(&format!("/v2/actions/{action_uid}")).await.json();
            if a["status"] == "completed" || a["status"] == "failed" {
                return a;
            }
            assert!(Instant::now() < deadline, "action never finished: {a}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Starts an upgrade on the new route, asserting 200, and returns its `action_uid`.
    pub async fn start_upgrade(&self, uid: u64, body: Value) -> String {
        let r = self.post(&format!("/v1/bdbs/{uid}/upgrade"), body).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()["action_uid"]
            .as_str()
            .expect("action_uid")
            .to_owned()
    }
}

/// Asserts an RS-shaped error: status, `error_code`, and the same text in both text keys.
pub fn assert_rs_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["error_code"], code, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert_eq!(v["message"], v["description"], "{v}");
}
