//! Databases running Redis 8 on RS 8.x (API.md §6): the two seed databases, the 8.2 catalog
//! entries, the `?extended=true` capability objects, and what the new upgrade route does with
//! a `modules` entry for such a database (the `redis8_modules` switch).
//!
//! Decisions (inference; the docs say nothing about these):
//! - Seeded on 8.2, after the four older databases: uid 5 `r8-ram` (RAM; search, ReJSON,
//!   timeseries, bf) and uid 6 `r8-flex` (`bigstore: true`; ReJSON, bf), running Redis 8.2.1
//!   with the modules at 8.2.x. The 8.0 seed keeps its four databases (existing tests list
//!   them); `seed::seed_with_redis8(V8_0)` adds the two running Redis 8.0.2 with the 8.0.x
//!   catalog entries (RS 8.0 bundles no Redis 8.2), for a `SimConfig::state`.
//! - The 8.2 catalog adds search 8.2.1, ReJSON 8.2.0, timeseries 8.2.0, bf 8.2.0
//!   (`compatible_redis_version: "8.2"`, `is_bundled: true`).
//! - `?extended=true` adds, for a Redis ≥ 8 database only, `search` (when search is
//!   enabled), `timeseries` and `probabilistic` (when bf is) with a few kebab-case keys and
//!   RS-like defaults; the key names are ours. Values configured since (R14: the old config
//!   routes' mapped `module_args`, `PUT /v1/bdbs/{uid}`) are stored in the database's field of
//!   the same name, overlay the defaults, and are shown only with `?extended=true`.
//! - `redis8_modules = "ignore"`: the entries are dropped, the action runs and completes, the
//!   database is unchanged; `"reject"`: 406 `redis8_module_upgrade_unsupported`.

use serde_json::{json, Map, Value};

use super::seed::{self, Row};
use super::state::{Bdb, BdbModule, Module};
use super::version::{compare_versions, SimVersion};

pub const SEARCH_8_2_1: &str = "5e8c1d2f7a9b4c3e8d6f0a1b2c3d4e5f";
pub const REJSON_8_2_0: &str = "7a1f3c5e9b2d4f6a8c0e1b3d5f7a9c2e";
pub const TIMESERIES_8_2_0: &str = "9c3e5a7b1d4f6e8a0c2b4d6f8a1c3e5b";
pub const BF_8_2_0: &str = "b2d4f6a8c1e3b5d7f9a2c4e6b8d1f3a5";

#[rustfmt::skip]
pub(crate) const CATALOG_8_2: &[Row] = &[
    (REJSON_8_2_0, "ReJSON", "RedisJSON", "8.2.0", "8.2.0", "8.2", "8.2.0", &[]),
    (SEARCH_8_2_1, "search", "RediSearch 2", "8.2.1", "8.2.0", "8.2", "8.2.0", &[]),
    (TIMESERIES_8_2_0, "timeseries", "RedisTimeSeries", "8.2.0", "8.2.0", "8.2", "8.2.0", seed::NO_CRDB),
    (BF_8_2_0, "bf", "RedisBloom", "8.2.0", "8.2.0", "8.2", "8.2.0", &[]),
];

/// Whether a database runs Redis 8 or later.
pub fn runs_redis8(bdb: &Bdb) -> bool {
    compare_versions(&bdb.version, "8").is_ge()
}

/// The 8.2 catalog additions (none before 8.2).
pub fn catalog(version: SimVersion) -> Vec<Module> {
    match version {
        SimVersion::V8_2 => CATALOG_8_2.iter().map(seed::module).collect(),
        _ => Vec::new(),
    }
}

