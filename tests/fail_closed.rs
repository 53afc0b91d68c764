//! Issue 20, item 1: an unknown cluster version is not pass-through. Whatever makes the version
//! look-up fail (a cluster 5xx, a caller's junk credential, no credential at all), a retired route
//! stays retired and every call is audited, with `cluster_version: "unknown"`; a look-up failure
//! that is one caller's doing is never cached for the others.

mod support;

use deprecation_shim::sim::{RouteMatch, SimVersion};
use http::Method;
use std::time::Duration;
use support::audit_file::{records, AuditFile};
use support::harness::{Shim, Sim};
use support::legacy::admin;
use support::{get, send};

/// `debuginfo_all` retired: its Sunset is past and the lifecycle enforced.
const RETIRED: &str = "[lifecycle.debuginfo_all]\nenforce = true\nsunset_date = \"2025-01-01\"\n";

fn bootstrap() -> RouteMatch {
    RouteMatch::method("GET", "/v1/bootstrap")
}

fn cluster_saw(sim: &Sim, path: &str) -> usize {
    sim.requests().iter().filter(|r| r.path == path).count()
}

#[tokio::test]
async fn a_retired_route_stays_retired_and_audited_while_the_cluster_cannot_say_its_version() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    sim.faults().respond_with_status(500, bootstrap());
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml(RETIRED)).await;
    sim.clear_requests();
    for _ in 0..5 {
        let reply = get(shim.addr, "/v1/debuginfo/all", &admin()).await;
        assert_eq!(reply.status, 410, "{}", String::from_utf8_lossy(&reply.body));
        assert_eq!(reply.json()["error_code"], "route_sunset");
    }
    let recs = records(&audit);
    assert_eq!(recs.len(), 5, "every call audited");
    for r in &recs {
        assert_eq!(r["cluster_version"], "unknown", "{r}");
        assert_eq!(r["phase"], "refused", "{r}");
        assert_eq!(r["status"], 410, "{r}");
    }
    assert_eq!(cluster_saw(&sim, "/v1/debuginfo/all"), 0, "never sent");
    assert_eq!(cluster_saw(&sim, "/v1/cluster/debuginfo"), 0, "never sent");
}

#[tokio::test]
async fn a_gated_translation_answers_503_with_retry_after_while_the_cluster_cannot_say() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    sim.faults().respond_with_status(503, bootstrap());
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("")).await;
    sim.clear_requests();
    let reply = get(shim.addr, "/v1/debuginfo/all", &admin()).await;
    assert_eq!(reply.status, 503, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json()["error_code"], "cluster_version_unknown");
    assert_eq!(reply.header("retry-after"), Some("5"));
    assert_eq!(cluster_saw(&sim, "/v1/cluster/debuginfo"), 0);
    assert_eq!(cluster_saw(&sim, "/v1/debuginfo/all"), 0);
    let recs = records(&audit);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["error_code"], "cluster_version_unknown");
    assert_eq!(recs[0]["rule_action"], "refused");
    assert_eq!(recs[0]["cluster_version"], "unknown");
    // The cluster recovers: once the unknown expires (5 s), the call is translated.
    sim.faults().clear();
    tokio::time::sleep(Duration::from_millis(5100)).await;
    let reply = get(shim.addr, "/v1/debuginfo/all", &admin()).await;
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(records(&audit)[1]["cluster_version"], "8.0.2-17");
}

#[tokio::test]
async fn a_call_without_credentials_never_triggers_a_look_up_and_is_still_gated_and_audited() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml(RETIRED)).await;
    sim.clear_requests();
    let reply = send(shim.addr, Method::GET, "/v1/debuginfo/all", &[], "").await;
    assert_eq!(reply.status, 410, "retired: {}", String::from_utf8_lossy(&reply.body));
    let reply = send(shim.addr, Method::GET, "/v1/debuginfo/node", &[], "").await;
    assert_eq!(reply.status, 401, "not retired: the cluster's own answer");
    assert_eq!(cluster_saw(&sim, "/v1/bootstrap"), 0, "no look-up");
    let recs = records(&audit);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["phase"], "refused");
    assert_eq!(recs[1]["rule_action"], "observed");
    assert!(recs.iter().all(|r| r["cluster_version"] == "unknown"));
}

#[tokio::test]
async fn a_junk_credential_is_not_looked_up_and_does_not_decide_for_the_next_caller() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("")).await;
    sim.clear_requests();
    let junk = format!("Basic {}", "A".repeat(9 * 1024));
    let reply = send(
        shim.addr,
        Method::GET,
        "/v1/debuginfo/all",
        &[("authorization", junk.as_str())],
        "",
    )
    .await;
    assert_ne!(reply.status, 200);
    assert_eq!(cluster_saw(&sim, "/v1/bootstrap"), 0, "no look-up with junk");
    let reply = get(shim.addr, "/v1/debuginfo/all", &admin()).await;
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(cluster_saw(&sim, "/v1/bootstrap"), 1);
    assert_eq!(cluster_saw(&sim, "/v1/cluster/debuginfo"), 1, "translated");
    let recs = records(&audit);
    assert_eq!(recs.len(), 2, "both audited");
    assert_eq!(recs[0]["cluster_version"], "unknown");
    assert_eq!(recs[1]["rule_action"], "translated");
}

#[tokio::test]
async fn a_look_up_refused_with_a_4xx_is_that_callers_alone() {
    let sim = Sim::timed(SimVersion::V8_0, Duration::from_millis(50)).await;
    // A front end refuses the first look-up (as it did the 9 KiB header in the issue).
    sim.faults().respond_with_status(400, bootstrap().times(1));
    let audit = AuditFile::new();
    let shim = Shim::in_front_of(sim.addr, &audit.toml("")).await;
    sim.clear_requests();
    let first = get(shim.addr, "/v1/debuginfo/all", &admin()).await;
    let second = get(shim.addr, "/v1/debuginfo/all", &admin()).await;
    assert_eq!(second.status, 200, "{}", String::from_utf8_lossy(&second.body));
    assert_eq!(cluster_saw(&sim, "/v1/bootstrap"), 2, "not cached");
    let recs = records(&audit);
    assert_eq!(recs.len(), 2, "first: {}", first.status);
    assert_eq!(recs[0]["rule_action"], "observed");
    assert_eq!(recs[0]["cluster_version"], "unknown");
    assert_eq!(recs[1]["rule_action"], "translated");
}
