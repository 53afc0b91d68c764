//! R17, node maintenance mode (`shared/API-CATALOGUE.md` §7):
//! `POST /v1/nodes/{uid}/actions/maintenance_on` and `…/maintenance_off`, on every release, with
//! the deprecated `keep_slave_shards` and its successors `evict_ha_replica` /
//! `evict_active_active_replica` both understood. Admin only (`start_node_action`).
//!
//! The node's record, in `GET /v1/nodes` and the snapshot (`maintenance`), holds the effective
//! mode and not the keys that asked for it, so `{"keep_slave_shards": true}` on one release and
//! `{"evict_ha_replica": false, "evict_active_active_replica": false}` on another end equal:
//!
//! ```json
//! {"on": true, "mode": "keep", "replicas_kept": true, "active_active_replicas_kept": true,
//!  "masters_demoted": true, "evict_dbs": [], "overwrite_snapshot": false}
//! ```
//!
//! Decisions:
//! - `evict_*` default to true (evict; `RS/clusters/maintenance-mode.md` sends both true and
//!   says to set them false to keep replicas, inference). `keep_slave_shards: true` makes both
//!   default to false; an explicit `evict_*` wins over it. `mode` is `keep` (both false: replicas
//!   stay, masters are demoted), `evict` (both true: every shard moves off) or `mixed`.
//! - The record is written at once and a `maintenance_on` / `maintenance_off` task (an action
//!   on `node:{uid}`, `GET /v1/actions/{task_id}`) runs for the action duration; it always
//!   completes and does not consume `fail_next_action`. A second call of the same action on
//!   the same node while its task runs is `409 action_in_progress` "Only a single instance of
//!   any action type can be invoked at the same time".
//! - The node's `accept_servers` follows (false while on), and a node in maintenance hosts no
//!   shard in a blueprint (`revamp`). `maintenance_off` sets `{"on": false}`; its body is
//!   type-checked (`skip_shards_restore`, `snapshot_name`) and otherwise ignored.
//! - Unknown body keys are ignored (`demote_node`, `max_concurrent_actions`, ...); `evict_dbs`
//!   is a list of database uids or names, recorded as strings.

use serde_json::{json, Map, Value};
use std::time::Duration;

use super::actions::{self, Change, Fate};
use super::body;
use super::routes::node_not_found;
use super::state::SimState;
use crate::error::ApiError;

/// Answers `maintenance_on` (`on`) or `maintenance_off` for `node`.
pub fn maintenance(
    state: &mut SimState,
    node: u64,
    on: bool,
    raw: &[u8],
    duration: Duration,
) -> Result<Value, ApiError> {
    let map = body::object(raw, true)?;
    let record = if on {
        record_on(&map)?
    } else {
        body::opt_bool(&map, "skip_shards_restore")?;
        body::opt_str(&map, "snapshot_name")?;
        json!({"on": false})
    };
    if !state.nodes.iter().any(|n| n.uid == node) {
        return Err(node_not_found(node));
    }
    let name = if on {
        "maintenance_on"
    } else {
        "maintenance_off"
    };
    let object = format!("node:{node}");
    let running = state
        .actions
        .iter()
        .any(|a| a.object_name == object && a.name == name && !a.is_finished());
    if running {
        return Err(ApiError::new(
            http::StatusCode::CONFLICT,
            "action_in_progress",
            "Only a single instance of any action type can be invoked at the same time",
        ));
    }
    if let Some(n) = state.nodes.iter_mut().find(|n| n.uid == node) {
        n.extra.insert("maintenance".into(), record);
        n.extra.insert("accept_servers".into(), json!(!on));
    }
    let change = Change::default();
    let task_id = actions::start_named(state, name, &object, change, Fate::Complete, duration);
    Ok(json!({"status": "queued", "task_id": task_id}))
}

