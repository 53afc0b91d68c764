//! The `redis-enterprise` crate from crates.io (a real third-party client, the one
//! `tests/shim_third_party.rs` runs for the seed route) through the shim for the catalogue rules
//! it calls: its typed v1 statistics calls (R18) parse what comes through and are marked;
//! `syncer_state` (R16) reaches `…/crdt` and parses; `optimize_shards_placement` (R15) is observed
//! and parses. Each is compared with the same call made by the same client directly to the
//! cluster. The field rules through the same crate: `tests/third_party_fields.rs`.

mod support;

use deprecation_shim::sim::SimVersion;
use redis_enterprise::EnterpriseClient;
use support::audit_file::{settled, AuditFile};
use support::harness::{Shim, Sim};
use support::third_party::client;

#[tokio::test]
async fn the_crates_stats_syncer_and_placement_calls_work_through_the_shim() {
    let sim = Sim::start(SimVersion::V8_0).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("")).await;
    let (direct, through) = (client(sim.addr), client(shim.addr));

    // R18: typed replies parse the same both ways.
    let last = |c: &EnterpriseClient| {
        let c = c.clone();
        async move { c.stats().database_last(1).await.expect("database_last") }
    };
    let (a, b) = (last(&direct).await, last(&through).await);
    assert_eq!(a.metrics, b.metrics);
    let (a, b) = (
        direct.stats().cluster_last().await.expect("cluster_last"),
        through.stats().cluster_last().await.expect("cluster_last"),
    );
    assert_eq!((a.interval, a.metrics), (b.interval, b.metrics));
    // The crate reads `/v1/bdbs/stats/last` as a list; the simulator answers the documented
    // object keyed by uid, so the crate fails on it, the same way directly and through the shim.
    let (a, b) = (
        direct.stats().databases_last().await.map(|r| r.stats.len()),
        through
            .stats()
            .databases_last()
            .await
            .map(|r| r.stats.len()),
    );
    assert_eq!(format!("{a:?}"), format!("{b:?}"));

    // R16: the crate's old `syncer_state` call, translated to `/crdt` on 8.0.
    let (a, b) = (
        direct
            .databases()
            .syncer_state(4)
            .await
            .expect("syncer_state"),
        through
            .databases()
            .syncer_state(4)
            .await
            .expect("syncer_state"),
    );
    assert_eq!(a, b);
    assert!(sim
        .requests()
        .iter()
        .any(|r| r.path == "/v1/bdbs/4/syncer_state/crdt"));

    // R15 (auto: observed).
    let (a, b) = (
        direct
            .databases()
            .optimize_shards_placement(1)
            .await
            .expect("blueprint"),
        through
            .databases()
            .optimize_shards_placement(1)
            .await
            .expect("blueprint"),
    );
    assert_eq!(a, b);

    drop(shim);
    let records = settled(&audit, 5).await;
    let rules: std::collections::BTreeSet<String> = records
        .iter()
        .filter_map(|r| r["rule"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        rules.into_iter().collect::<Vec<_>>(),
        ["optimize_shards_placement", "stats_v1", "syncer_state"]
    );
}
