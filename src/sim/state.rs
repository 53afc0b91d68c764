//! The simulated cluster's data: databases (BDBs), the module catalog, nodes, the cluster object
//! and actions, in the JSON shapes of API.md §4. [`SimState`] serialises to exactly what
//! `GET /__sim/state` and [`crate::sim::Simulator::snapshot`] show, and a state file has the same
//! shape. Fields the simulator does not interpret ride along in each object's `extra` map.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

use super::actions::Run;

/// The whole cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimState {
    pub cluster: Map<String, Value>,
    pub nodes: Vec<Node>,
    pub modules: Vec<Module>,
    pub bdbs: Vec<Bdb>,
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Certificate names replaced so far, oldest first (never the PEM text or the key).
    #[serde(default)]
    pub certificates_replaced: Vec<String>,
    /// Artifacts uploaded with `POST /v2/local/modules/user-defined/artifacts` (8.x).
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
    /// Roles created with `POST /v1/roles` (F1's look-up reads them); none at first.
    #[serde(default)]
    pub roles: Vec<Value>,
    /// Redis ACLs (`GET`/`POST /v1/redis_acls`, F2): "Full Access" at first.
    #[serde(default = "super::redis_acls::seed")]
    pub redis_acls: Vec<Value>,
    /// Live JWTs; secrets, so never serialised (not in `GET /__sim/state`, not in state files).
    #[serde(skip)]
    pub tokens: super::authorize::Tokens,
    /// The users and their password lists. Serialised as password *counts* only, so a state
    /// file cannot carry passwords: a loaded state starts with the built-in users.
    #[serde(skip_deserializing)]
    pub users: super::users::Users,
}

/// A user-defined module artifact on the (simulated) nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    pub module_name: String,
    pub version: u64,
    #[serde(default)]
    pub dependencies: Vec<String>,
}

/// A node; only `software_version` matters (the `min_redis_pack_version` check).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Node {
    pub uid: u64,
    pub software_version: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One module version in the cluster catalog (`GET /v1/modules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Module {
    pub uid: String,
    pub module_name: String,
    #[serde(default)]
    pub display_name: String,
    pub semantic_version: String,
    /// major·10000 + minor·100 + patch.
    pub version: u64,
    #[serde(default)]
    pub min_redis_version: String,
    /// Empty when any Redis at or above `min_redis_version` will do.
    #[serde(default)]
    pub compatible_redis_version: String,
    #[serde(default)]
    pub min_redis_pack_version: String,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A database (`GET /v1/bdbs/{uid}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bdb {
    pub uid: u64,
    pub name: String,
    pub status: String,
    /// The running action's uid; null when idle.
    pub action_uid: Option<String>,
    /// Major.minor ("7.2").
    pub redis_version: String,
    /// Full Redis version ("7.2.4").
    pub version: String,
    #[serde(default)]
    pub crdt: bool,
    #[serde(default)]
    pub module_list: Vec<BdbModule>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A module enabled on a database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BdbModule {
    pub module_id: String,
    pub module_name: String,
    #[serde(default)]
    pub module_args: String,
    pub semantic_version: String,
}

/// A state-machine action (`GET /v1/actions/{uid}`), as last brought up to date by
/// `actions::tick`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Action {
    pub action_uid: String,
    pub name: String,
    /// "bdb:{uid}", as RS names the object a state machine runs on.
    pub object_name: String,
    pub status: String,
    pub progress: f64,
    /// Unix seconds.
    #[serde(default)]
    pub creation_time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The timing and the change still to apply; `None` once finished, and for actions loaded
    /// from a state file (those stay exactly as written).
    #[serde(skip)]
    pub run: Option<Run>,
}

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_CHANGE_PENDING: &str = "active-change-pending";

impl SimState {
    /// Reads a state file (the shape of `GET /__sim/state`).
    pub fn load(path: &Path) -> Result<SimState, String> {
        let text = std::fs::read(path)
            .map_err(|e| format!("cannot read state file {}: {e}", path.display()))?;
        serde_json::from_slice(&text).map_err(|e| {
            format!(
                "state file {} is not a simulator state (the shape of GET /__sim/state): {e}",
                path.display()
            )
        })
    }

    pub fn to_json(&self) -> Value {
        // Plain data with string keys: serialising it cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    pub fn bdb(&self, uid: u64) -> Option<&Bdb> {
        self.bdbs.iter().find(|b| b.uid == uid)
    }

    pub fn bdb_mut(&mut self, uid: u64) -> Option<&mut Bdb> {
        self.bdbs.iter_mut().find(|b| b.uid == uid)
    }

    pub fn module(&self, uid: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.uid == uid)
    }

    pub fn module_mut_index(&self, uid: &str) -> Option<usize> {
        self.modules.iter().position(|m| m.uid == uid)
    }

    pub fn action(&self, uid: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.action_uid == uid)
    }

    /// The lowest node `software_version`: a module must fit every node.
    pub fn lowest_software_version(&self) -> Option<&str> {
        self.nodes
            .iter()
            .map(|n| n.software_version.as_str())
            .min_by(|a, b| super::version::compare_versions(a, b))
    }

    /// The answering node's build (the first node, as `GET /v1/bootstrap` says) as a 4-tuple;
    /// `None` without nodes or when its `software_version` does not parse.
    pub fn node_build(&self) -> Option<super::version::Build> {
        super::version::parse_build(&self.nodes.first()?.software_version)
    }

    /// Sets every node's `software_version` to `build`, which must be a build of `version`
    /// (`7.8.2-34` for 7.8).
    pub fn set_build(&mut self, version: super::SimVersion, build: &str) -> Result<(), String> {
        version.check_build(build)?;
        for node in &mut self.nodes {
            node.software_version = build.to_owned();
        }
        Ok(())
    }

    /// The unfinished action a database is busy with, if any.
    /// A database naming an action that is not on record counts as busy: a state file can
    /// describe a database stuck in an upgrade.
    pub fn busy_with(&self, bdb: &Bdb) -> Option<String> {
        let uid = bdb.action_uid.as_deref()?;
        match self.action(uid) {
            Some(a) if a.is_finished() => None,
            _ => Some(uid.to_owned()),
        }
    }
}

impl Bdb {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Action {
    pub fn bdb_uid(&self) -> Option<u64> {
        self.object_name.strip_prefix("bdb:")?.parse().ok()
    }

    pub fn is_finished(&self) -> bool {
        self.status == "completed" || self.status == "failed"
    }
}