/// The effective mode of a `maintenance_on` body.
fn record_on(map: &Map<String, Value>) -> Result<Value, ApiError> {
    let keep = body::opt_bool(map, "keep_slave_shards")?.unwrap_or(false);
    let evict_ha = body::opt_bool(map, "evict_ha_replica")?.unwrap_or(!keep);
    let evict_aa = body::opt_bool(map, "evict_active_active_replica")?.unwrap_or(!keep);
    let overwrite = body::opt_bool(map, "overwrite_snapshot")?.unwrap_or(false);
    let evict_dbs = evict_dbs(map)?;
    let mode = match (evict_ha, evict_aa) {
        (false, false) => "keep",
        (true, true) => "evict",
        _ => "mixed",
    };
    Ok(json!({
        "on": true,
        "mode": mode,
        "replicas_kept": !evict_ha,
        "active_active_replicas_kept": !evict_aa,
        "masters_demoted": mode == "keep",
        "evict_dbs": evict_dbs,
        "overwrite_snapshot": overwrite,
    }))
}

/// `evict_dbs`: database uids (numbers or strings) or names, as strings.
fn evict_dbs(map: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let list = match map.get("evict_dbs") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(body::shape("evict_dbs", "must be a list")),
    };
    list.iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            Value::Number(n) if n.is_u64() => Ok(n.to_string()),
            _ => Err(body::shape(
                &format!("evict_dbs[{i}]"),
                "must be a database uid or name",
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::seed::seed;
    use crate::sim::version::SimVersion;

    fn node_record(s: &SimState, uid: u64) -> Value {
        let node = s.nodes.iter().find(|n| n.uid == uid).expect("node");
        node.extra
            .get("maintenance")
            .cloned()
            .unwrap_or(Value::Null)
    }

    #[test]
    fn old_and_new_keep_forms_end_in_the_same_record() {
        let mut a = seed(SimVersion::V7_4);
        let mut b = seed(SimVersion::V8_2);
        let old = br#"{"keep_slave_shards": true}"#;
        let new = br#"{"evict_ha_replica": false, "evict_active_active_replica": false}"#;
        maintenance(&mut a, 2, true, old, Duration::ZERO).expect("queued");
        maintenance(&mut b, 2, true, new, Duration::ZERO).expect("queued");
        assert_eq!(node_record(&a, 2), node_record(&b, 2));
        assert_eq!(node_record(&a, 2)["mode"], "keep");
        assert_eq!(node_record(&a, 2)["masters_demoted"], true);
    }

    #[test]
    fn default_evicts_and_an_explicit_evict_wins_over_keep() {
        let mut s = seed(SimVersion::V7_22);
        maintenance(&mut s, 1, true, b"", Duration::ZERO).expect("queued");
        assert_eq!(node_record(&s, 1)["mode"], "evict");
        let body =
            br#"{"keep_slave_shards": true, "evict_ha_replica": true, "evict_dbs": [1, "cache"]}"#;
        maintenance(&mut s, 3, true, body, Duration::ZERO).expect("queued");
        assert_eq!(node_record(&s, 3)["mode"], "mixed");
        assert_eq!(node_record(&s, 3)["evict_dbs"], json!(["1", "cache"]));
        maintenance(&mut s, 3, false, b"{}", Duration::ZERO).expect("queued");
        assert_eq!(node_record(&s, 3), json!({"on": false}));
    }

    #[test]
    fn running_task_conflicts_and_bad_input_is_refused() {
        let mut s = seed(SimVersion::V8_0);
        let long = Duration::from_secs(3600);
        let r = maintenance(&mut s, 1, true, b"{}", long).expect("queued");
        assert_eq!(r["status"], "queued");
        let again = maintenance(&mut s, 1, true, b"{}", long).expect_err("409");
        assert_eq!(again.status, http::StatusCode::CONFLICT);
        assert!(
            maintenance(&mut s, 2, true, b"{}", long).is_ok(),
            "other node"
        );
        let code = |raw: &[u8], node| {
            maintenance(&mut seed(SimVersion::V8_0), node, true, raw, long)
                .expect_err("refused")
                .error_code
        };
        assert_eq!(code(b"{}", 9), "node_not_found");
        assert_eq!(
            code(br#"{"keep_slave_shards": "yes"}"#, 1),
            "invalid_request"
        );
        assert_eq!(code(br#"{"evict_dbs": [true]}"#, 1), "invalid_request");
        assert_eq!(code(b"{", 1), "invalid_json");
    }
}
