//! The statistics routes' classification, shapes, windows and determinism.

use super::*;
use crate::sim::seed::seed;
use crate::sim::SimVersion;

fn stats(kind: &str, rest: &[&str]) -> Option<Result<StatsRoute, String>> {
    classify(kind, rest).map(|r| match r {
        Ok(Route::Stats(s)) => Ok(s),
        Ok(other) => Err(format!("{other:?}")),
        Err(e) => Err(e.error_code),
    })
}

fn route(kind: StatsKind, last: bool, uid: Option<u64>) -> StatsRoute {
    StatsRoute { kind, last, uid }
}

#[test]
fn the_fifteen_paths_classify_and_others_do_not() {
    use StatsKind as K;
    assert_eq!(
        stats("cluster", &[]),
        Some(Ok(route(K::Cluster, false, None)))
    );
    assert_eq!(
        stats("cluster", &["last"]),
        Some(Ok(route(K::Cluster, true, None)))
    );
    assert_eq!(
        stats("nodes", &["2"]),
        Some(Ok(route(K::Nodes, false, Some(2))))
    );
    assert_eq!(
        stats("bdbs", &["last", "1"]),
        Some(Ok(route(K::Bdbs, true, Some(1))))
    );
    assert_eq!(
        stats("shards", &["last"]),
        Some(Ok(route(K::Shards, true, None)))
    );
    assert_eq!(
        stats("endpoints", &[]),
        Some(Ok(route(K::Endpoints, false, None)))
    );
    assert_eq!(stats("bdbs", &["x"]), Some(Err("bdb_not_found".into())));
    assert_eq!(
        stats("shards", &["last", "-1"]),
        Some(Err("shard_not_found".into()))
    );
    assert_eq!(stats("nodes", &[""]), Some(Err("node_not_found".into())));
    for (kind, rest) in [
        ("cluster", &["1"][..]),
        ("endpoints", &["last"][..]),
        ("endpoints", &["1"][..]),
        ("modules", &[][..]),
        ("bdbs", &["last", "1", "x"][..]),
    ] {
        assert_eq!(stats(kind, rest), None, "{kind} {rest:?}");
    }
}

#[test]
fn shapes_follow_the_docs_examples() {
    let s = seed(SimVersion::V7_22);
    let read = |r: StatsRoute, q: Option<&str>| read(&s, &r, q).expect("200");
    let cluster = read(route(StatsKind::Cluster, false, None), None);
    let intervals = cluster["intervals"].as_array().expect("intervals");
    assert_eq!(intervals.len() as u64, DEFAULT_INTERVALS);
    assert_eq!(intervals[4]["etime"], "2025-06-01T12:00:00Z");
    assert_eq!(intervals[4]["stime"], "2025-06-01T11:00:00Z");
    assert_eq!(intervals[0]["interval"], "1hour");
    assert!(intervals[0]["cpu_user"]
        .as_f64()
        .is_some_and(|c| (0.0..1.0).contains(&c)));
    let bdbs = read(route(StatsKind::Bdbs, false, None), None);
    assert_eq!(bdbs.as_array().map(Vec::len), Some(4));
    assert_eq!(bdbs[0]["uid"], "1");
    let one = read(route(StatsKind::Bdbs, false, Some(2)), None);
    assert_eq!(one, bdbs[1]);
    let last = read(route(StatsKind::Bdbs, true, None), None);
    assert_eq!(last["3"]["interval"], "1sec");
    assert_eq!(last["3"]["etime"], "2025-06-01T12:00:00Z");
    let last_one = read(route(StatsKind::Bdbs, true, Some(3)), None);
    assert_eq!(last_one, json!({"3": last["3"].clone()}));
    let c_last = read(route(StatsKind::Cluster, true, None), Some("interval=5min"));
    assert_eq!(c_last["stime"], "2025-06-01T11:55:00Z");
    let endpoints = read(route(StatsKind::Endpoints, false, None), None);
    assert_eq!(endpoints[0]["uid"], "1:1");
}

#[test]
fn unknown_objects_and_bad_parameters_are_refused() {
    let s = seed(SimVersion::V8_0);
    let code = |r: StatsRoute, q: Option<&str>| read(&s, &r, q).expect_err("error").error_code;
    assert_eq!(
        code(route(StatsKind::Bdbs, false, Some(9)), None),
        "bdb_not_found"
    );
    assert_eq!(
        code(route(StatsKind::Nodes, true, Some(9)), None),
        "node_not_found"
    );
    assert_eq!(
        code(route(StatsKind::Shards, false, Some(99)), None),
        "shard_not_found"
    );
    let cluster = route(StatsKind::Cluster, false, None);
    assert_eq!(code(cluster, Some("interval=2min")), "invalid_interval");
    assert_eq!(code(cluster, Some("stime=later")), "invalid_time");
}

#[test]
fn windows_follow_stime_etime_and_stay_bounded() {
    let s = seed(SimVersion::V8_0);
    let cluster = route(StatsKind::Cluster, false, None);
    let n = |q: &str| {
        let v = read(&s, &cluster, Some(q)).expect("200");
        v["intervals"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(n("interval=1hour&stime=2025-06-01T09:30:00Z"), 3);
    assert_eq!(
        n("interval=1hour&stime=2025-06-01T09:00:00Z&etime=2025-06-01T11:59:59Z"),
        2
    );
    assert_eq!(n("stime=2025-06-01T13:00:00Z"), 0);
    assert_eq!(
        n("interval=1sec&stime=2025-01-01T00:00:00Z") as u64,
        MAX_INTERVALS
    );
    let v = read(
        &s,
        &cluster,
        Some("interval=10sec&etime=2014-08-28T10:00:05Z"),
    )
    .expect("200");
    assert_eq!(v["intervals"][4]["etime"], "2014-08-28T10:00:00Z");
}

#[test]
fn values_are_deterministic_and_metrics_can_be_chosen() {
    let s = seed(SimVersion::V8_0);
    let r = route(StatsKind::Shards, false, None);
    let a = read(&s, &r, Some("interval=1sec")).expect("200");
    assert_eq!(a, read(&s, &r, Some("interval=1sec")).expect("200"));
    let first = &a[0]["intervals"][0];
    let second = &a[1]["intervals"][0];
    assert_ne!(
        first["used_memory"], second["used_memory"],
        "objects differ"
    );
    let only = read(&s, &r, Some("metrics=conns,no_of_keys&parent_uid=3")).expect("200");
    let list = only.as_array().expect("list");
    assert_eq!(list.len(), 2, "legacy-sessions: one master, one replica");
    let keys: Vec<&String> = list[0]["intervals"][0]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        keys.len(),
        5,
        "interval, stime, etime + 2 metrics: {keys:?}"
    );
}

#[test]
fn shards_are_derived_from_the_databases() {
    let s = seed(SimVersion::V8_0);
    let shards = shards(&s);
    let summary: Vec<(u64, u64, &str, &str)> = shards
        .iter()
        .map(|x| (x.uid, x.bdb_uid, x.role, x.slots.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, 1, "master", "0-8191"),
            (2, 1, "slave", "0-8191"),
            (3, 1, "master", "8192-16383"),
            (4, 1, "slave", "8192-16383"),
            (5, 2, "master", "0-16383"),
            (6, 3, "master", "0-16383"),
            (7, 3, "slave", "0-16383"),
            (8, 4, "master", "0-16383"),
            (9, 4, "slave", "0-16383"),
        ]
    );
    assert_eq!(shards[3].node_uid, 1, "round-robin over three nodes");
}
