//! The built-in seed state: four databases (six on 8.2), a module catalog built so that every error of the
//! old route can be provoked, three nodes, and the cluster object. Deterministic: the same
//! release always seeds the same uids.
//!
//! Databases (Redis 7.2 / 6.2 are bundled by every simulated release, so they can be pinned):
//!
//! | uid | name            | redis | version | modules (module_args)                                  | notes |
//! |-----|-----------------|-------|---------|---------------------------------------------------------|-------|
//! | 1   | orders-db       | 7.2   | 7.2.4   | ReJSON 2.6.6 (""), search 2.8.4 ("PARTITIONS AUTO")     |       |
//! | 2   | cache           | 7.2   | 7.2.4   | none                                                    |       |
//! | 3   | legacy-sessions | 6.2   | 6.2.14  | timeseries 1.8.13 ("RETENTION_POLICY 86400000")        | older Redis |
//! | 4   | geo-replicated  | 7.2   | 7.2.4   | ReJSON 2.6.6 ("")                                       | `crdt: true` |
//! | 5   | r8-ram          | 8.2     | 8.2.1   | ReJSON, search, timeseries, bf at 8.2.x                 | 8.2 only (8.0: [`seed_with_redis8`], Redis 8.0.2 / 8.0.x) |
//! | 6   | r8-flex         | 8.2     | 8.2.1   | ReJSON, bf at 8.2.x                                     | as uid 5; `bigstore: true` |
//!
//! Module catalog (`min_redis_pack_version` is what the nodes' `software_version` must reach):
//!
//! | uid                              | module     | semver  | min_redis | compatible | min_pack | capabilities |
//! |----------------------------------|------------|---------|-----------|------------|----------|--------------|
//! | daffa52d23ab004f19738c7bf753e150 | ReJSON     | 2.4.7   | 6.0.0     |            | 6.2.18   | full         |
//! | b63fce2abeca9c80d0b049b8f796215b | ReJSON     | 2.6.6   | 7.1.0     |            | 7.2.4    | full         |
//! | e498441c107b69c94feae975a9f78330 | ReJSON     | 2.6.17  | 7.1.0     |            | 7.2.4    | full         |
//! | a1b2d76295676f2404760e5615867193 | ReJSON     | 2.8.4   | 7.1.0     | 7.4        | 7.8.2    | full         |
//! | 3ab1794b1e32ce5fbef0dc0a94b18ad3 | ReJSON     | 8.0.2   | 8.0.0     | 8.0        | 8.0.2    | full         |
//! | 252bb07abbb692a67067be88b57bc864 | search     | 2.6.12  | 6.0.0     |            | 6.2.18   | full         |
//! | b34850fa9d702f6185509beaf2c1a888 | search     | 2.8.4   | 7.1.0     |            | 7.2.4    | full         |
//! | 43d3a51a895ed32abad2d293fe98e1e6 | search     | 2.8.9   | 7.1.0     |            | 7.2.4    | full         |
//! | d12a294804a26a93567466c3637a530d | search     | 2.8.15  | 7.1.0     |            | 7.2.4    | full − crdb  |
//! | 06792f265b63651e1238029abf8bb09a | search     | 2.8.21  | 7.1.0     |            | 7.8.6    | full         |
//! | 7250eec79e7da05fdd8825637bf74e46 | search     | 2.10.5  | 7.1.0     | 7.4        | 7.8.2    | full         |
//! | 2f84e7d3bd75038f54ad2c62903c332f | search     | 8.0.1   | 8.0.0     | 8.0        | 8.0.2    | full         |
//! | dca7c963bfdd75a977f7f3542246530a | timeseries | 1.8.13  | 6.0.0     |            | 6.2.18   | no crdb      |
//! | 72b349f7402421caa7324e6dced34b5d | timeseries | 1.8.15  | 6.0.0     |            | 6.2.18   | no crdb      |
//! | e7fd24411c7db880d80c6feced4298b8 | timeseries | 1.10.11 | 7.1.0     |            | 7.2.4    | no crdb      |
//! | a0a0b4ac2f475386868b9b1957ec7841 | timeseries | 1.12.2  | 7.1.0     | 7.4        | 7.8.2    | no crdb      |
//! | b97d8fe20f60fcefc54d1ff799a17f5f | timeseries | 8.0.1   | 8.0.0     | 8.0        | 8.0.2    | no crdb      |
//! | ac4246c1971ee86fb814429abc041a03 | bf         | 2.4.5   | 6.0.0     |            | 6.2.18   | full         |
//! | 0b12f215b151117dd421a947886a0751 | bf         | 2.6.10  | 7.1.0     |            | 7.2.4    | full         |
//! | d93328c8d363621098b82f3b635c901c | bf         | 2.8.2   | 7.1.0     | 7.4        | 7.8.2    | full         |
//! | c1218aa6789fd4c7ca0b519d23b369db | bf         | 8.0.1   | 8.0.0     | 8.0        | 8.0.2    | full         |
//!
//! On 8.2 only, four more (`sim::redis8::CATALOG_8_2`): ReJSON 8.2.0, search 8.2.1,
//! timeseries 8.2.0, bf 8.2.0, all `compatible_redis_version` 8.2.
//!
//! Old-route outcomes on the seed state (releases 7.4 and 7.8, `{"new_module": <uid>}` on
//! `POST /v1/modules/upgrade/bdb/{db}`):
//!
//! | db | new_module            | result |
//! |----|-----------------------|--------|
//! | 1  | ReJSON 2.6.17         | 200, ReJSON 2.6.6 → 2.6.17 |
//! | 1  | search 2.8.9          | 200, module_args "PARTITIONS AUTO" kept |
//! | 1  | `0123456789abcdef0123456789abcdef` | 400 `missing_module` (not in the catalog) |
//! | 2  | ReJSON 2.6.17         | 400 `missing_module` (no ReJSON on the database) |
//! | 1  | ReJSON 2.4.7          | 406 `module_downgrade_unsupported` |
//! | 3  | timeseries 1.10.11    | 406 `redis_incompatible_version` (min_redis 7.1.0 > 6.2.14) |
//! | 1  | ReJSON 2.8.4          | 406 `redis_incompatible_version` (compatible_redis 7.4 ≠ 7.2) |
//! | 1  | search 2.8.21         | 406 `redis_pack_incompatible_version` (7.8.6 > 7.8.2-34 / 7.4.6-77) |
//! | 1  | search 2.8.15         | 406 `unsupported_module_capabilities` (drops "crdb") |

