//! Fault switches of the simulated cluster, set programmatically ([`Faults`]) or over HTTP on
//! `/__sim/faults`. The JSON of a [`FaultSet`] (every key optional; `POST` merges the keys it
//! names into the current set, a `null` clears that one switch; `DELETE` clears everything):
//!
//! ```json
//! {
//!   "latency_ms": 250,
//!   "fail_next_action": {"error_code": "sim_upgrade_failed", "error_message": "shard 2 did not restart"},
//!   "stall_next_action": true,
//!   "status": {"status": 500, "method": "GET", "path_prefix": "/v1/bdbs", "count": 2},
//!   "drop": {"method": "POST", "path_prefix": "/v1/bdbs/1/upgrade", "count": 1},
//!   "drop_reply": {"method": "POST", "path_prefix": "/v1/bdbs/1/upgrade", "count": 1},
//!   "omit_action_uid": true,
//!   "invalid_json": {"path_prefix": "/v1/modules"}
//! }
//! ```
//!
//! - `latency_ms`: added before every reply (not on `/__sim`). `delay` (`{"ms", "method",
//!   "path_prefix", "count"}`, [`DelayFault`]): added before the replies of matching requests.
//! - `fail_next_action`: the next upgrade action fails halfway with these fields (`true` = the
//!   defaults); one-shot. `stall_next_action`: the next action stays `active` forever; one-shot.
//! - `status`, `drop`, `invalid_json`: for requests whose method matches (`method` absent = any)
//!   and whose path starts with `path_prefix`: answer that status with an RS error body, close
//!   the connection without a reply, or answer 200 with a truncated JSON body. `count` absent =
//!   until cleared; otherwise the switch clears itself after that many hits. Checked in the order
//!   drop, drop_reply, status, invalid_json.
//! - `drop_reply` (issue 21): the request is served (an upgrade starts), then the connection is
//!   closed without the reply, as by a node that dies right after applying it.
//! - `omit_action_uid`: replies of `POST /v1/bdbs/{uid}/upgrade` lack `action_uid` (the action
//!   still runs and the database still names it); until cleared.
//!
//! Model switches (what the docs leave open; they stay until cleared, `DELETE` restores the
//! defaults): `"redis8_modules": "ignore" | "reject"` (what the new upgrade route does with a
//! `modules` entry for a Redis 8 database: 200 and nothing changes, or 406; default `ignore`);
//! `"v1_modules_on_8x"` / `"v2_modules_on_8x": true` (8.x still serves `POST/DELETE
//! /v1/modules` / `/v2/modules`); `"debuginfo_bytes": N` (pad every debuginfo package with N
//! incompressible bytes, at most 64 MiB); and the one-shot `"partial_cert_update": true` (the
//! next valid certificate update replaces its first certificate, then answers 409).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::actions::Fate;
pub use delay::DelayFault;
use route::route_matches;
pub use route::{RouteFault, RouteMatch, StatusFault};

/// Every switch at once; the JSON shape of `/__sim/faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultSet {
    // issue 22 (b): module config, revamp, syncer state, maintenance (`sim::catalogue_b`)
    #[serde(skip_serializing_if = "is_default")]
    pub sibling_on_8x: super::catalogue_b::SiblingOn8x,
    #[serde(skip_serializing_if = "is_default")]
    pub put_module_list: super::catalogue_b::PutModuleList,
    #[serde(skip_serializing_if = "is_false")]
    pub revamp_state_header: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub revamp_busy: bool,
    #[serde(skip_serializing_if = "is_zero")]
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<DelayFault>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_next_action: Option<ActionFailure>,
    #[serde(skip_serializing_if = "is_false")]
    pub stall_next_action: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusFault>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop: Option<RouteMatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_reply: Option<RouteMatch>,
    #[serde(skip_serializing_if = "is_false")]
    pub omit_action_uid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_json: Option<RouteMatch>,
    #[serde(skip_serializing_if = "is_default")]
    pub redis8_modules: Redis8Modules,
    #[serde(skip_serializing_if = "is_false")]
    pub v1_modules_on_8x: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub v2_modules_on_8x: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub partial_cert_update: bool,
    #[serde(skip_serializing_if = "is_zero")]
    pub debuginfo_bytes: u64,
    // issue 22 (a): password, stats, license, logs
    /// `"users_password_on_8x": "serve" | "404"` (default `"serve"`): whether 8.0 and 8.2
    /// serve `PUT|POST|DELETE /v1/users/password` or answer as for an unregistered route
    /// (API-CATALOGUE §3.3; [`super::users_password`]). Stays until cleared.
    #[serde(skip_serializing_if = "is_default")]
    pub users_password_on_8x: super::users_password::UsersPasswordOn8x,
    /// `"predefined_roles": "absent" | "seeded"` (F2, API-CATALOGUE §12): whether the roles
    /// and ACLs removed in 7.2.4 are listed ([`super::roles`], [`super::redis_acls`]).
    #[serde(skip_serializing_if = "is_default")]
    pub predefined_roles: super::roles::Predefined,
}

