//! The cluster the request target plans against: the simulator's seed state (release 8.0), read
//! through the shim's own `parse_json` exactly as the look-up replies would be, plus one database
//! that reports no `redis_version` (every plan against it must be refused).

use deprecation_shim::rules::module_upgrade::model::{parse_json, Bdb, Module, Node};
use deprecation_shim::rules::module_upgrade::translate::PlannedModule;
use deprecation_shim::sim::{seed, SimVersion};
use serde::Serialize;
use std::sync::OnceLock;

/// The uid of the database built without `redis_version`.
pub const UNPINNED_BDB: u64 = 99;

pub struct Cluster {
    pub bdbs: Vec<Bdb>,
    pub catalog: Vec<Module>,
    pub nodes: Vec<Node>,
}

pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let state = seed::seed(SimVersion::V8_0);
        let mut bdbs: Vec<Bdb> = state
            .bdbs
            .iter()
            .map(|b| read("GET /v1/bdbs/{uid}", &b.to_json()))
            .collect();
        let mut unpinned = bdbs[0].clone();
        unpinned.uid = UNPINNED_BDB;
        unpinned.redis_version = None;
        bdbs.push(unpinned);
        Cluster {
            bdbs,
            catalog: read("GET /v1/modules", &state.modules),
            nodes: read("GET /v1/nodes", &state.nodes),
        }
    })
}

/// Two plans for the old reply: one naming a module the seed databases carry, one naming a
/// module none of them does (so the reply falls back to the plan).
pub fn planned() -> [PlannedModule; 2] {
    let json = PlannedModule {
        current_module_id: seed::REJSON_2_6_6.into(),
        current_module_name: "ReJSON".into(),
        from_version: "2.6.6".into(),
        new_module_id: seed::REJSON_2_6_17.into(),
        to_version: Some("2.6.17".into()),
        new_module_args: String::new(),
    };
    let gone = PlannedModule {
        current_module_id: "gone".into(),
        current_module_name: "gone".into(),
        from_version: String::new(),
        new_module_id: "gone-new".into(),
        to_version: None,
        new_module_args: "ARGS".into(),
    };
    [json, gone]
}

fn read<T: serde::de::DeserializeOwned>(what: &str, value: &impl Serialize) -> T {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|e| panic!("{what} fixture: {e}"));
    parse_json(what, &bytes).unwrap_or_else(|e| panic!("{what} fixture: {e}"))
}