use serde_json::{json, Map, Value};

use super::redis8;
use super::state::{Bdb, BdbModule, Module, Node, SimState, STATUS_ACTIVE};
use super::version::{version_number, SimVersion};

/// A module uid that is deliberately absent from the catalog.
pub const UNKNOWN_MODULE_UID: &str = "0123456789abcdef0123456789abcdef";

/// The capabilities every module has: the whole list of a package uploaded without a
/// `capabilities` list (`super::modules`), and the start of a bundled module's.
pub(crate) const CAPS_BASE: &[&str] = &[
    "types",
    "crdb",
    "failover_migrate",
    "persistence_aof",
    "persistence_rdb",
    "clustering",
    "backup_restore",
];

/// A bundled module's capabilities: [`CAPS_BASE`], then these.
const CAPS_MORE: &[&str] = &["replica_of", "eviction_expiry", "intershard_tls", "ipv6"];

// (uid, module_name, display_name, semver, min_redis, compatible_redis, min_pack, drop_caps)
pub(crate) type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

pub(crate) const NO_CRDB: &[&str] = &["crdb"];

#[rustfmt::skip]
const CATALOG: &[Row] = &[
    ("daffa52d23ab004f19738c7bf753e150", "ReJSON", "RedisJSON", "2.4.7", "6.0.0", "", "6.2.18", &[]),
    ("b63fce2abeca9c80d0b049b8f796215b", "ReJSON", "RedisJSON", "2.6.6", "7.1.0", "", "7.2.4", &[]),
    ("e498441c107b69c94feae975a9f78330", "ReJSON", "RedisJSON", "2.6.17", "7.1.0", "", "7.2.4", &[]),
    ("a1b2d76295676f2404760e5615867193", "ReJSON", "RedisJSON", "2.8.4", "7.1.0", "7.4", "7.8.2", &[]),
    ("3ab1794b1e32ce5fbef0dc0a94b18ad3", "ReJSON", "RedisJSON", "8.0.2", "8.0.0", "8.0", "8.0.2", &[]),
    ("252bb07abbb692a67067be88b57bc864", "search", "RediSearch 2", "2.6.12", "6.0.0", "", "6.2.18", &[]),
    ("b34850fa9d702f6185509beaf2c1a888", "search", "RediSearch 2", "2.8.4", "7.1.0", "", "7.2.4", &[]),
    ("43d3a51a895ed32abad2d293fe98e1e6", "search", "RediSearch 2", "2.8.9", "7.1.0", "", "7.2.4", &[]),
    ("d12a294804a26a93567466c3637a530d", "search", "RediSearch 2", "2.8.15", "7.1.0", "", "7.2.4", NO_CRDB),
    ("06792f265b63651e1238029abf8bb09a", "search", "RediSearch 2", "2.8.21", "7.1.0", "", "7.8.6", &[]),
    ("7250eec79e7da05fdd8825637bf74e46", "search", "RediSearch 2", "2.10.5", "7.1.0", "7.4", "7.8.2", &[]),
    ("2f84e7d3bd75038f54ad2c62903c332f", "search", "RediSearch 2", "8.0.1", "8.0.0", "8.0", "8.0.2", &[]),
    ("dca7c963bfdd75a977f7f3542246530a", "timeseries", "RedisTimeSeries", "1.8.13", "6.0.0", "", "6.2.18", NO_CRDB),
    ("72b349f7402421caa7324e6dced34b5d", "timeseries", "RedisTimeSeries", "1.8.15", "6.0.0", "", "6.2.18", NO_CRDB),
    ("e7fd24411c7db880d80c6feced4298b8", "timeseries", "RedisTimeSeries", "1.10.11", "7.1.0", "", "7.2.4", NO_CRDB),
    ("a0a0b4ac2f475386868b9b1957ec7841", "timeseries", "RedisTimeSeries", "1.12.2", "7.1.0", "7.4", "7.8.2", NO_CRDB),
    ("b97d8fe20f60fcefc54d1ff799a17f5f", "timeseries", "RedisTimeSeries", "8.0.1", "8.0.0", "8.0", "8.0.2", NO_CRDB),
    ("ac4246c1971ee86fb814429abc041a03", "bf", "RedisBloom", "2.4.5", "6.0.0", "", "6.2.18", &[]),
    ("0b12f215b151117dd421a947886a0751", "bf", "RedisBloom", "2.6.10", "7.1.0", "", "7.2.4", &[]),
    ("d93328c8d363621098b82f3b635c901c", "bf", "RedisBloom", "2.8.2", "7.1.0", "7.4", "7.8.2", &[]),
    ("c1218aa6789fd4c7ca0b519d23b369db", "bf", "RedisBloom", "8.0.1", "8.0.0", "8.0", "8.0.2", &[]),
];

