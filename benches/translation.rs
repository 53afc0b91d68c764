//! Micro-benchmarks of the pure translation core on typical bodies (issue 6 target: < 20 µs per
//! typical body for parse + plan + old reply). Run by bench/run.sh; alone:
//! `cargo bench --bench translation`.
//!
//! "Typical" is what a legacy tool sends and what a cluster answers with: shape A (a `modules`
//! array with one entry naming the module) or shape D (flat `new_module`), a database with two
//! modules, and a catalog of 21 modules like the simulator's seed (five families, several
//! releases each). The look-up replies are parsed too, since every call pays for that.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use deprecation_shim::rules::module_upgrade::legacy::parse_legacy_body;
use deprecation_shim::rules::module_upgrade::model::{parse_json, Bdb, Module};
use deprecation_shim::rules::module_upgrade::translate::{self, Prevalidate};
use deprecation_shim::rules::{builtin, target, Options, RuleTable};
use deprecation_shim::sim::seed::seed;
use deprecation_shim::sim::SimVersion;
use http::Method;
use serde_json::json;

const NEW_JSON: &str = "e498441c107b69c94feae975a9f78330";

fn bdb_json(module_version: &str, module_id: &str) -> Vec<u8> {
    json!({
        "uid": 1, "name": "orders-db", "status": "active", "action_uid": null,
        "redis_version": "7.2", "version": "7.2.4", "shards_count": 2, "memory_size": 1073741824,
        "replication": true, "sharding": true, "type": "redis", "port": 12000,
        "module_list": [
            {"module_id": module_id, "module_name": "ReJSON",
             "module_args": "", "semantic_version": module_version},
            {"module_id": "b34850fa9d702f6185509beaf2c1a888", "module_name": "search",
             "module_args": "PARTITIONS AUTO", "semantic_version": "2.8.4"}
        ]
    })
    .to_string()
    .into_bytes()
}

/// The simulator's built-in catalog (21 modules over four names), as `GET /v1/modules` sends it.
fn catalog_json() -> Vec<u8> {
    serde_json::to_vec(&seed(SimVersion::V8_0).modules).unwrap_or_default()
}

fn bodies() -> [(&'static str, Vec<u8>); 2] {
    [
        (
            "shape_a_modules",
            json!({"modules": [{"module_name": "ReJSON", "new_module": NEW_JSON}]})
                .to_string()
                .into_bytes(),
        ),
        (
            "shape_d_flat",
            json!({"new_module": NEW_JSON, "current_module": "b63fce2abeca9c80d0b049b8f796215b",
                   "preserve_roles": true})
            .to_string()
            .into_bytes(),
        ),
    ]
}

fn translation(c: &mut Criterion) {
    let bdb_before = bdb_json("2.6.6", "b63fce2abeca9c80d0b049b8f796215b");
    let bdb_after = bdb_json("2.6.17", NEW_JSON);
    let catalog_bytes = catalog_json();
    let bdb: Bdb = parse_json("bdb", &bdb_before).unwrap();
    let after: Bdb = parse_json("bdb", &bdb_after).unwrap();
    let catalog: Vec<Module> = parse_json("catalog", &catalog_bytes).unwrap();
    let mut g = c.benchmark_group("translation");
    for (name, body) in bodies() {
        let req = parse_legacy_body(&body).unwrap();
        let plan = translate::plan(&req, &bdb, &catalog, None, Prevalidate::Enforce).unwrap();
        g.bench_function(format!("parse_legacy_body/{name}"), |b| {
            b.iter(|| parse_legacy_body(black_box(&body)).unwrap())
        });
        g.bench_function(format!("plan/{name}"), |b| {
            b.iter(|| {
                translate::plan(black_box(&req), &bdb, &catalog, None, Prevalidate::Enforce)
                    .unwrap()
            })
        });
        g.bench_function(format!("old_reply/{name}"), |b| {
            b.iter(|| translate::old_reply(black_box(&after), &plan.modules[0]))
        });
        // The target figure: everything pure a call does with its body.
        g.bench_function(format!("parse_plan_reply/{name}"), |b| {
            b.iter(|| {
                let req = parse_legacy_body(black_box(&body)).unwrap();
                let plan =
                    translate::plan(&req, &bdb, &catalog, None, Prevalidate::Enforce).unwrap();
                let body = serde_json::to_vec(&plan.body).unwrap();
                (body, translate::old_reply(&after, &plan.modules[0]))
            })
        });
    }
    // What every call also pays: reading the two look-up replies.
    g.bench_function("parse_lookups/bdb_and_catalog", |b| {
        b.iter(|| {
            let bdb: Bdb = parse_json("bdb", black_box(&bdb_before)).unwrap();
            let cat: Vec<Module> = parse_json("catalog", black_box(&catalog_bytes)).unwrap();
            (bdb, cat)
        })
    });
    g.finish();
}

/// The rule table's classifier runs on every request: the no-match path (an ordinary read)
/// should cost a method compare and a prefix compare per rule, and allocate nothing.
fn classify(c: &mut Criterion) {
    let table = RuleTable::new(builtin(&Options::default()).unwrap());
    let mut g = c.benchmark_group("rules");
    for (name, method, path) in [
        (
            "classify/no_match_get",
            Method::GET,
            "/v1/bdbs/1?fields=uid,name",
        ),
        ("classify/no_match_post", Method::POST, "/v1/bdbs/1/upgrade"),
        (
            "classify/match_debuginfo",
            Method::GET,
            "/v1/debuginfo/all/bdb/3?x=1",
        ),
        (
            "classify/match_module_upgrade",
            Method::POST,
            "/v1/modules/upgrade/bdb/1",
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                table
                    .classify(black_box(&method), black_box(path))
                    .is_some()
            })
        });
    }
    // What every request also pays before classification (issue 20 item 8): the target's
    // normal form (borrowed when already normal) and, when no rule matched, the scan for a
    // misspelled rule path (nothing allocated unless the target is suspicious).
    let ordinary = "/v1/bdbs/1?fields=uid,name";
    g.bench_function("target/normalise_already_normal", |b| {
        b.iter(|| target::normalise_target(black_box(ordinary)).is_ok())
    });
    g.bench_function("target/normalise_dot_segments", |b| {
        b.iter(|| target::normalise_target(black_box("/v1//bdbs/./x/../%31?a=b")).is_ok())
    });
    g.bench_function("target/misspelled_ordinary", |b| {
        b.iter(|| {
            table
                .misspelled(&Method::GET, black_box(ordinary))
                .is_some()
        })
    });
    g.bench_function("target/misspelled_upper_case", |b| {
        b.iter(|| {
            table
                .misspelled(&Method::GET, black_box("/V1/debuginfo/all"))
                .is_some()
        })
    });
    g.finish();
}

criterion_group!(benches, translation, classify);
criterion_main!(benches);
