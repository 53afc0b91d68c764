//! The upstream fault matrix's rig (`tests/upstream_faults*.rs`): a shim in front of some
//! upstream with its audit file, whose deprecated call checks the one audit record it leaves;
//! every step bounded in time ([`LIMIT`]), so a hang fails the test.

use super::audit_file::{audit_toml, records};
use super::harness::{Shim, Sim};
use super::legacy::{admin, assert_deprecated, old_route};
use super::{get, post_json, within, Reply};
use deprecation_shim::sim::seed::REJSON_2_6_17;
use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Longest any single test step may take before it counts as a hang.
pub const LIMIT: Duration = Duration::from_secs(20);

/// A shim in front of some upstream, with its audit file.
pub struct Rig {
    pub shim: SocketAddr,
    pub audit: PathBuf,
    _server: Shim,
    _dir: tempfile::TempDir,
}

impl Rig {
    pub async fn new(upstream: SocketAddr, extra_toml: &str) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = dir.path().join("audit.jsonl");
        let server =
            Shim::in_front_of(upstream, &format!("{}{extra_toml}", audit_toml(&audit))).await;
        Rig {
            shim: server.addr,
            audit,
            _server: server,
            _dir: dir,
        }
    }

    /// A deprecated call upgrading ReJSON on database 1; checks the deprecation marks and that
    /// exactly one new audit record, matching the reply, is on disk.
    pub async fn legacy(&self) -> Reply {
        let before = records(&self.audit).len();
        let reply = within(
            LIMIT,
            "deprecated call",
            post_json(
                self.shim,
                &old_route(1),
                &admin(),
                &json!({"new_module": REJSON_2_6_17}),
            ),
        )
        .await;
        assert_deprecated(&reply, 1);
        let all = records(&self.audit);
        assert_eq!(all.len(), before + 1, "exactly one audit record per call");
        let record = &all[before];
        assert_eq!(
            record["request_id"].as_str(),
            reply.header("x-request-id"),
            "{record}"
        );
        assert_eq!(record["status"], reply.status.as_u16(), "{record}");
        let code = serde_json::from_slice::<Value>(&reply.body)
            .ok()
            .and_then(|b| b.get("error_code").cloned())
            .unwrap_or(Value::Null);
        assert_eq!(record["error_code"], code, "{record}");
        reply
    }

    pub async fn get(&self, path: &str) -> Reply {
        within(LIMIT, "pass-through GET", get(self.shim, path, &admin())).await
    }
}

pub async fn sim() -> (SocketAddr, Sim) {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(100)).await;
    (sim.addr, sim)
}

pub fn audit_of(rig: &Rig) -> Vec<Value> {
    records(&rig.audit)
}

pub fn upgraded(reply: &Reply) {
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["module_id"], REJSON_2_6_17);
}

pub fn count(seen: &[(Method, String)], method: &Method, prefix: &str) -> usize {
    seen.iter()
        .filter(|(m, p)| m == method && p.starts_with(prefix))
        .count()
}
