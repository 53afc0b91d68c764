//! Two replicas, one database: the same legacy upgrade reaches two shims at once (two
//! replicas behind a load balancer, or a retried job). The cluster runs the first and refuses
//! the second with `409 action_in_progress` while it runs; the second legacy caller gets that
//! answer, as the old route gave for a busy database (docs/DECISIONS.md), not a wait on
//! someone else's action nor a second upgrade.

mod support;

use deprecation_shim::sim::seed::{REJSON_2_6_17, REJSON_2_6_6};
use deprecation_shim::sim::SimVersion;
use serde_json::json;
use std::time::Duration;
use support::harness::{Shim, Sim};
use support::legacy::{
    admin, assert_deprecated, assert_rs_error, bdb, module_entry, ok, old_route, upgrade_posts,
};
use support::post_json;

#[tokio::test]
async fn second_replica_upgrading_a_busy_database_answers_409_action_in_progress() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(800)).await;
    let first = Shim::in_front_of(sim.addr, "").await;
    let second = Shim::in_front_of(sim.addr, "").await;
    let body = json!({"modules": [{"module_name": "ReJSON", "new_module": REJSON_2_6_17}]});
    let auth = admin();
    let running = tokio::spawn({
        let (auth, body) = (auth.clone(), body.clone());
        let first = first.addr;
        async move { post_json(first, &old_route(1), &auth, &body).await }
    });
    // The first upgrade is under way once the cluster has its POST.
    while upgrade_posts(&sim).is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refused = post_json(second.addr, &old_route(1), &auth, &body).await;
    let err = assert_rs_error(&refused, 409, "action_in_progress");
    assert_deprecated(&refused, 1);
    assert!(
        err["message"].as_str().unwrap().contains("busy"),
        "the cluster's text is kept: {err}"
    );
    // The database is still on the old module while the first action runs.
    assert_eq!(
        module_entry(&bdb(&sim, 1), "ReJSON")["module_id"],
        REJSON_2_6_6
    );

    let done = running.await.unwrap();
    assert_eq!(ok(&done)["module_id"], REJSON_2_6_17);
    assert_eq!(
        upgrade_posts(&sim).len(),
        2,
        "each replica sent its POST once"
    );
    assert_eq!(
        module_entry(&bdb(&sim, 1), "ReJSON")["module_id"],
        REJSON_2_6_17
    );
}
