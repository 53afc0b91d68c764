//! The cluster object's routes beyond a plain read: `GET /v1/bootstrap` (the answering node's
//! uid and `software_version`, API-RULES §6) and `PUT /v1/cluster` (merges the body into the
//! cluster object; how tests flip the 8.2 fields `allow_modules_upload` and
//! `control_plane_basic_authentication`).
//!
//! Decisions: the answering node is always the first node (uid 1), so `/v1/debuginfo/node`
//! and `/v1/bootstrap` agree (in multi-node mode too). `PUT /v1/cluster` type-checks the two
//! 8.2 booleans and `handle_redirects` (which multi-node mode reads, `cluster_nodes`) and
//! accepts any other key as given (the simulator does not interpret them).

use serde_json::{json, Value};

use super::body;
use super::routes::node_not_found;
use super::state::{Node, SimState};
use crate::error::ApiError;

/// The node that answers every request.
pub fn local_node(state: &SimState) -> Result<&Node, ApiError> {
    state.nodes.first().ok_or_else(|| node_not_found("(local)"))
}

/// `GET /v1/bootstrap`.
pub fn bootstrap(state: &SimState) -> Result<Value, ApiError> {
    let node = local_node(state)?;
    Ok(json!({
        "bootstrap_status": {
            "state": "completed",
            "start_time": "2024-03-11T09:00:00Z",
            "end_time": "2024-03-11T09:02:00Z",
        },
        "local_node_info": {
            "uid": node.uid,
            "software_version": node.software_version,
            "addr": node.extra.get("addr").cloned().unwrap_or(Value::Null),
        },
    }))
}

/// `PUT /v1/cluster`: answers the updated cluster object.
pub fn update(
    state: &mut SimState,
    version: super::version::SimVersion,
    raw: &[u8],
) -> Result<Value, ApiError> {
    let mut map = body::object(raw, false)?;
    super::fields::cluster_write(version, &mut map);
    for key in [
        "allow_modules_upload",
        "control_plane_basic_authentication",
        "handle_redirects",
    ] {
        body::opt_bool(&map, key)?;
    }
    for (k, v) in map {
        state.cluster.insert(k, v);
    }
    super::fields::cluster_view(&mut state.cluster);
    Ok(Value::Object(state.cluster.clone()))
}
