//! The blueprint's arithmetic, the query ↔ body equivalence of the two routes, and the revamp's
//! answers in order.

use super::*;
use crate::sim::faults::Faults;
use crate::sim::seed::seed;
use crate::sim::version::SimVersion;
use std::time::{Duration, Instant};

fn get(s: &SimState, uid: u64, query: &str) -> Result<(Value, String), ApiError> {
    match optimize(s, uid, Some(query))? {
        Answer::JsonWithHeaders(v, h) => Ok((v, h[0].1.clone())),
        other => panic!("{other:?}"),
    }
}

fn put(
    s: &mut SimState,
    f: &Faults,
    uid: u64,
    query: &str,
    raw: &str,
) -> Result<Answer, Rejection> {
    let ctx = Ctx {
        version: SimVersion::V7_22,
        faults: f,
        duration: Duration::ZERO,
        query: Some(query),
    };
    revamp(s, &ctx, uid, raw.as_bytes())
}

fn code(r: Result<Answer, Rejection>) -> String {
    match r {
        Err(Rejection::Api(e)) => e.error_code,
        other => panic!("{other:?}"),
    }
}

#[test]
fn slot_ranges_split_16384_slots_as_rs_does() {
    assert_eq!(slot_range(0, 1), "0-16383");
    let three: Vec<String> = (0..3).map(|i| slot_range(i, 3)).collect();
    assert_eq!(three, ["0-5460", "5461-10922", "10923-16383"]);
    assert_eq!(slot_range(511, 512), "16352-16383");
}

#[test]
fn dense_and_sparse_place_masters_and_replicas() {
    let s = seed(SimVersion::V7_4);
    let (dense, _) = get(&s, 1, "shards_count=3&replication=enabled").expect("200");
    for shard in dense.as_array().expect("list") {
        assert_eq!(
            shard["nodes"],
            json!([{"node_uid": "1", "role": "master"}, {"node_uid": "2", "role": "slave"}])
        );
    }
    let q = "shards_count=3&replication=enabled&shards_placement=sparse&avoid_nodes=1";
    let (sparse, _) = get(&s, 1, q).expect("200");
    let masters: Vec<&Value> = sparse
        .as_array()
        .expect("list")
        .iter()
        .map(|sh| &sh["nodes"][0]["node_uid"])
        .collect();
    assert_eq!(masters, ["2", "3", "2"]);
    assert_eq!(sparse[0]["nodes"][1]["node_uid"], "3");
    let (plain, _) = get(&s, 2, "").expect("db 2: one shard, no replication");
    assert_eq!(
        plain,
        json!([{"nodes": [{"node_uid": "1", "role": "master"}], "slot_range": "0-16383"}])
    );
}

#[test]
fn revamp_dry_run_matches_the_get_for_the_mapped_body() {
    let mut s = seed(SimVersion::V7_22);
    let f = Faults::default();
    let q = "shards_count=4&replication=disabled&avoid_nodes=2%2C3&shards_placement=sparse&memory_size=1024";
    let (from_get, _) = get(&s, 1, q).expect("200");
    let body = r#"{"shards_count":4,"replication":false,"avoid_nodes":["2","3"],"shards_placement":"sparse","memory_size":1024}"#;
    let from_put = put(&mut s, &f, 1, "dry_run=true", body).expect("200");
    assert_eq!(from_put, Answer::Json(from_get.clone()));
    assert_eq!(from_get.as_array().map(Vec::len), Some(4));
    assert!(s.actions.is_empty(), "a dry run starts nothing");
}

#[test]
fn a_real_revamp_changes_the_database_and_the_state_id() {
    let mut s = seed(SimVersion::V8_0);
    let f = Faults::default();
    let (_, before) = get(&s, 1, "").expect("200");
    let Ok(Answer::Json(reply)) = put(&mut s, &f, 1, "", r#"{"shards_count":3}"#) else {
        panic!("accepted");
    };
    assert!(reply["action_uid"].is_string());
    crate::sim::actions::tick(&mut s, Instant::now());
    assert_eq!(
        s.bdb(1).and_then(|b| b.extra.get("shards_count")),
        Some(&json!(3))
    );
    let (plan, after) = get(&s, 1, "").expect("200");
    assert_ne!(before, after);
    assert_eq!(plan.as_array().map(Vec::len), Some(3));
}

#[test]
fn revamp_refusals_come_in_order() {
    let s = seed(SimVersion::V8_2);
    let f = Faults::default();
    assert_eq!(code(put(&mut s.clone(), &f, 9, "", "{}")), "bdb_not_found");
    assert_eq!(
        code(put(&mut s.clone(), &f, 1, "dry_run=yes", "{}")),
        "invalid_request"
    );
    assert_eq!(
        code(put(&mut s.clone(), &f, 1, "", r#"{"shards_count":0}"#)),
        "invalid_request"
    );
    assert_eq!(
        code(put(&mut s.clone(), &f, 1, "", r#"{"avoid_nodes":[1]}"#)),
        "invalid_request"
    );
    assert_eq!(
        code(put(
            &mut s.clone(),
            &f,
            1,
            "dry_run=true",
            r#"{"memory_size":999999999999}"#
        )),
        "insufficient_resources"
    );
    f.merge_json(&json!({"revamp_busy": true})).expect("switch");
    assert_eq!(
        code(put(&mut s.clone(), &f, 1, "dry_run=true", "{}")),
        "busy"
    );
    assert!(get(&s, 1, "").is_ok(), "the GET ignores the switch");
}

#[test]
fn the_get_validates_values_and_skips_unknown_keys() {
    let s = seed(SimVersion::V7_8);
    assert!(get(&s, 1, "verbose=1").is_ok());
    for q in [
        "shards_count=513",
        "replication=yes",
        "shards_placement=spread",
        "avoid_nodes=a",
        "memory_size=-1",
    ] {
        assert_eq!(
            get(&s, 1, q).expect_err(q).error_code,
            "invalid_request",
            "{q}"
        );
    }
    assert_eq!(
        get(&s, 1, "avoid_nodes=1,2,3")
            .expect_err("no node")
            .error_code,
        "insufficient_resources"
    );
}
