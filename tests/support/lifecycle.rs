//! The lifecycle tests' shim: in this process, in front of a cluster, its lifecycles' clock set
//! by the test (nothing sleeps through a window), auditing to a file of its own; and what a
//! brownout refusal must look like, as assertions.
#![allow(dead_code)]

use super::audit_file::{audit_toml, records, AuditFile};
use super::harness::{test_config, Shim};
use super::legacy::assert_rs_error;
use super::{send, Reply};
use deprecation_shim::lifecycle::Clock;
use deprecation_shim::App;
use http::Method;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A clock the test moves.
pub struct TestClock(Mutex<SystemTime>);

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().expect("clock")
    }
}

/// A shim on a [`TestClock`]; shuts down (and drains) when dropped, then its audit file goes.
pub struct ClockedShim {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    clock: Arc<TestClock>,
    _served: Shim,
    pub audit: AuditFile,
}

impl ClockedShim {
    /// The shim in front of `upstream` with the test defaults and `extra_toml`, its clock at
    /// `now`, auditing to a fresh [`AuditFile`].
    pub fn start(upstream: SocketAddr, extra_toml: &str, now: SystemTime) -> ClockedShim {
        let audit = AuditFile::new();
        // One `[audit]` table: the test's keys join the audit path.
        let toml = match extra_toml.contains("[audit]\n") {
            true => extra_toml.replacen("[audit]\n", &audit_toml(&audit), 1),
            false => audit.toml(extra_toml),
        };
        let cfg = test_config(upstream, &toml).unwrap_or_else(|e| panic!("config: {e}"));
        let clock = Arc::new(TestClock(Mutex::new(now)));
        let app = Arc::new(App::with_clock(cfg, clock.clone()).expect("app"));
        let served = Shim::serve(app.clone(), None);
        ClockedShim {
            addr: served.addr,
            app,
            clock,
            _served: served,
            audit,
        }
    }

    pub fn set_now(&self, t: SystemTime) {
        *self.clock.0.lock().expect("clock") = t;
    }

    /// The last audit record, which must exist.
    pub fn last_record(&self) -> Value {
        records(&self.audit).pop().expect("an audit record")
    }

    /// `GET path` with `headers`.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        send(self.addr, Method::GET, path, headers, "").await
    }
}

/// A brownout answered 410: the RS error `route_brownout` naming the window's end
/// (`until 2027-03-02T14:15:00Z`, say), the rule's `sunset`, and no `Retry-After` (a 410 is
/// not worth retrying). Returns the body.
pub fn assert_brownout_410(reply: &Reply, until: &str, sunset: &str) -> Value {
    let body = assert_rs_error(reply, 410, "route_brownout");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("until {until}"))),
        "{body}"
    );
    assert_eq!(reply.header("sunset"), Some(sunset));
    assert!(reply.header("retry-after").is_none(), "410: no Retry-After");
    body
}

/// An audit record of `rule` refused by its lifecycle (phase and action `refused`), answered
/// `status`.
pub fn assert_refused_record(rec: &Value, rule: &str, status: u16) {
    assert_eq!(
        (
            &rec["rule"],
            &rec["phase"],
            &rec["rule_action"],
            &rec["status"]
        ),
        (
            &Value::from(rule),
            &Value::from("refused"),
            &Value::from("refused"),
            &Value::from(status)
        )
    );
}
