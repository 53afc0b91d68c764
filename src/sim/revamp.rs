//! R15, shard placement (`shared/API-CATALOGUE.md` §5): the old
//! `GET /v1/bdbs/{uid}/actions/optimize_shards_placement` (every release, every role) and its
//! successor `PUT /v1/bdbs/{uid}/actions/revamp` (7.22 and later; admin only, a viewer gets 403;
//! earlier releases answer as for an unknown route). Both compute the same blueprint from the
//! same inputs:
//!
//! | GET query | revamp body | database field used when absent |
//! |---|---|---|
//! | `shards_count` (1–512) | `shards_count` (integer 1–512) | `shards_count` |
//! | `memory_size`, `bigstore_ram_size` | same, integers | `memory_size` |
//! | `shards_placement=dense\|sparse` | same, string | `shards_placement` (else dense) |
//! | `replication=enabled\|disabled` | `replication` (boolean) | `replication` |
//! | `avoid_nodes=1,2` | `avoid_nodes` (`["1","2"]`) | `avoid_nodes` |
//!
//! Blueprint: `[{"nodes": [{"node_uid": "1", "role": "master"}, {"node_uid": "2", "role":
//! "slave"}], "slot_range": "0-5460"}, …]`, one entry per shard. The usable nodes are the
//! cluster's, minus `avoid_nodes` and nodes in maintenance (`maintenance`), by uid. `dense`
//! puts every master on the first and every replica on the second; `sparse` puts shard i's
//! master on node i mod n and its replica on the next. Shard i holds slots
//! round(i·16384/count) to round((i+1)·16384/count) − 1 (so 0-5460, 5461-10922, 10923-16383).
//! 406 `insufficient_resources` "Not enough resources in the cluster to host the database" when
//! fewer usable nodes than copies (2 with replication), or when `memory_size` × copies exceeds
//! their `total_memory`.
//!
//! Decisions:
//! - The GET sends `cluster-state-id`: 1 + the number of action starts and completions so far
//!   (every upgrade, update, revamp, module task and maintenance task), so it changes whenever
//!   the cluster state does and never otherwise. The revamp sends it only with the switch
//!   `revamp_state_header` (`dry_run=true` only).
//! - Revamp answers, first failure wins: 404 `bdb_not_found`, 400 `invalid_request` (query
//!   `dry_run` not `true`/`false`, a bad or unknown body field), 409 `busy` (switch
//!   `revamp_busy`), 409 `action_in_progress` (the database runs an action: the dry run too,
//!   the catalogue's trap), 406 as above. `dry_run=true` → 200 blueprint; else 200
//!   `{"action_uid"}` and an `SMUpdateBDB` action that writes the given fields (`shards_count`,
//!   `avoid_nodes`, …) into the database on completion. `pause_persistence` is ignored.
//! - The GET ignores unknown query keys; a bad value is 400 `invalid_request` naming it.

use serde_json::{json, Map, Value};

use super::actions::Change;
use super::body;
use super::catalogue_b::{start_bdb_action, Ctx};
use super::module_upgrade::busy;
use super::routes::{bdb_not_found, Answer, Rejection};
use super::state::{Bdb, Node, SimState};
use crate::error::ApiError;

/// The response header naming the cluster state a blueprint was computed from.
pub const STATE_HEADER: &str = "cluster-state-id";

const SLOTS: u64 = 16_384;
const MAX_SHARDS: u64 = 512;

/// What a blueprint is computed from.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    shards_count: u64,
    replication: bool,
    sparse: bool,
    memory_size: u64,
    avoid: Vec<String>,
}

/// `GET …/actions/optimize_shards_placement`.
pub fn optimize(state: &SimState, uid: u64, query: Option<&str>) -> Result<Answer, ApiError> {
    let bdb = state.bdb(uid).ok_or_else(|| bdb_not_found(uid))?;
    let layout = layout(bdb, &from_query(query)?);
    let plan = blueprint(state, &layout)?;
    let id = cluster_state_id(state).to_string();
    Ok(Answer::JsonWithHeaders(plan, vec![(STATE_HEADER, id)]))
}