/// The Redis 8 databases of a release (none before 8.0).
pub fn databases(version: SimVersion, catalog: &[Module]) -> Vec<Bdb> {
    let (redis, [json_id, search, ts, bf]) = match version {
        SimVersion::V8_2 => (
            ("8.2", "8.2.1"),
            [REJSON_8_2_0, SEARCH_8_2_1, TIMESERIES_8_2_0, BF_8_2_0],
        ),
        SimVersion::V8_0 => (
            ("8.0", "8.0.2"),
            [
                seed::REJSON_8_0_2,
                seed::SEARCH_8_0_1,
                seed::TIMESERIES_8_0_1,
                seed::BF_8_0_1,
            ],
        ),
        _ => return Vec::new(),
    };
    let on = |uid: &str| enabled(catalog, uid);
    let mut ram = seed::bdb(
        5,
        "r8-ram",
        redis,
        false,
        vec![on(json_id), on(search), on(ts), on(bf)],
    );
    ram.extra.insert("bigstore".into(), json!(false));
    let mut flex = seed::bdb(6, "r8-flex", redis, false, vec![on(json_id), on(bf)]);
    flex.extra.insert("bigstore".into(), json!(true));
    vec![ram, flex]
}

fn enabled(catalog: &[Module], uid: &str) -> BdbModule {
    let m = catalog.iter().find(|m| m.uid == uid);
    BdbModule {
        module_id: uid.to_owned(),
        module_name: m.map(|m| m.module_name.clone()).unwrap_or_default(),
        module_args: String::new(),
        semantic_version: m.map(|m| m.semantic_version.clone()).unwrap_or_default(),
    }
}

/// The `?extended=true` capability objects: (module name, object name).
pub const CAPABILITIES: [(&str, &str); 3] = [
    ("search", "search"),
    ("timeseries", "timeseries"),
    ("bf", "probabilistic"),
];

/// The simulator's defaults of a capability object (an empty map for an unknown name).
pub fn capability_defaults(object: &str) -> Map<String, Value> {
    let v = match object {
        "search" => json!({"search-min-prefix": 2, "search-max-prefix-expansions": 200,
                           "search-timeout": 500, "search-workers": 0}),
        "timeseries" => json!({"ts-retention-policy": 0, "ts-duplicate-policy": "block",
                               "ts-chunk-size-bytes": 4096}),
        "probabilistic" => json!({"bf-error-rate": 0.01, "bf-initial-size": 100,
                                  "cf-max-expansions": 32, "cf-max-iterations": 20}),
        _ => json!({}),
    };
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A capability object as the database has it: the defaults, overlaid with what was configured
/// (kept in the database's own field of that name; see `sim::module_config`).
pub fn effective(bdb: &Bdb, object: &str) -> Map<String, Value> {
    let mut map = capability_defaults(object);
    if let Some(Value::Object(set)) = bdb.extra.get(object) {
        for (k, v) in set {
            map.insert(k.clone(), v.clone());
        }
    }
    map
}

/// Shows the capability objects only with `?extended=true`, and only for a Redis 8 database
/// with that module; a configured object is stored on the database, so it is removed otherwise.
pub fn capability_view(v: &mut Value, bdb: &Bdb, extended: bool) {
    let Some(obj) = v.as_object_mut() else {
        return;
    };
    for (_, object) in CAPABILITIES {
        obj.remove(object);
    }
    if !extended || !runs_redis8(bdb) {
        return;
    }
    for (module, object) in CAPABILITIES {
        if bdb.module_list.iter().any(|m| m.module_name == module) {
            obj.insert(object.into(), Value::Object(effective(bdb, object)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis8_databases_exist_on_8x_only_and_use_catalog_modules() {
        assert!(seed::seed(SimVersion::V7_22)
            .bdbs
            .iter()
            .all(|b| !runs_redis8(b)));
        assert!(seed::seed(SimVersion::V8_0)
            .bdbs
            .iter()
            .all(|b| !runs_redis8(b)));
        for v in [SimVersion::V8_0, SimVersion::V8_2] {
            let s = seed::seed_with_redis8(v);
            let r8: Vec<&Bdb> = s.bdbs.iter().filter(|b| runs_redis8(b)).collect();
            assert_eq!(r8.iter().map(|b| b.uid).collect::<Vec<_>>(), [5, 6]);
            for m in r8.iter().flat_map(|b| &b.module_list) {
                let cat = s.module(&m.module_id).expect("in the catalog");
                assert_eq!(cat.compatible_redis_version, r8[0].redis_version);
            }
        }
    }
}