/// Catalog uids by name, for tests and docs (`seed::REJSON_2_6_17`, ...).
pub const REJSON_2_4_7: &str = "daffa52d23ab004f19738c7bf753e150";
pub const REJSON_2_6_6: &str = "b63fce2abeca9c80d0b049b8f796215b";
pub const REJSON_2_6_17: &str = "e498441c107b69c94feae975a9f78330";
pub const REJSON_2_8_4: &str = "a1b2d76295676f2404760e5615867193";
pub const REJSON_8_0_2: &str = "3ab1794b1e32ce5fbef0dc0a94b18ad3";
pub const SEARCH_2_8_4: &str = "b34850fa9d702f6185509beaf2c1a888";
pub const SEARCH_2_8_9: &str = "43d3a51a895ed32abad2d293fe98e1e6";
pub const SEARCH_2_8_15_NO_CRDB: &str = "d12a294804a26a93567466c3637a530d";
pub const SEARCH_2_8_21_NEEDS_7_8_6: &str = "06792f265b63651e1238029abf8bb09a";
pub const SEARCH_2_10_5: &str = "7250eec79e7da05fdd8825637bf74e46";
pub const SEARCH_8_0_1: &str = "2f84e7d3bd75038f54ad2c62903c332f";
pub const TIMESERIES_1_8_13: &str = "dca7c963bfdd75a977f7f3542246530a";
pub const TIMESERIES_1_8_15: &str = "72b349f7402421caa7324e6dced34b5d";
pub const TIMESERIES_1_10_11: &str = "e7fd24411c7db880d80c6feced4298b8";
pub const TIMESERIES_1_12_2: &str = "a0a0b4ac2f475386868b9b1957ec7841";
pub const TIMESERIES_8_0_1: &str = "b97d8fe20f60fcefc54d1ff799a17f5f";
pub const BF_8_0_1: &str = "c1218aa6789fd4c7ca0b519d23b369db";