/// `PUT …/actions/revamp`.
pub fn revamp(
    state: &mut SimState,
    ctx: &Ctx<'_>,
    uid: u64,
    raw: &[u8],
) -> Result<Answer, Rejection> {
    let bdb = state.bdb(uid).ok_or_else(|| bdb_not_found(uid))?.clone();
    let dry_run = dry_run(ctx.query)?;
    let given = from_body(raw)?;
    let switches = ctx.faults.get();
    if switches.revamp_busy {
        return Err(ApiError::new(
            http::StatusCode::CONFLICT,
            "busy",
            "Database is currently busy with another action; reattempt the request later",
        )
        .into());
    }
    if let Some(running) = state.busy_with(&bdb) {
        return Err(busy(uid, &running).into());
    }
    let plan = blueprint(state, &layout(&bdb, &given))?;
    if dry_run {
        if switches.revamp_state_header {
            let id = cluster_state_id(state).to_string();
            return Ok(Answer::JsonWithHeaders(plan, vec![(STATE_HEADER, id)]));
        }
        return Ok(Answer::Json(plan));
    }
    let change = Change {
        bdb_fields: given,
        ..Change::default()
    };
    let fate = ctx.faults.take_action_fate();
    let action_uid = start_bdb_action(state, uid, change, fate, ctx.duration);
    Ok(Answer::Json(json!({ "action_uid": action_uid })))
}

/// 1 + every action start and every completion so far.
pub fn cluster_state_id(state: &SimState) -> u64 {
    let events: u64 = state
        .actions
        .iter()
        .map(|a| 1 + u64::from(a.is_finished()))
        .sum();
    1 + events
}

fn dry_run(query: Option<&str>) -> Result<bool, ApiError> {
    let mut pairs = query.unwrap_or("").rsplit('&');
    match pairs.find_map(|p| p.strip_prefix("dry_run=")) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(body::shape("dry_run", "must be true or false")),
    }
}

/// The GET's query as the body fields it stands for (the catalogue's §5.2 mapping).
fn from_query(query: Option<&str>) -> Result<Map<String, Value>, ApiError> {
    let mut given = Map::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let raw = raw.replace("%2C", ",").replace("%2c", ",");
        let value = match key {
            "shards_count" => Value::from(shards(raw.parse().ok())?),
            "memory_size" | "bigstore_ram_size" => raw
                .parse::<u64>()
                .map(Value::from)
                .map_err(|_| body::shape(key, "must be a non-negative integer"))?,
            "shards_placement" => Value::from(placement(Some(raw.as_str()))?),
            "replication" => match raw.as_str() {
                "enabled" => Value::Bool(true),
                "disabled" => Value::Bool(false),
                _ => return Err(body::shape(key, "must be enabled or disabled")),
            },
            "avoid_nodes" => {
                let list: Vec<Value> = raw.split(',').map(|s| Value::from(s.trim())).collect();
                Value::Array(node_list(&list)?)
            }
            _ => continue,
        };
        given.insert(key.to_owned(), value);
    }
    Ok(given)
}

/// The revamp's body, type-checked; only the fields it names.
fn from_body(raw: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let map = body::object(raw, true)?;
    let known = [
        "shards_count",
        "memory_size",
        "bigstore_ram_size",
        "shards_placement",
        "replication",
        "avoid_nodes",
    ];
    body::only_known(&map, &known, "")?;
    let mut given = Map::new();
    if map.get("shards_count").is_some_and(|v| !v.is_null()) {
        let n = shards(body::opt_uint(&map, "shards_count")?)?;
        given.insert("shards_count".into(), Value::from(n));
    }
    for key in ["memory_size", "bigstore_ram_size"] {
        if let Some(n) = body::opt_uint(&map, key)? {
            given.insert(key.into(), Value::from(n));
        }
    }
    if let Some(p) = body::opt_str(&map, "shards_placement")? {
        given.insert(
            "shards_placement".into(),
            Value::from(placement(Some(p.as_str()))?),
        );
    }
    if let Some(b) = body::opt_bool(&map, "replication")? {
        given.insert("replication".into(), Value::Bool(b));
    }
    match map.get("avoid_nodes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            given.insert("avoid_nodes".into(), Value::Array(node_list(list)?));
        }
        Some(_) => return Err(body::shape("avoid_nodes", "must be a list of node uids")),
    }
    Ok(given)
}

