//! API.md §6 against the simulator at 8.2 (Redis 8 databases uid 5, RAM, and 6, Flex): a
//! legacy module upgrade is refused before anything is sent (406), or answered 200 when the
//! module asked for already runs, in both readings of the simulator's `redis8_modules` switch.

mod support;

use deprecation_shim::sim::{Redis8Modules, SimVersion};
use http::Method;
use serde_json::{json, Value};
use std::time::Duration;
use support::audit_file::{records, AuditFile};
use support::harness::{Shim, Sim};
use support::legacy::{admin, assert_deprecated, assert_rs_error, bdb, old_route, upgrade_posts};
use support::{get, send};

#[tokio::test]
async fn a_legacy_upgrade_of_a_redis8_database_is_406_or_200_and_never_sent_in_both_readings() {
    let sim = Sim::timed(SimVersion::V8_2, Duration::from_millis(40)).await;
    let sim_addr = sim.addr;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim_addr, &audit.toml("[rules]\nrs_version = \"8.2.0\"\n")).await;
    let catalog = get(sim_addr, "/v1/modules", &admin()).await.json();
    let rejson = |pred: &dyn Fn(&str) -> bool| {
        catalog
            .as_array()
            .and_then(|l| {
                l.iter().find(|m| {
                    m["module_name"] == "ReJSON"
                        && pred(m["semantic_version"].as_str().unwrap_or(""))
                })
            })
            .and_then(|m| m["uid"].as_str())
            .expect("a ReJSON catalog entry")
            .to_owned()
    };
    let older = rejson(&|v| !v.starts_with("8."));
    let auth = admin();
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    for reading in [Redis8Modules::Ignore, Redis8Modules::Reject] {
        sim.faults().set_redis8_modules(reading);
        for uid in [5u64, 6] {
            let running = bdb(&sim, uid)["module_list"]
                .as_array()
                .and_then(|l| l.iter().find(|m| m["module_name"] == "ReJSON"))
                .map(|m| m["module_id"].as_str().unwrap_or("").to_owned())
                .expect("ReJSON on the Redis 8 database");
            let before = bdb(&sim, uid);
            sim.clear_requests();
            let body = json!({"module_name": "ReJSON", "new_module": older}).to_string();
            let refused = send(shim.addr, Method::POST, &old_route(uid), &h, body).await;
            let e = assert_rs_error(&refused, 406, "module_version_bound_to_redis");
            assert_eq!(
                e["description"],
                "modules of Redis 8 databases are versioned with Redis (Redis X.Y uses modules \
                 X.Y); upgrade Redis with POST /v1/bdbs/{uid}/upgrade and redis_version"
            );
            assert_deprecated(&refused, uid);
            eprintln!(
                "{reading:?} bdb {uid}, other version: {} {e}",
                refused.status
            );
            let rec = records(&audit).pop().expect("a record");
            assert_eq!(rec["rule_action"], "refused");

            let body = json!({"module_name": "ReJSON", "new_module": running}).to_string();
            let same = send(shim.addr, Method::POST, &old_route(uid), &h, body).await;
            assert_eq!(same.status, 200, "{:?}", same.body);
            let reply: Value = same.json();
            assert_eq!(reply["uid"], uid);
            assert_eq!(reply["module_id"], running.as_str());
            assert_deprecated(&same, uid);
            eprintln!(
                "{reading:?} bdb {uid}, running version: {} {reply}",
                same.status
            );

            assert!(upgrade_posts(&sim).is_empty(), "{:?}", upgrade_posts(&sim));
            assert_eq!(bdb(&sim, uid), before, "the database changed");
        }
    }
}