/// The seed state for a release, plus the two Redis 8 databases on 8.0 as well (8.2's seed
/// has them already): for tests of Redis 8 databases in front of an 8.0 cluster, whose default
/// seed keeps its four databases so that existing expectations hold.
pub fn seed_with_redis8(version: SimVersion) -> SimState {
    let mut state = seed(version);
    if version == SimVersion::V8_0 {
        let extra = redis8::databases(version, &state.modules);
        state.bdbs.extend(extra);
    }
    state
}

/// The seed state for a release.
pub fn seed(version: SimVersion) -> SimState {
    let mut modules: Vec<Module> = CATALOG.iter().map(module).collect();
    modules.extend(redis8::catalog(version));
    let redis8_bdbs = match version {
        SimVersion::V8_2 => redis8::databases(version, &modules),
        _ => Vec::new(),
    };
    let mut state = SimState {
        roles: Vec::new(),
        redis_acls: super::redis_acls::seed(),
        cluster: cluster(version),
        nodes: (1..=3).map(|uid| node(uid, version)).collect(),
        modules,
        bdbs: vec![
            bdb(
                1,
                "orders-db",
                ("7.2", "7.2.4"),
                false,
                vec![
                    enabled(REJSON_2_6_6, ""),
                    enabled(SEARCH_2_8_4, "PARTITIONS AUTO"),
                ],
            ),
            bdb(2, "cache", ("7.2", "7.2.4"), false, vec![]),
            bdb(
                3,
                "legacy-sessions",
                ("6.2", "6.2.14"),
                false,
                vec![enabled(TIMESERIES_1_8_13, "RETENTION_POLICY 86400000")],
            ),
            bdb(
                4,
                "geo-replicated",
                ("7.2", "7.2.4"),
                true,
                vec![enabled(REJSON_2_6_6, "")],
            ),
        ],
        actions: Vec::new(),
        certificates_replaced: Vec::new(),
        artifacts: Vec::new(),
        tokens: Default::default(),
        users: Default::default(),
    };
    state.bdbs.extend(redis8_bdbs);
    state
}

pub(crate) fn module(row: &Row) -> Module {
    let (uid, name, display, semver, min_redis, compatible, min_pack, dropped) = *row;
    let capabilities = CAPS_BASE
        .iter()
        .chain(CAPS_MORE)
        .filter(|c| !dropped.contains(c))
        .map(|c| (*c).to_owned())
        .collect();
    let mut extra = Map::new();
    extra.insert("author".into(), json!("RedisLabs"));
    extra.insert("architecture".into(), json!("x86_64"));
    extra.insert("os".into(), json!("rhel9"));
    extra.insert("is_bundled".into(), json!(true));
    Module {
        uid: uid.to_owned(),
        module_name: name.to_owned(),
        display_name: display.to_owned(),
        semantic_version: semver.to_owned(),
        version: version_number(semver),
        min_redis_version: min_redis.to_owned(),
        compatible_redis_version: compatible.to_owned(),
        min_redis_pack_version: min_pack.to_owned(),
        capabilities,
        extra,
    }
}