/// What the new upgrade route does with a `modules` entry for a database running Redis 8
/// (undocumented: API.md §6 names both readings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Redis8Modules {
    /// 200, the action completes, nothing changes.
    #[default]
    Ignore,
    /// 406 `module_version_bound_to_redis`.
    Reject,
}

/// Largest `debuginfo_bytes` honoured: the simulator builds a package in memory.
pub const MAX_DEBUGINFO_BYTES: u64 = 64 << 20;

/// The fields a failed action carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionFailure {
    pub error_code: String,
    pub error_message: String,
}

impl Default for ActionFailure {
    fn default() -> Self {
        ActionFailure {
            error_code: "sim_upgrade_failed".into(),
            error_message: "Simulated failure of the upgrade state machine".into(),
        }
    }
}

/// The live switches; shared by the simulator and whoever holds it.
#[derive(Debug, Default)]
pub struct Faults {
    set: Mutex<FaultSet>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultSet> {
        crate::locks::lock(&self.set)
    }

    pub fn get(&self) -> FaultSet {
        self.lock().clone()
    }

    pub fn set(&self, faults: FaultSet) {
        *self.lock() = faults;
    }

    pub fn clear(&self) {
        self.set(FaultSet::default());
    }

    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    }

    pub fn fail_next_action(&self, error_code: &str, error_message: &str) {
        self.lock().fail_next_action = Some(ActionFailure {
            error_code: error_code.to_owned(),
            error_message: error_message.to_owned(),
        });
    }

    pub fn stall_next_action(&self) {
        self.lock().stall_next_action = true;
    }

    pub fn respond_with_status(&self, status: u16, on: RouteMatch) {
        self.lock().status = Some(StatusFault {
            status,
            method: on.method,
            path_prefix: on.path_prefix,
            count: on.count,
        });
    }

    pub fn drop_connection(&self, on: RouteMatch) {
        self.lock().drop = Some(on);
    }

    /// Requests matching `on` are served, then their connection closes without the reply.
    pub fn drop_reply(&self, on: RouteMatch) {
        self.lock().drop_reply = Some(on);
    }

    pub fn answer_invalid_json(&self, on: RouteMatch) {
        self.lock().invalid_json = Some(on);
    }

    pub fn omit_action_uid(&self, on: bool) {
        self.lock().omit_action_uid = on;
    }

    pub fn set_redis8_modules(&self, how: Redis8Modules) {
        self.lock().redis8_modules = how;
    }

    pub(crate) fn redis8_modules(&self) -> Redis8Modules {
        self.lock().redis8_modules
    }

    /// (v1, v2): whether 8.x still serves `POST/DELETE /v1/modules` and `/v2/modules`.
    pub(crate) fn modules_on_8x(&self) -> (bool, bool) {
        let set = self.lock();
        (set.v1_modules_on_8x, set.v2_modules_on_8x)
    }

    pub(crate) fn take_partial_cert_update(&self) -> bool {
        std::mem::take(&mut self.lock().partial_cert_update)
    }

    pub(crate) fn debuginfo_bytes(&self) -> u64 {
        self.lock().debuginfo_bytes.min(MAX_DEBUGINFO_BYTES)
    }

    pub(crate) fn predefined_roles(&self) -> super::roles::Predefined {
        self.lock().predefined_roles
    }

    pub fn delay(&self, fault: DelayFault) {
        self.lock().delay = Some(fault);
    }

    /// The wait before this request's reply: `latency_ms`, plus a matching `delay` (counted).
    pub(crate) fn latency_for(&self, method: &str, path: &str) -> Duration {
        let mut set = self.lock();
        let base = Duration::from_millis(set.latency_ms);
        let ms = set.delay.as_ref().map_or(0, |d| d.ms);
        if hit(
            &mut set.delay,
            |d| d.matches(method, path),
            |d| &mut d.count,
        ) {
            return base + Duration::from_millis(ms);
        }
        base
    }

    pub(crate) fn omits_action_uid(&self) -> bool {
        self.lock().omit_action_uid
    }

    /// How the next action ends, consuming the one-shot switches (a failure wins over a stall).
    pub(crate) fn take_action_fate(&self) -> Fate {
        let mut set = self.lock();
        let stall = std::mem::take(&mut set.stall_next_action);
        match set.fail_next_action.take() {
            Some(f) => Fate::Fail {
                error_code: f.error_code,
                error_message: f.error_message,
            },
            None if stall => Fate::Stall,
            None => Fate::Complete,
        }
    }

    /// The route fault hitting this request, if any, counting the hit.
    pub(crate) fn take_route_fault(&self, method: &str, path: &str) -> Option<RouteFault> {
        let mut set = self.lock();
        if hit(&mut set.drop, |m| m.matches(method, path), |m| &mut m.count) {
            return Some(RouteFault::Drop);
        }
        let drop_reply = |m: &RouteMatch| m.matches(method, path);
        if hit(&mut set.drop_reply, drop_reply, |m| &mut m.count) {
            return Some(RouteFault::DropReply);
        }
        let status = set.status.as_ref().map(|s| s.status);
        let on = |s: &StatusFault| route_matches(s.method.as_deref(), &s.path_prefix, method, path);
        if hit(&mut set.status, on, |s| &mut s.count) {
            return status.map(RouteFault::Status);
        }
        if hit(
            &mut set.invalid_json,
            |m| m.matches(method, path),
            |m| &mut m.count,
        ) {
            return Some(RouteFault::InvalidJson);
        }
        None
    }

    /// Applies a `POST /__sim/faults` body: each key replaces that switch, `null` clears it, and
    /// `true`/`false` stand for the default failure / none on `fail_next_action`.
    pub fn merge_json(&self, patch: &Value) -> Result<FaultSet, String> {
        let Value::Object(patch) = patch else {
            return Err("the fault body must be a JSON object".into());
        };
        let mut set = self.lock();
        let mut merged = match serde_json::to_value(&*set) {
            Ok(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        for (key, value) in patch {
            let value = match (key.as_str(), value) {
                ("fail_next_action", Value::Bool(true)) => Value::Object(Default::default()),
                (_, Value::Bool(false)) if key == "fail_next_action" => Value::Null,
                _ => value.clone(),
            };
            if value.is_null() {
                merged.remove(key);
            } else {
                merged.insert(key.clone(), value);
            }
        }
        let next: FaultSet =
            serde_json::from_value(Value::Object(merged)).map_err(|e| e.to_string())?;
        *set = next.clone();
        Ok(next)
    }
}

/// Whether `slot` holds a switch matching the request; counts the hit and clears a spent one.
fn hit<T>(
    slot: &mut Option<T>,
    matches: impl Fn(&T) -> bool,
    count: impl Fn(&mut T) -> &mut Option<u32>,
) -> bool {
    let Some(fault) = slot.as_mut() else {
        return false;
    };
    if !matches(fault) {
        return false;
    }
    if let Some(n) = count(fault) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            *slot = None;
        }
    }
    true
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

mod delay;
mod route;
#[cfg(test)]
mod tests;