fn shards(n: Option<u64>) -> Result<u64, ApiError> {
    n.filter(|n| (1..=MAX_SHARDS).contains(n))
        .ok_or_else(|| body::shape("shards_count", "must be an integer from 1 to 512"))
}

fn placement(raw: Option<&str>) -> Result<&'static str, ApiError> {
    match raw {
        Some("dense") => Ok("dense"),
        Some("sparse") => Ok("sparse"),
        _ => Err(body::shape("shards_placement", "must be dense or sparse")),
    }
}

/// Node uids as strings of digits (`["1", "2"]`).
fn node_list(list: &[Value]) -> Result<Vec<Value>, ApiError> {
    list.iter()
        .map(|v| match v.as_str() {
            Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => Ok(Value::from(s)),
            _ => Err(body::shape("avoid_nodes", "must hold node uids as strings")),
        })
        .collect()
}

/// The inputs: what was given, else the database's own fields.
fn layout(bdb: &Bdb, given: &Map<String, Value>) -> Layout {
    let field = |key: &str| given.get(key).or_else(|| bdb.extra.get(key));
    let avoid = field("avoid_nodes")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Layout {
        shards_count: field("shards_count")
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .clamp(1, MAX_SHARDS),
        replication: field("replication")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        sparse: field("shards_placement").and_then(Value::as_str) == Some("sparse"),
        memory_size: field("memory_size").and_then(Value::as_u64).unwrap_or(0),
        avoid,
    }
}

fn in_maintenance(node: &Node) -> bool {
    node.extra
        .get("maintenance")
        .and_then(|m| m.get("on"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn blueprint(state: &SimState, l: &Layout) -> Result<Value, ApiError> {
    let mut nodes: Vec<&Node> = state
        .nodes
        .iter()
        .filter(|n| !l.avoid.contains(&n.uid.to_string()) && !in_maintenance(n))
        .collect();
    nodes.sort_by_key(|n| n.uid);
    let copies: u64 = if l.replication { 2 } else { 1 };
    let memory: u64 = nodes
        .iter()
        .filter_map(|n| n.extra.get("total_memory").and_then(Value::as_u64))
        .sum();
    let count = nodes.len() as u64;
    if count < copies || l.memory_size.saturating_mul(copies) > memory {
        return Err(ApiError::new(
            http::StatusCode::NOT_ACCEPTABLE,
            "insufficient_resources",
            "Not enough resources in the cluster to host the database",
        ));
    }
    let member = |index: u64, role: &str| {
        let uid = usize::try_from(index % count)
            .ok()
            .and_then(|i| nodes.get(i))
            .map(|n| n.uid.to_string());
        json!({"node_uid": uid, "role": role})
    };
    let shards: Vec<Value> = (0..l.shards_count)
        .map(|i| {
            let (master, replica) = if l.sparse { (i, i + 1) } else { (0, 1) };
            let mut members = vec![member(master, "master")];
            if l.replication {
                members.push(member(replica, "slave"));
            }
            json!({"nodes": members, "slot_range": slot_range(i, l.shards_count)})
        })
        .collect();
    Ok(Value::Array(shards))
}

/// Shard `i` of `count`: slots round(i·16384/count) .. round((i+1)·16384/count) − 1.
fn slot_range(i: u64, count: u64) -> String {
    let start = |k: u64| (2 * k * SLOTS + count) / (2 * count);
    format!("{}-{}", start(i), start(i + 1) - 1)
}

#[cfg(test)]
mod tests;