/// A `module_list` entry for a catalog module; unknown uids cannot happen in the seed.
fn enabled(uid: &str, args: &str) -> BdbModule {
    let row = CATALOG.iter().find(|r| r.0 == uid);
    BdbModule {
        module_id: uid.to_owned(),
        module_name: row.map(|r| r.1).unwrap_or_default().to_owned(),
        module_args: args.to_owned(),
        semantic_version: row.map(|r| r.3).unwrap_or_default().to_owned(),
    }
}

pub(crate) fn bdb(
    uid: u64,
    name: &str,
    redis: (&str, &str),
    crdt: bool,
    modules: Vec<BdbModule>,
) -> Bdb {
    let extra = json!({
        "type": "redis",
        "memory_size": 1_073_741_824u64 * uid,
        "shards_count": if uid == 1 { 2 } else { 1 },
        "replication": uid != 2,
        "sharding": uid == 1,
        "port": 12000 + uid,
        "data_persistence": if uid == 2 { "disabled" } else { "aof" },
        "crdt_sync": if crdt { "enabled" } else { "disabled" },
        "created_time": "2024-03-11T09:20:00Z",
    });
    Bdb {
        uid,
        name: name.to_owned(),
        status: STATUS_ACTIVE.to_owned(),
        action_uid: None,
        redis_version: redis.0.to_owned(),
        version: redis.1.to_owned(),
        crdt,
        module_list: modules,
        extra: as_map(extra),
    }
}

fn node(uid: u64, version: SimVersion) -> Node {
    let supported: Vec<Value> = version
        .bundled_redis()
        .iter()
        .map(|b| json!({"db_type": "redis", "version": b.redis_version}))
        .collect();
    let extra = json!({
        "addr": format!("10.0.0.{uid}"),
        "status": "active",
        "cores": 4,
        "total_memory": 16_776_433_664u64,
        "shard_count": 2,
        "rack_id": format!("rack-{uid}"),
        "supported_database_versions": supported,
    });
    Node {
        uid,
        software_version: version.software_version().to_owned(),
        extra: as_map(extra),
    }
}

fn cluster(version: SimVersion) -> Map<String, Value> {
    let mut map = as_map(json!({
        "name": "cluster.sim.local",
        "created_time": "2024-03-11T09:00:00Z",
        "cm_port": 8443,
        "cnm_http_port": 8080,
        "cnm_https_port": 9443,
        "email_alerts": false,
        "rack_aware": true,
    }));
    if version.has_8_2_switches() {
        map.insert("allow_modules_upload".into(), json!(false));
        map.insert("control_plane_basic_authentication".into(), json!(true));
    }
    map
}

fn as_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_versions_follow_the_integer_rule_and_uids_are_unique() {
        let s = seed(SimVersion::V8_0);
        for m in &s.modules {
            assert_eq!(m.uid.len(), 32, "{}", m.uid);
            assert!(m.uid.chars().all(|c| c.is_ascii_hexdigit()));
            assert_eq!(m.version, version_number(&m.semantic_version));
        }
        let mut uids: Vec<_> = s.modules.iter().map(|m| &m.uid).collect();
        uids.sort();
        uids.dedup();
        assert_eq!(uids.len(), s.modules.len());
    }

    #[test]
    fn every_enabled_module_is_in_the_catalog() {
        let s = seed(SimVersion::V7_8);
        for b in &s.bdbs {
            for m in &b.module_list {
                let cat = s.module(&m.module_id).expect("catalog entry");
                assert_eq!(cat.semantic_version, m.semantic_version);
                assert_eq!(cat.module_name, m.module_name);
            }
        }
        assert!(s.module(UNKNOWN_MODULE_UID).is_none());
    }

    #[test]
    fn nodes_run_the_simulated_release() {
        let s = seed(SimVersion::V7_4);
        assert!(s.nodes.len() >= 2);
        assert_eq!(s.lowest_software_version(), Some("7.4.6-77"));
    }
}
